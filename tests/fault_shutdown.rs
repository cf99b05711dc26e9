//! Faults that must not take the loop down or hang it: wakers from other threads after the
//! loop is gone, destructors that panic, and destructors that spawn, wake or cancel while the
//! loop is shutting down. (asyncio: `test_base_events.py`'s close-while-pending cases.)

mod util;

use std::cell::RefCell;
use std::future::{pending, poll_fn};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::task::{Poll, Waker};
use std::thread;
use std::time::Duration;

use tinyloop::{spawn, yield_now, Loop, Task};
use util::{drop_flag, within};

const LIMIT: Duration = Duration::from_secs(20);

/// The waker of the current task.
async fn my_waker() -> Waker {
    poll_fn(|cx| Poll::Ready(cx.waker().clone())).await
}

#[test]
fn wakers_woken_from_many_threads_after_the_loop_is_dropped_are_harmless() {
    within(LIMIT, || {
        let lp = Loop::new();
        let wakers: Vec<Waker> = lp.block_on(async {
            let slots = Rc::new(RefCell::new(Vec::new()));
            for _ in 0..32 {
                let s = Rc::clone(&slots);
                drop(spawn(async move {
                    let w = my_waker().await;
                    s.borrow_mut().push(w);
                    pending::<()>().await;
                }));
            }
            yield_now().await;
            let mut out = slots.take();
            out.push(my_waker().await);
            out
        });
        // Threads wake, clone and drop them while the loop is being dropped and after.
        let start = Arc::new(Barrier::new(5));
        let shared = Arc::new(wakers);
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let ws = Arc::clone(&shared);
                let go = Arc::clone(&start);
                thread::spawn(move || {
                    go.wait();
                    for _ in 0..200 {
                        for w in ws.iter() {
                            w.wake_by_ref();
                            let by_value = w.clone();
                            by_value.wake(); // wake by value, consuming the clone
                        }
                    }
                })
            })
            .collect();
        start.wait();
        drop(lp);
        for t in threads {
            t.join().expect("a waking thread panicked");
        }
        drop(shared);
        // A new loop on this thread is unaffected.
        assert_eq!(tinyloop::run(async { spawn(async { 1 }).await }), Ok(1));
    });
}

/// Panics when dropped, unless the thread is already panicking.
struct PanicOnDrop(&'static str);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if !thread::panicking() {
            panic!("{}", self.0);
        }
    }
}

#[test]
fn a_destructor_panicking_on_cancel_fails_only_that_task() {
    within(LIMIT, || {
        tinyloop::run(async {
            let t = spawn(async {
                let _bomb = PanicOnDrop("boom on cancel");
                pending::<()>().await;
            });
            let other = spawn(async {
                yield_now().await;
                yield_now().await;
                9
            });
            yield_now().await;
            assert!(t.cancel());
            let r = t.await;
            assert!(r.is_err(), "the cancelled task ends in an error: {r:?}");
            assert_eq!(other.await, Ok(9), "the loop kept serving");
        });
    });
}

#[test]
fn destructors_panicking_at_shutdown_do_not_escape_and_every_task_is_dropped() {
    within(LIMIT, || {
        let (guard, watch) = drop_flag();
        let out = tinyloop::run(async move {
            for _ in 0..10 {
                drop(spawn(async {
                    let _bomb = PanicOnDrop("boom at shutdown");
                    pending::<()>().await;
                }));
            }
            drop(spawn(async move {
                let _g = guard;
                pending::<()>().await;
            }));
            yield_now().await;
            3
        });
        assert_eq!(out, 3);
        assert!(
            watch.is_dropped(),
            "a task next to the panicking ones was dropped too"
        );
        // The thread can run loops again.
        assert_eq!(tinyloop::run(async { 4 }), 4);
    });
}

/// On drop, runs `f` (which may spawn, wake or cancel).
struct OnDrop<F: FnMut()>(F);

impl<F: FnMut()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        (self.0)()
    }
}

#[test]
fn a_drop_that_spawns_during_shutdown_neither_panics_nor_hangs() {
    within(LIMIT, || {
        let spawned = Rc::new(AtomicUsize::new(0));
        let (guard, watch) = drop_flag();
        let lp = Loop::new();
        let s = Rc::clone(&spawned);
        let guard = RefCell::new(Some(guard));
        lp.block_on(async move {
            drop(spawn(async move {
                let _d = OnDrop(move || {
                    // Spawning during shutdown: the new task is dropped with the rest (its
                    // destructor runs), or never runs; either way nothing panics.
                    let g = guard.borrow_mut().take();
                    let s = Rc::clone(&s);
                    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        drop(spawn(async move {
                            let _g = g;
                            s.fetch_add(1, Ordering::SeqCst);
                        }))
                    }));
                    assert!(r.is_ok(), "spawn from a destructor at shutdown panicked");
                });
                pending::<()>().await;
            }));
            yield_now().await;
        });
        drop(lp);
        assert!(
            watch.is_dropped(),
            "the task spawned at shutdown was dropped, not leaked"
        );
        assert_eq!(spawned.load(Ordering::SeqCst), 0, "it never ran");
    });
}

#[test]
fn a_drop_that_wakes_and_cancels_other_tasks_during_shutdown_is_harmless() {
    within(LIMIT, || {
        let lp = Loop::new();
        let (g1, w1) = drop_flag();
        let (g2, w2) = drop_flag();
        lp.block_on(async move {
            let victim: Task<()> = spawn(async move {
                let _g = g1;
                pending::<()>().await;
            });
            let victim_waker = Rc::new(RefCell::new(None::<Waker>));
            let vw = Rc::clone(&victim_waker);
            let other = spawn(async move {
                let _g = g2;
                let w = my_waker().await;
                vw.borrow_mut().replace(w);
                pending::<()>().await;
            });
            yield_now().await;
            let other_waker = victim_waker.borrow_mut().take().unwrap();
            drop(spawn(async move {
                let _d = OnDrop(move || {
                    // Wake a task being dropped, cancel another, and drop a handle.
                    other_waker.wake_by_ref();
                    victim.cancel();
                    other.cancel();
                    other_waker.wake_by_ref();
                });
                pending::<()>().await;
            }));
            yield_now().await;
        });
        drop(lp);
        assert!(w1.is_dropped() && w2.is_dropped());
        assert_eq!(tinyloop::run(async { 5 }), 5);
    });
}

/// Set in the child process that plays a test whose stderr the parent reads.
const CHILD: &str = "TINYLOOP_SHUTDOWN_CHILD";

#[test]
fn a_destructor_panicking_at_shutdown_is_reported_on_stderr() {
    if std::env::var_os(CHILD).is_some() {
        struct Bomb;
        impl Drop for Bomb {
            fn drop(&mut self) {
                panic!("destructor exploded");
            }
        }
        tinyloop::run(async {
            drop(spawn(async {
                let _b = Bomb;
                std::future::pending::<()>().await;
            }));
            yield_now().await;
        });
        println!("AFTER run returned");
        return;
    }
    let (ok, stdout, stderr) = util::run_child(
        "a_destructor_panicking_at_shutdown_is_reported_on_stderr",
        CHILD,
    );
    assert!(ok, "child failed\n{stdout}\n{stderr}");
    assert!(stdout.contains("AFTER run returned"), "{stdout}");
    assert!(
        stderr.contains("a task's destructor panicked while the loop shut down")
            && stderr.contains("destructor exploded")
            && stderr.contains("carries on"),
        "{stderr}"
    );
}
