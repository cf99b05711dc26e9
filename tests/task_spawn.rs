//! Running a loop and spawning tasks (asyncio's `test_base_events.py`, `test_runners.py`,
//! and the `create_task` parts of `test_tasks.py`).

mod util;

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::future::{pending, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use tinyloop::{
    all_tasks, current_task, sleep, spawn, spawn_named, yield_now, JoinError, Loop, TaskState,
};
use util::{drop_flag, ms, poll_once, since, vloop, vrun};

// ----- Running a loop ----------------------------------------------------------------------

#[test]
fn run_returns_the_output() {
    assert_eq!(tinyloop::run(async { 40 + 2 }), 42);
    let s = tinyloop::run(async {
        let t = spawn(async { String::from("from a task") });
        t.await.unwrap()
    });
    assert_eq!(s, "from a task");
}

#[test]
fn block_on_returns_the_output() {
    let lp = Loop::new();
    assert_eq!(lp.block_on(async { 7 }), 7);
    assert_eq!(lp.block_on(async { "again" }), "again");
}

#[test]
fn run_drops_tasks_still_alive_when_it_returns() {
    let (waiting_guard, waiting) = drop_flag();
    let (sleeping_guard, sleeping) = drop_flag();
    let (unstarted_guard, unstarted) = drop_flag();
    let (w, s) = (waiting.clone(), sleeping.clone());
    tinyloop::run(async move {
        drop(spawn(async move {
            let _g = waiting_guard;
            pending::<()>().await;
        }));
        drop(spawn(async move {
            let _g = sleeping_guard;
            sleep(ms(3_600_000)).await;
        }));
        yield_now().await; // both have started and are now waiting
                           // This one never gets a turn at all.
        drop(spawn(async move {
            let _g = unstarted_guard;
        }));
        assert!(!w.is_dropped() && !s.is_dropped());
    });
    assert!(waiting.is_dropped(), "a task waiting for ever was dropped");
    assert!(sleeping.is_dropped(), "a task in a long sleep was dropped");
    assert!(unstarted.is_dropped(), "a task that never ran was dropped");
}

#[test]
fn dropping_a_loop_drops_its_tasks() {
    let (guard, watch) = drop_flag();
    let lp = vloop();
    let t = lp.spawn(async move {
        let _g = guard;
        pending::<()>().await;
    });
    lp.block_on(yield_now());
    assert!(!watch.is_dropped());
    drop(lp);
    assert!(watch.is_dropped());
    assert!(t.is_done(), "a task of a dropped loop counts as done");
}

#[test]
fn task_of_a_dropped_loop_awaited_elsewhere_is_cancelled() {
    let first = vloop();
    let pending_task = first
        .block_on(async {
            let t = spawn(pending::<u8>());
            yield_now().await; // it has started and waits
            Some(t)
        })
        .unwrap();
    let also_finished = first.spawn(async { 5 });
    let finished = first.spawn(async { 6 });
    first.block_on(async {
        while !finished.is_done() {
            yield_now().await;
        }
    });
    let unpolled = first.spawn(async { 7 });
    drop(first);

    let second = vloop();
    second.block_on(async move {
        assert_eq!(pending_task.await, Err(JoinError::Cancelled));
        assert_eq!(unpolled.await, Err(JoinError::Cancelled));
        // Tasks that finished before their loop went away keep their results.
        assert_eq!(also_finished.await, Ok(5));
        assert_eq!(finished.await, Ok(6));
    });
}

#[test]
fn loop_spawn_works_before_block_on() {
    let lp = vloop();
    let ran = Rc::new(Cell::new(false));
    let r = Rc::clone(&ran);
    let t = lp.spawn(async move {
        r.set(true);
        21 * 2
    });
    assert!(!ran.get(), "nothing runs before the loop does");
    assert!(!t.is_done());
    assert_eq!(lp.block_on(t), Ok(42));
    assert!(ran.get());
}

#[test]
fn tasks_survive_across_block_on_calls() {
    let lp = vloop();
    let progress = Rc::new(Cell::new(0));
    let p = Rc::clone(&progress);
    let t = lp.spawn(async move {
        sleep(ms(5)).await;
        p.set(1);
        sleep(ms(10)).await;
        p.set(2);
        "done"
    });
    let start = lp.block_on(async {
        let start = tinyloop::now();
        sleep(ms(7)).await;
        start
    });
    assert_eq!(progress.get(), 1, "the task ran up to its second sleep");
    assert!(!t.is_done());
    let (out, elapsed) = lp.block_on(async move { (t.await, since(start)) });
    assert_eq!(out, Ok("done"));
    assert_eq!(progress.get(), 2);
    assert_eq!(
        elapsed,
        ms(15),
        "the clock carried on across block_on calls"
    );
}

// ----- Start order ------------------------------------------------------------------------

#[test]
fn tasks_start_in_fifo_order_and_not_eagerly() {
    vrun(async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut handles = Vec::new();
        for i in 0..5 {
            let log = Rc::clone(&log);
            handles.push(spawn(async move { log.borrow_mut().push(i) }));
        }
        assert!(
            log.borrow().is_empty(),
            "no task runs before the spawner yields"
        );
        assert!(handles.iter().all(|t| !t.is_done()));
        yield_now().await;
        assert_eq!(*log.borrow(), vec![0, 1, 2, 3, 4]);
        assert!(handles.iter().all(|t| t.is_done()));
    });
}

