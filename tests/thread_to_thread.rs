//! `to_thread`: blocking work on the worker pool (asyncio's `test_threads.py`).

mod util;

use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use tinyloop::{sleep, spawn, to_thread, yield_now, JoinError, Loop};
use util::{ms, panic_text, poll_once, race, since, vloop, within, Either};

const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn the_result_comes_back_from_another_thread() {
    within(LIMIT, || {
        tinyloop::run(async {
            let loop_thread = thread::current().id();
            let (value, worker) = to_thread(|| (vec![6, 7], thread::current().id()))
                .await
                .unwrap();
            assert_eq!(value, vec![6, 7]);
            assert_ne!(worker, loop_thread, "it ran on a worker thread");
        });
    });
}

#[test]
fn a_panic_in_the_closure_is_panicked_with_its_message() {
    within(LIMIT, || {
        tinyloop::run(async {
            let r = to_thread(|| -> u8 { panic!("worker blew up") }).await;
            assert_eq!(r, Err(JoinError::Panicked("worker blew up".to_string())));
            // The pool survives it.
            assert_eq!(to_thread(|| 1).await, Ok(1));
        });
    });
}

#[test]
fn fifty_concurrent_calls_all_complete() {
    within(LIMIT, || {
        tinyloop::run(async {
            let tasks: Vec<_> = (0..50u64)
                .map(|i| {
                    spawn(to_thread(move || {
                        thread::sleep(ms(2));
                        i * i
                    }))
                })
                .collect();
            let mut sum = 0;
            for t in tasks {
                sum += t.await.unwrap().unwrap();
            }
            assert_eq!(sum, (0..50u64).map(|i| i * i).sum::<u64>());
        });
    });
}

#[test]
fn many_calls_from_one_task_in_a_row() {
    within(LIMIT, || {
        tinyloop::run(async {
            let mut total = 0;
            for i in 0..200 {
                total += to_thread(move || i).await.unwrap();
            }
            assert_eq!(total, (0..200).sum::<i32>());
        });
    });
}

#[test]
fn dropping_the_future_does_not_stop_the_work_nor_hang_the_loop() {
    within(LIMIT, || {
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel();
        let lp = vloop();
        lp.block_on(async move {
            let start = tinyloop::now();
            let work = to_thread(move || {
                release_rx.recv().unwrap();
                done_tx.send("finished").unwrap();
            });
            // Poll it once, then give up on it.
            let _ = race(work, yield_now()).await;
            release_tx.send(()).unwrap();
            // Nothing is in flight for the loop any more: virtual time jumps as usual.
            sleep(ms(10_000)).await;
            assert_eq!(since(start), ms(10_000));
        });
        assert_eq!(
            done_rx.recv_timeout(LIMIT * util::slowdown()),
            Ok("finished")
        );
        drop(lp);
    });
}

#[test]
fn dropping_an_unpolled_future_still_runs_the_work() {
    within(LIMIT, || {
        let (done_tx, done_rx) = mpsc::channel();
        tinyloop::run(async move {
            drop(to_thread(move || done_tx.send(7).unwrap()));
        });
        assert_eq!(done_rx.recv_timeout(LIMIT * util::slowdown()), Ok(7));
    });
}

#[test]
fn run_returns_while_detached_thread_work_is_still_going() {
    within(LIMIT, || {
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel();
        let out = tinyloop::run(async move {
            drop(spawn(async move {
                let r = to_thread(move || {
                    release_rx.recv().unwrap();
                    done_tx.send(5).unwrap();
                })
                .await;
                r.unwrap()
            }));
            yield_now().await;
            "main done"
        });
        assert_eq!(out, "main done");
        // The thread is still blocked; let it go and it finishes on its own, its result
        // discarded (the loop that wanted it is gone).
        release_tx.send(()).unwrap();
        assert_eq!(done_rx.recv_timeout(LIMIT * util::slowdown()), Ok(5));
    });
}

#[test]
fn virtual_time_does_not_jump_while_thread_work_is_in_flight() {
    within(LIMIT, || {
        vloop().block_on(async {
            let start = tinyloop::now();
            let won = race(
                to_thread(|| {
                    thread::sleep(ms(50));
                    "thread"
                }),
                sleep(Duration::from_secs(10)),
            )
            .await;
            assert_eq!(won, Either::Left(Ok("thread")), "the thread work wins");
            assert!(
                since(start) < Duration::from_secs(10),
                "the clock did not jump to the timer"
            );
        });
    });
}

#[test]
fn to_thread_in_a_task_wakes_a_blocked_real_time_loop() {
    within(LIMIT, || {
        let lp = Loop::new();
        let counter = Arc::new(AtomicUsize::new(0));
        let c = Arc::clone(&counter);
        let r = lp.block_on(async move {
            spawn(to_thread(move || {
                thread::sleep(ms(20));
                c.fetch_add(1, Ordering::SeqCst)
            }))
            .await
        });
        assert_eq!(r, Ok(Ok(0)));
        assert_eq!(counter.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn a_finished_but_unpolled_to_thread_does_not_stall_virtual_time() {
    // Start the work now, await it later: the work is done in microseconds, so the hour-long
    // virtual sleep should complete at once. With the bug the loop blocks for a real hour.
    within(Duration::from_secs(10), || {
        vloop().block_on(async {
            let start = tinyloop::now();
            let work = to_thread(|| 1);
            sleep(Duration::from_secs(3600)).await;
            assert!(since(start) >= Duration::from_secs(3600));
            assert_eq!(work.await, Ok(1));
        });
    });
}

#[test]
fn a_to_thread_polled_again_after_it_completed_panics_with_a_message() {
    vloop().block_on(async {
        let mut call = pin!(to_thread(|| 5));
        assert_eq!(call.as_mut().await, Ok(5));
        let text = panic_text(|| poll_once(call.as_mut()));
        assert!(
            text.contains("ToThread") && text.contains("polled again after it completed"),
            "{text}"
        );
    });
}

#[test]
fn a_to_thread_closure_that_panics_is_panicked_with_its_message() {
    vloop().block_on(async {
        let r = to_thread(|| -> u8 { panic!("disk on fire") }).await;
        assert_eq!(r, Err(JoinError::Panicked("disk on fire".into())));
        let text = r.unwrap_err().to_string();
        assert!(
            text.contains("panicked") && text.contains("disk on fire"),
            "{text}"
        );
        // The pool survives the panic.
        assert_eq!(to_thread(|| 6).await, Ok(6));
    });
}
