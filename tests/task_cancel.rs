//! Cancelling tasks (asyncio's `test_tasks.py`, the `cancel` tests). Cancelling a task drops
//! its future at whichever await point it is stopped at.

mod util;

use std::cell::{Cell, RefCell};
use std::future::{pending, poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;

use tinyloop::{sleep, spawn, yield_now, JoinError, Task};
use util::{counted, drop_flag, ms, since, timer_count, vloop, vrun};

#[test]
fn cancel_drops_the_future_by_the_next_turn() {
    vrun(async {
        let (fut, probe) = counted(pending::<()>());
        let t = spawn(fut);
        yield_now().await;
        assert_eq!(probe.polls(), 1);
        assert!(t.cancel());
        assert!(
            !probe.is_dropped(),
            "cancel only asks; the loop drops it on its turn"
        );
        yield_now().await;
        assert!(probe.is_dropped(), "dropped no later than the next turn");
        assert_eq!(probe.polls(), 1, "a cancelled task is not polled again");
        assert!(t.is_done());
        assert_eq!(t.await, Err(JoinError::Cancelled));
    });
}

#[test]
fn cancel_before_the_first_poll_never_polls() {
    vrun(async {
        let (fut, probe) = counted(async { 1 });
        let t = spawn(fut);
        assert!(t.cancel());
        yield_now().await;
        assert_eq!(probe.polls(), 0);
        assert!(probe.is_dropped());
        assert_eq!(t.await, Err(JoinError::Cancelled));
    });
}

#[test]
fn cancel_returns_false_once_finished() {
    vrun(async {
        let t = spawn(async { 3 });
        while !t.is_done() {
            yield_now().await;
        }
        assert!(!t.cancel(), "too late to cancel");
        assert_eq!(t.await, Ok(3), "and the result is intact");

        let c = spawn(pending::<()>());
        assert!(c.cancel());
        yield_now().await;
        assert!(!c.cancel(), "already cancelled");
        assert_eq!(c.await, Err(JoinError::Cancelled));
    });
}

#[test]
fn a_cancelled_task_wakes_whoever_awaits_it() {
    vrun(async {
        let victim = Rc::new(RefCell::new(spawn(pending::<u32>())));
        let v = Rc::clone(&victim);
        // The watcher awaits the victim's handle while the main future keeps a way to cancel it.
        let watcher = spawn(poll_fn(move |cx| Pin::new(&mut *v.borrow_mut()).poll(cx)));
        yield_now().await;
        yield_now().await;
        assert!(!watcher.is_done(), "the watcher waits on the victim");
        assert!(victim.borrow().cancel());
        assert_eq!(watcher.await, Ok(Err(JoinError::Cancelled)));
    });
}

#[test]
fn a_task_can_cancel_itself_and_it_takes_effect_when_its_poll_returns() {
    vrun(async {
        let slot: Rc<RefCell<Option<Task<()>>>> = Rc::new(RefCell::new(None));
        let log = Rc::new(RefCell::new(Vec::new()));
        let (guard, watch) = drop_flag();
        let (s, l) = (Rc::clone(&slot), Rc::clone(&log));
        let t = spawn(async move {
            let _g = guard;
            yield_now().await;
            let accepted = s.borrow().as_ref().unwrap().cancel();
            l.borrow_mut().push(format!("cancel returned {accepted}"));
            l.borrow_mut()
                .push("still running in the same poll".to_string());
            yield_now().await;
            l.borrow_mut().push("never reached".to_string());
        });
        *slot.borrow_mut() = Some(t);
        while !watch.is_dropped() {
            yield_now().await;
        }
        assert_eq!(
            *log.borrow(),
            vec!["cancel returned true", "still running in the same poll"]
        );
        let t = slot.borrow_mut().take().unwrap();
        assert_eq!(t.await, Err(JoinError::Cancelled));
    });
}

#[test]
fn cancel_a_task_in_a_long_sleep() {
    let lp = vloop();
    lp.block_on(async {
        let start = tinyloop::now();
        let (guard, watch) = drop_flag();
        let t = spawn(async move {
            let _g = guard;
            sleep(ms(3_600_000)).await;
            "woke"
        });
        sleep(ms(1000)).await;
        assert_eq!(timer_count(&lp), 1, "the hour-long sleep is armed");
        assert!(t.cancel());
        assert_eq!(t.await, Err(JoinError::Cancelled));
        assert!(watch.is_dropped());
        assert_eq!(
            since(start),
            ms(1000),
            "the clock did not run on to the hour"
        );
        assert_eq!(timer_count(&lp), 0, "the cancelled sleep left the wheel");
    });
}

/// A task with three await points, cancelled while stopped at each one in turn: everything it
/// held is dropped and nothing after the await point runs.
#[test]
fn cancel_at_each_await_point() {
    for stop_at in 0..4u64 {
        vrun(async move {
            let progress = Rc::new(Cell::new(0u64));
            let p = Rc::clone(&progress);
            let (outer_guard, outer) = drop_flag();
            let (inner_guard, inner) = drop_flag();
            let t = spawn(async move {
                let _outer = outer_guard;
                sleep(ms(10)).await;
                p.set(1);
                {
                    let _inner = inner_guard;
                    sleep(ms(10)).await;
                }
                p.set(2);
                sleep(ms(10)).await;
                p.set(3);
            });
            // Stop it at await point `stop_at` (after 5, 15, 25 ms), or after it finished.
            sleep(ms(5 + 10 * stop_at)).await;
            let cancelled = t.cancel();
            yield_now().await;
            assert!(
                outer.is_dropped() && inner.is_dropped(),
                "all it held was dropped"
            );
            match stop_at {
                0..=2 => {
                    assert!(cancelled);
                    assert_eq!(progress.get(), stop_at, "nothing after the await point ran");
                    assert_eq!(t.await, Err(JoinError::Cancelled));
                }
                _ => {
                    assert!(!cancelled);
                    assert_eq!(progress.get(), 3);
                    assert_eq!(t.await, Ok(()));
                }
            }
        });
    }
}

#[test]
fn cancelling_a_task_awaiting_another_leaves_the_other_running() {
    vrun(async {
        let inner = spawn(async {
            sleep(ms(20)).await;
            9
        });
        let inner_done = Rc::new(Cell::new(false));
        let d = Rc::clone(&inner_done);
        let shared = Rc::new(RefCell::new(Some(inner)));
        let s = Rc::clone(&shared);
        let outer = spawn(async move {
            let inner = s.borrow_mut().take().unwrap();
            let v = inner.await;
            d.set(true);
            v
        });
        sleep(ms(5)).await;
        assert!(outer.cancel());
        assert_eq!(outer.await, Err(JoinError::Cancelled));
        // The outer future owned the inner Task handle; dropping it detached the inner task,
        // which still runs to completion.
        assert_eq!(tinyloop::all_tasks().len(), 1);
        sleep(ms(20)).await;
        assert!(tinyloop::all_tasks().is_empty());
        assert!(!inner_done.get());
    });
}

#[test]
fn a_destructor_that_spawns_during_cancel_works() {
    struct SpawnOnDrop(Rc<Cell<bool>>);
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            let flag = Rc::clone(&self.0);
            drop(spawn(async move { flag.set(true) }));
        }
    }
    vrun(async {
        let ran = Rc::new(Cell::new(false));
        let guard = SpawnOnDrop(Rc::clone(&ran));
        let t = spawn(async move {
            let _g = guard;
            pending::<()>().await;
        });
        yield_now().await;
        t.cancel();
        yield_now().await;
        yield_now().await;
        assert!(
            ran.get(),
            "a task spawned from a cancelled task's destructor ran"
        );
    });
}