#[test]
fn a_task_spawned_by_a_task_runs_after_the_tasks_already_ready() {
    vrun(async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let l = Rc::clone(&log);
        let a = spawn(async move {
            l.borrow_mut().push("a");
            let l2 = Rc::clone(&l);
            let child = spawn(async move { l2.borrow_mut().push("a's child") });
            l.borrow_mut().push("a spawned");
            child.await.unwrap();
        });
        let l = Rc::clone(&log);
        let b = spawn(async move { l.borrow_mut().push("b") });
        a.await.unwrap();
        b.await.unwrap();
        assert_eq!(*log.borrow(), vec!["a", "a spawned", "b", "a's child"]);
    });
}

#[test]
fn yield_now_interleaves_tasks_exactly() {
    vrun(async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut handles = Vec::new();
        for name in ["a", "b", "c"] {
            let log = Rc::clone(&log);
            handles.push(spawn(async move {
                for i in 0..3 {
                    log.borrow_mut().push(format!("{name}{i}"));
                    yield_now().await;
                }
            }));
        }
        for t in handles {
            t.await.unwrap();
        }
        let expected: Vec<String> = ["a0", "b0", "c0", "a1", "b1", "c1", "a2", "b2", "c2"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(*log.borrow(), expected);
    });
}

#[test]
fn yield_now_completes_on_its_second_poll() {
    vrun(async {
        let (fut, probe) = util::counted(yield_now());
        fut.await;
        assert_eq!(probe.polls(), 2);
    });
}

// ----- Detaching ----------------------------------------------------------------------------

#[test]
fn a_dropped_task_handle_detaches_and_the_task_still_completes() {
    vrun(async {
        let done = Rc::new(Cell::new(false));
        let d = Rc::clone(&done);
        let (guard, watch) = drop_flag();
        drop(spawn(async move {
            let _g = guard;
            sleep(ms(50)).await;
            yield_now().await;
            d.set(true);
        }));
        sleep(ms(100)).await;
        assert!(done.get(), "the detached task ran to completion");
        assert!(
            watch.is_dropped(),
            "and its future was dropped when it finished"
        );
        assert!(all_tasks().is_empty());
    });
}

// ----- Names, ids, introspection -----------------------------------------------------------

#[test]
fn tasks_are_named_task_n_unless_named() {
    vrun(async {
        let a = spawn(async {});
        let b = spawn(async {});
        let c = spawn_named("fetcher", async {});
        assert_eq!(a.name(), format!("Task-{}", a.id()));
        assert_eq!(b.name(), format!("Task-{}", b.id()));
        assert_eq!(c.name(), "fetcher");
        assert_eq!(b.id().0, a.id().0 + 1, "tasks are numbered in spawn order");
        a.await.unwrap();
        b.await.unwrap();
        c.await.unwrap();
    });
}

#[test]
fn task_ids_are_distinct() {
    vrun(async {
        let mut ids = HashSet::new();
        let mut live = Vec::new();
        for i in 0..200 {
            let t = spawn(async move { i });
            assert!(ids.insert(t.id()), "id {} given twice", t.id());
            if i % 2 == 0 {
                // Finished tasks free their slot; new tasks still get new ids.
                t.await.unwrap();
            } else {
                live.push(t);
            }
        }
        for t in live {
            t.await.unwrap();
        }
    });
}

#[test]
fn current_task_inside_a_task_and_not_in_the_main_future() {
    assert!(current_task().is_none(), "no task outside a loop");
    vrun(async {
        assert!(current_task().is_none(), "the main future is not a task");
        let t = spawn_named("introspective", async {
            let me = current_task().expect("inside a task");
            (me.id, me.name, me.state, me.polls)
        });
        let id = t.id();
        let (seen_id, name, state, polls) = t.await.unwrap();
        assert_eq!(seen_id, id);
        assert_eq!(name, "introspective");
        assert_eq!(state, TaskState::Running);
        assert_eq!(polls, 1);
        let line = line!() + 1;
        let u = spawn(async { current_task().unwrap().spawned_at });
        let at = u.await.unwrap();
        assert!(at.file().ends_with("task_spawn.rs"), "{at}");
        assert_eq!(at.line(), line, "spawned_at is the spawn call");
        assert!(current_task().is_none());
    });
}

