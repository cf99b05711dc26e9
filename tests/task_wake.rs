//! Wakers: how a wake-up, from this thread or another, finds the loop (asyncio's
//! `Task.__wakeup` and `call_soon_threadsafe`, `test_base_events.py`'s threadsafe tests).

mod util;

use std::cell::Cell;
use std::future::{pending, poll_fn};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Poll, Waker};
use std::thread;
use std::time::Duration;

use tinyloop::{spawn, yield_now, Loop, LoopClosed, LoopHandle};
use util::{counted, drop_flag, ms, my_waker, vrun, within, Gate};

const LIMIT: Duration = Duration::from_secs(20);

/// A future that parks its waker in `slot` and completes once `open` is set.
fn wait_on(slot: Rc<Cell<Option<Waker>>>, open: Rc<Cell<bool>>) -> impl std::future::Future {
    poll_fn(move |cx| {
        if open.get() {
            Poll::Ready(())
        } else {
            slot.set(Some(cx.waker().clone()));
            Poll::Pending
        }
    })
}

#[test]
fn many_wakes_between_polls_give_one_poll() {
    vrun(async {
        let slot = Rc::new(Cell::new(None));
        let open = Rc::new(Cell::new(false));
        let (fut, probe) = counted(wait_on(Rc::clone(&slot), Rc::clone(&open)));
        let t = spawn(fut);
        yield_now().await;
        assert_eq!(probe.polls(), 1);
        let waker: Waker = slot.take().unwrap();
        for _ in 0..100 {
            waker.wake_by_ref();
        }
        let by_value = waker.clone();
        by_value.wake(); // wake by value, consuming a clone
        yield_now().await;
        assert_eq!(probe.polls(), 2, "101 wakes, one poll");
        yield_now().await;
        assert_eq!(probe.polls(), 2, "and no stray polls later");
        open.set(true);
        slot.take().unwrap().wake();
        t.await.unwrap();
        assert_eq!(probe.polls(), 3);
    });
}

#[test]
fn a_task_waking_itself_during_its_poll_is_polled_once_more() {
    vrun(async {
        let left = Rc::new(Cell::new(3));
        let l = Rc::clone(&left);
        let (fut, probe) = counted(poll_fn(move |cx| {
            if l.get() == 0 {
                return Poll::Ready(());
            }
            l.set(l.get() - 1);
            for _ in 0..10 {
                cx.waker().wake_by_ref();
            }
            Poll::Pending
        }));
        spawn(fut).await.unwrap();
        assert_eq!(probe.polls(), 4);
    });
}