/// A future whose destructor panics.
struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("destructor blew up");
    }
}

#[test]
fn a_destructor_panicking_during_cancel_does_not_bring_the_loop_down() {
    let caught = std::panic::catch_unwind(|| {
        vrun(async {
            let t = spawn(async {
                let _bomb = PanicOnDrop;
                pending::<()>().await;
            });
            yield_now().await;
            assert!(t.cancel());
            let other = spawn(async { 5 });
            let result = t.await;
            assert!(
                matches!(&result, Err(JoinError::Panicked(m)) if m.contains("destructor blew up"))
                    || result == Err(JoinError::Cancelled),
                "{result:?}"
            );
            assert_eq!(other.await, Ok(5), "the loop keeps running other tasks");
        })
    });
    assert!(caught.is_ok(), "the destructor's panic escaped block_on");
}

#[test]
fn a_destructor_panicking_at_shutdown_does_not_escape_run() {
    let (guard, watch) = drop_flag();
    let caught = std::panic::catch_unwind(|| {
        tinyloop::run(async move {
            drop(spawn(async {
                let _bomb = PanicOnDrop;
                pending::<()>().await;
            }));
            drop(spawn(async move {
                let _g = guard;
                pending::<()>().await;
            }));
            yield_now().await;
            7
        })
    });
    assert!(watch.is_dropped(), "the other task was dropped too");
    assert_eq!(caught.ok(), Some(7), "run returned its output");
}

#[test]
fn a_task_that_cancels_itself_then_returns_is_cancelled() {
    vrun(async {
        let slot: Rc<RefCell<Option<Task<u8>>>> = Rc::new(RefCell::new(None));
        let s = Rc::clone(&slot);
        let t = spawn(async move {
            yield_now().await;
            assert!(s.borrow().as_ref().unwrap().cancel(), "cancel accepted");
            5
        });
        *slot.borrow_mut() = Some(t);
        for _ in 0..3 {
            yield_now().await;
        }
        let t = slot.borrow_mut().take().unwrap();
        // cancel() returned true, so the task should end cancelled, as in asyncio.
        assert_eq!(t.await, Err(JoinError::Cancelled));
    });
}