#[test]
fn all_tasks_lists_unfinished_tasks_with_state_and_polls() {
    assert!(all_tasks().is_empty(), "nothing outside a loop");
    vrun(async {
        let waiting = spawn_named("waiting", async { sleep(ms(1000)).await });
        let yielder = spawn_named("yielder", async {
            for _ in 0..3 {
                yield_now().await;
            }
            pending::<()>().await;
        });
        let quick_a = spawn_named("quick-a", async {});
        let quick_b = spawn_named("quick-b", async {});
        assert_eq!(all_tasks().len(), 4, "the main future is not listed");
        // Let everything run a few turns, then spawn one that has not run yet.
        for _ in 0..5 {
            yield_now().await;
        }
        let late = spawn_named("late", async {});
        let infos = all_tasks();
        let names: Vec<&str> = infos.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, vec!["waiting", "yielder", "late"]);
        let by = |n: &str| infos.iter().find(|i| i.name == n).unwrap().clone();
        assert_eq!(by("waiting").state, TaskState::Waiting);
        assert_eq!(by("waiting").polls, 1);
        assert_eq!(by("waiting").id, waiting.id());
        assert_eq!(by("yielder").state, TaskState::Waiting);
        assert_eq!(by("yielder").polls, 4);
        assert_eq!(by("late").state, TaskState::Scheduled);
        assert_eq!(by("late").polls, 0);
        assert!(by("late").spawned_at.file().ends_with("task_spawn.rs"));
        assert!(
            quick_a.is_done() && quick_b.is_done(),
            "finished tasks are not listed"
        );
        // A task sees itself as Running.
        let me = spawn(async { all_tasks() });
        let seen = me.await.unwrap();
        let myself = seen.iter().find(|i| i.state == TaskState::Running);
        assert!(myself.is_some(), "a task lists itself as running: {seen:?}");
        waiting.cancel();
        yielder.cancel();
        yield_now().await;
        assert_eq!(all_tasks().len(), 0, "cancelled tasks are not listed");
        drop(late);
    });
}

#[test]
fn task_debug_shows_name_and_state() {
    vrun(async {
        let t = spawn_named("shown", async { sleep(ms(5)).await });
        let text = format!("{t:?}");
        assert!(
            text.contains("shown") && text.contains("Scheduled"),
            "{text}"
        );
        yield_now().await;
        let text = format!("{t:?}");
        assert!(text.contains("Waiting"), "{text}");
        t.await.unwrap();
    });
}

#[test]
fn a_task_awaited_from_another_loop_is_woken_when_its_loop_drops() {
    let a = vloop();
    let from_a = a.spawn(pending::<u8>());
    let b = vloop();
    let result = b.block_on(async move {
        let waiter = spawn(from_a);
        yield_now().await; // the waiter now waits on loop A's task
        drop(a);
        // Bounded, so the bug shows as a timeout rather than a hang.
        tinyloop::timeout(ms(1000), waiter).await
    });
    assert_eq!(result, Ok(Ok(Err(JoinError::Cancelled))));
}

#[test]
fn a_task_polled_again_after_it_completed_is_cancelled_not_a_panic() {
    vloop().block_on(async {
        let mut t = spawn(async { 7 });
        assert_eq!((&mut t).await, Ok(7));
        // Its result was taken already; a second poll says there is nothing left.
        assert_eq!(
            poll_once(std::pin::Pin::new(&mut t)),
            Poll::Ready(Err(JoinError::Cancelled))
        );
    });
}

// ----- tasks with a zero-sized output (`()`, most tasks) keep no tag in their cell ---------

#[test]
fn a_unit_task_drops_its_future_as_it_finishes_before_its_handle_is_awaited() {
    vloop().block_on(async {
        let (guard, watch) = drop_flag();
        let t = spawn(async move {
            let _guard = guard;
            yield_now().await;
        });
        yield_now().await;
        assert!(!watch.is_dropped(), "still running");
        yield_now().await;
        assert!(
            watch.is_dropped(),
            "finished: its future is gone, though nobody awaited it"
        );
        assert_eq!(t.await, Ok(()));
    });
}

/// An output with a size (it holds an `Rc`) whose destructor counts: the `Cell` path, beside
/// the zero-sized `Unit` below, which takes the `Bare` one.
struct Token(Rc<Cell<u32>>);