#[test]
fn the_main_future_woken_many_times_is_polled_once() {
    vrun(async {
        let polls = Rc::new(Cell::new(0));
        let p = Rc::clone(&polls);
        let mut first = true;
        poll_fn(move |cx| {
            p.set(p.get() + 1);
            if first {
                first = false;
                for _ in 0..50 {
                    cx.waker().wake_by_ref();
                }
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        })
        .await;
        assert_eq!(polls.get(), 2);
    });
}

#[test]
fn waking_a_finished_task_is_harmless() {
    vrun(async {
        let t = spawn(my_waker());
        let stale = t.await.unwrap();
        stale.wake_by_ref();
        let by_value = stale.clone();
        by_value.wake(); // wake by value, consuming a clone
                         // The freed slot is reused by a new task: the stale waker must not poll it.
        let (fut, probe) = counted(pending::<()>());
        let fresh = spawn(fut);
        yield_now().await;
        assert_eq!(probe.polls(), 1);
        for _ in 0..10 {
            stale.wake_by_ref();
        }
        yield_now().await;
        yield_now().await;
        assert_eq!(
            probe.polls(),
            1,
            "a stale waker did not poll the slot's new task"
        );
        fresh.cancel();
        // And a finished task whose handle is still held.
        let held = spawn(async {});
        let w = spawn(my_waker()).await.unwrap();
        yield_now().await;
        assert!(held.is_done());
        w.wake();
        yield_now().await;
        held.await.unwrap();
    });
}

#[test]
fn a_wake_from_another_thread_wakes_a_blocked_loop() {
    within(LIMIT, || {
        // A real-time loop with no timers: it blocks in the poller until something arrives.
        let waker = tinyloop::run(async {
            let gate = Gate::new();
            let g = gate.clone();
            let t = spawn(async move {
                g.wait().await;
                "woken"
            });
            let g = gate.clone();
            let waker = thread::spawn(move || {
                thread::sleep(ms(20));
                g.open();
            });
            assert_eq!(t.await, Ok("woken"));
            waker
        });
        waker.join().unwrap(); // joined after the loop: never block the loop's thread
    });
}

#[test]
fn the_main_future_can_be_woken_from_another_thread() {
    within(LIMIT, || {
        let gate = Gate::new();
        let g = gate.clone();
        let opener = thread::spawn(move || {
            thread::sleep(ms(20));
            g.open();
        });
        tinyloop::run(gate.wait());
        opener.join().unwrap();
        assert!(gate.is_open());
    });
}

#[test]
fn wakes_from_four_threads_all_arrive() {
    within(LIMIT, || {
        const THREADS: usize = 4;
        const WAKES: usize = 1000;
        let threads = tinyloop::run(async {
            let count = Arc::new(AtomicUsize::new(0));
            let shared_waker: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
            let (c, w) = (Arc::clone(&count), Arc::clone(&shared_waker));
            let (fut, probe) = counted(poll_fn(move |cx| {
                *w.lock().unwrap() = Some(cx.waker().clone());
                if c.load(Ordering::SeqCst) == THREADS * WAKES {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            }));
            let t = spawn(fut);
            yield_now().await; // it has parked its waker
            let threads: Vec<_> = (0..THREADS)
                .map(|_| {
                    let (c, w) = (Arc::clone(&count), Arc::clone(&shared_waker));
                    thread::spawn(move || {
                        for _ in 0..WAKES {
                            c.fetch_add(1, Ordering::SeqCst);
                            let waker = w.lock().unwrap().clone().unwrap();
                            waker.wake();
                        }
                    })
                })
                .collect();
            t.await.unwrap();
            assert_eq!(count.load(Ordering::SeqCst), THREADS * WAKES);
            assert!(probe.polls() >= 2);
            threads
        });
        for th in threads {
            th.join().unwrap();
        }
    });
}

#[test]
fn a_waker_kept_past_the_loops_drop_is_harmless() {
    let lp = Loop::new();
    let (guard, watch) = drop_flag();
    let slot = Rc::new(Cell::new(None));
    let s = Rc::clone(&slot);
    // The waker of a task that is still waiting when the loop goes away.
    let task_waker: Waker = lp.block_on(async move {
        drop(spawn(async move {
            let _g = guard;
            s.set(Some(my_waker().await));
            pending::<()>().await;
        }));
        yield_now().await;
        slot.take().unwrap()
    });
    let main_waker = lp.block_on(my_waker());
    drop(lp);
    assert!(watch.is_dropped());
    // From this thread, with no loop running.
    task_waker.wake_by_ref();
    main_waker.wake_by_ref();
    // From this thread, while another loop runs.
    vrun(async {
        task_waker.wake_by_ref();
        let by_value = main_waker.clone();
        by_value.wake(); // wake by value, consuming a clone
        yield_now().await;
    });
    // From another thread.
    within(LIMIT, move || {
        task_waker.wake_by_ref();
        main_waker.wake();
        drop(task_waker);
    });
}

#[test]
fn cross_thread_wakes_racing_with_the_loop_going_to_sleep_are_not_lost() {
    // No sleep before the wake: the wake lands anywhere around the moment the loop parks.
    within(LIMIT, || {
        for _ in 0..300 {
            let opener = tinyloop::run(async {
                let gate = Gate::new();
                let g = gate.clone();
                let t = spawn(async move { g.wait().await });
                yield_now().await;
                let opener = thread::spawn(move || gate.open());
                t.await.unwrap();
                opener
            });
            opener.join().unwrap();
        }
    });
}

// ----- LoopHandle ----------------------------------------------------------------------------

#[test]
fn loop_handle_is_send_sync_and_clone() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<LoopHandle>();
}

#[test]
fn call_soon_threadsafe_runs_on_the_loop_thread() {
    within(LIMIT, || {
        let lp = Loop::new();
        let handle = lp.handle();
        let loop_thread = thread::current().id();
        let (tx, rx) = mpsc::channel();
        let gate = Gate::new();
        let g = gate.clone();
        let caller = thread::spawn(move || {
            thread::sleep(ms(10));
            handle
                .call_soon_threadsafe(move || {
                    tx.send(thread::current().id()).unwrap();
                    g.open();
                })
                .unwrap();
        });
        // The loop has nothing else to do: it blocks until the callback's wake-up.
        lp.block_on(gate.wait());
        caller.join().unwrap();
        assert_eq!(rx.try_recv().unwrap(), loop_thread);
    });
}

#[test]
fn call_soon_threadsafe_from_the_loop_thread_runs_later() {
    let lp = util::vloop();
    let handle = lp.handle();
    let ran = Arc::new(AtomicUsize::new(0));
    let r = Arc::clone(&ran);
    lp.block_on(async move {
        handle
            .call_soon_threadsafe(move || {
                r.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 0, "not run inside the call");
        for _ in 0..3 {
            yield_now().await;
        }
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn call_soon_threadsafe_between_block_on_calls_runs_in_the_next_one() {
    let lp = util::vloop();
    let handle = lp.handle();
    let ran = Arc::new(AtomicUsize::new(0));
    let r = Arc::clone(&ran);
    thread::spawn(move || {
        handle
            .call_soon_threadsafe(move || {
                r.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap()
    })
    .join()
    .unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 0, "the loop is not running");
    lp.block_on(async {
        yield_now().await;
        yield_now().await;
    });
    assert_eq!(ran.load(Ordering::SeqCst), 1);
}

#[test]
fn call_soon_threadsafe_after_the_loop_is_dropped_fails() {
    let lp = Loop::new();
    let handle = lp.handle();
    assert!(!handle.is_closed());
    drop(lp);
    assert!(handle.is_closed());
    let (guard, watch) = drop_flag();
    let result = handle.call_soon_threadsafe(move || drop(guard));
    assert_eq!(result, Err(LoopClosed));
    assert!(watch.is_dropped(), "the callback was dropped, not kept");
    // From another thread too.
    let h = handle.clone();
    let from_thread = thread::spawn(move || h.call_soon_threadsafe(|| {}))
        .join()
        .unwrap();
    assert_eq!(from_thread, Err(LoopClosed));

    let text = LoopClosed.to_string();
    assert!(text.contains("closed"), "{text}");
    assert!(text.split_whitespace().count() >= 5, "a sentence: {text}");
}

// ----- wakers the loop lends: most tasks own no waker; a kept clone stays the task's --------

#[test]
fn a_kept_waker_wakes_its_own_task_after_other_tasks_ran() {
    vrun(async {
        let slot = Rc::new(Cell::new(None));
        let open = Rc::new(Cell::new(false));
        let (keeper, kept) = counted(wait_on(Rc::clone(&slot), Rc::clone(&open)));
        let keeper = spawn(keeper);
        // Tasks polled after it, with no waker of their own, must not inherit its wakes.
        let (other, others) = counted(std::future::pending::<()>());
        let other = spawn(other);
        let (sleeper, sleeps) = counted(tinyloop::sleep(Duration::from_secs(3600)));
        let sleeper = spawn(sleeper);
        yield_now().await;
        assert_eq!((kept.polls(), others.polls(), sleeps.polls()), (1, 1, 1));
        let waker: Waker = slot.take().unwrap();
        waker.wake_by_ref();
        yield_now().await;
        assert_eq!(
            (kept.polls(), others.polls(), sleeps.polls()),
            (2, 1, 1),
            "the kept waker wakes the task that kept it, and only that one"
        );
        open.set(true);
        waker.wake();
        keeper.await.unwrap();
        assert_eq!(kept.polls(), 3);
        other.cancel();
        sleeper.cancel();
    });
}

#[test]
fn a_kept_waker_will_wake_the_waker_of_every_later_poll() {
    vrun(async {
        let kept: Rc<Cell<Option<Waker>>> = Rc::new(Cell::new(None));
        let same = Rc::new(Cell::new(0));
        let (k, s) = (Rc::clone(&kept), Rc::clone(&same));
        let task = spawn(poll_fn(move |cx| match k.take() {
            None => {
                k.set(Some(cx.waker().clone()));
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Some(w) => {
                // What `AtomicWaker`-style code relies on to skip a clone.
                s.set(s.get() + usize::from(w.will_wake(cx.waker())));
                let polls = s.get();
                k.set(Some(w));
                if polls == 3 {
                    Poll::Ready(())
                } else {
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
            }
        }));
        // Other tasks are polled in between, with the loop's spare waker.
        let busy = spawn(async {
            for _ in 0..10 {
                yield_now().await;
            }
        });
        task.await.unwrap();
        busy.await.unwrap();
        assert_eq!(same.get(), 3);
    });
}

#[test]
fn a_waker_kept_past_its_tasks_end_wakes_no_later_task() {
    vrun(async {
        let kept: Rc<Cell<Option<Waker>>> = Rc::new(Cell::new(None));
        let k = Rc::clone(&kept);
        spawn(poll_fn(move |cx| {
            k.set(Some(cx.waker().clone()));
            Poll::Ready(())
        }))
        .await
        .unwrap();
        let (later, probe) = counted(std::future::pending::<()>());
        let later = spawn(later);
        yield_now().await;
        assert_eq!(probe.polls(), 1);
        kept.take().unwrap().wake();
        yield_now().await;
        yield_now().await;
        assert_eq!(
            probe.polls(),
            1,
            "a finished task's waker woke another task"
        );
        later.cancel();
    });
}

#[test]
fn a_wake_from_a_thread_reaches_a_loop_kept_busy_by_yielding_tasks() {
    // No socket is registered, so a busy turn never asks the OS poller: the wake must come in
    // through the loop's channel, which every turn reads.
    within(Duration::from_secs(20), || {
        tinyloop::run(async {
            let stop = Rc::new(Cell::new(false));
            let s = Rc::clone(&stop);
            let spinner = spawn(async move {
                while !s.get() {
                    yield_now().await;
                }
            });
            let (tx, rx) = mpsc::channel::<Waker>();
            let waker_thread = thread::spawn(move || {
                let waker = rx.recv().unwrap();
                thread::sleep(ms(20));
                waker.wake();
            });
            let mut sent = false;
            poll_fn(|cx| {
                if sent {
                    return Poll::Ready(());
                }
                tx.send(cx.waker().clone()).unwrap();
                sent = true;
                Poll::Pending
            })
            .await;
            stop.set(true);
            spinner.await.unwrap();
            waker_thread.join().unwrap();
        })
    });
}