impl Drop for Token {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[test]
fn a_zero_sized_output_is_handed_over_once_and_dropped_once() {
    // `Token` holds an `Rc`, so it has a size; a unit struct with a destructor has none.
    struct Unit;
    thread_local!(static DROPS: Cell<u32> = const { Cell::new(0) });
    impl Drop for Unit {
        fn drop(&mut self) {
            DROPS.with(|d| d.set(d.get() + 1));
        }
    }
    assert_eq!(std::mem::size_of::<Unit>(), 0);
    vloop().block_on(async {
        // Awaited: the handle gets it; dropped once, by us.
        let t = spawn(async { Unit });
        let unit = t.await.unwrap();
        assert_eq!(DROPS.with(Cell::get), 0);
        drop(unit);
        assert_eq!(DROPS.with(Cell::get), 1);
        // Detached: dropped once, when the task finishes.
        drop(spawn(async { Unit }));
        yield_now().await;
        assert_eq!(DROPS.with(Cell::get), 2);
        // Finished, then its handle dropped unawaited: dropped once, with the handle.
        let t = spawn(async { Unit });
        yield_now().await;
        assert_eq!(DROPS.with(Cell::get), 2);
        drop(t);
        assert_eq!(DROPS.with(Cell::get), 3);
        // A sized output still works as before.
        let count = Rc::new(Cell::new(0));
        let c = Rc::clone(&count);
        let token = spawn(async move { Token(c) }).await.unwrap();
        drop(token);
        assert_eq!(count.get(), 1);
    });
}

// ----- join waiters that are not a task of the loop (kept beside the slots) ------------------

/// A waker of another kind than the loop's: counts its wakes.
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting_waker() -> (Arc<CountingWaker>, Waker) {
    let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
    let waker = Waker::from(Arc::clone(&counter));
    (counter, waker)
}

#[test]
fn a_handle_polled_with_foreign_wakers_wakes_the_latest_exactly_once() {
    vloop().block_on(async {
        let mut tasks: Vec<_> = (0..50u32)
            .map(|i| {
                spawn(async move {
                    for _ in 0..i % 3 {
                        yield_now().await;
                    }
                    i
                })
            })
            .collect();
        let mut counters = Vec::new();
        for t in &mut tasks {
            // Two foreign polls: the second waker replaces the first, which is let go.
            let (first, w1) = counting_waker();
            let (second, w2) = counting_waker();
            let mut cx = Context::from_waker(&w1);
            assert!(Pin::new(&mut *t).poll(&mut cx).is_pending());
            let mut cx = Context::from_waker(&w2);
            assert!(Pin::new(&mut *t).poll(&mut cx).is_pending());
            drop((w1, w2));
            assert_eq!(Arc::strong_count(&first), 1, "the replaced waker is let go");
            counters.push(second);
        }
        for _ in 0..3 {
            yield_now().await;
        }
        for (i, (t, counter)) in tasks.into_iter().zip(counters).enumerate() {
            let woken = counter.0.load(Ordering::SeqCst);
            assert_eq!(woken, 1, "task {i}'s waiter woken once");
            assert_eq!(Arc::strong_count(&counter), 1, "and let go");
            assert_eq!(t.await, Ok(i as u32));
        }
    });
}

#[test]
fn dropping_a_handle_a_foreign_waker_waits_on_lets_the_waker_go() {
    vloop().block_on(async {
        let mut t = spawn(async {
            yield_now().await;
            5
        });
        let (counter, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(Pin::new(&mut t).poll(&mut cx).is_pending());
        drop(waker);
        assert_eq!(Arc::strong_count(&counter), 2, "the task's handle holds it");
        drop(t); // detached: nobody can poll it again
        assert_eq!(Arc::strong_count(&counter), 1, "let go with the handle");
        for _ in 0..3 {
            yield_now().await;
        }
        assert_eq!(counter.0.load(Ordering::SeqCst), 0);
        // The places it used are used again: many more, all woken.
        let mut handles: Vec<_> = (0..20).map(|_| spawn(yield_now())).collect();
        let counters: Vec<_> = handles
            .iter_mut()
            .map(|h| {
                let (counter, waker) = counting_waker();
                let mut cx = Context::from_waker(&waker);
                assert!(Pin::new(h).poll(&mut cx).is_pending());
                counter
            })
            .collect();
        for _ in 0..3 {
            yield_now().await;
        }
        for c in counters {
            assert_eq!(c.0.load(Ordering::SeqCst), 1);
        }
        for h in handles {
            assert_eq!(h.await, Ok(()));
        }
    });
}
