//! Lock, Semaphore, Event, Condition and Barrier: CPython's `test_asyncio/test_locks.py`.
//!
//! Races are staged two ways. Polling futures by hand (`util::waiting`, `Manual::ready`)
//! pins an interleaving exactly: "the holder releases, then the waiter it was handed to is
//! dropped before it ever runs". Tests on a real loop (`run_virtual`, `spawn`,
//! `Task::cancel`) check the same behaviour end to end.

#[path = "util/sync.rs"]
mod sync_util;
mod util;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::Ordering;

use sync_util::{reentrant_waker, run_virtual, waiting, Manual, Rng};
use tinyloop::{
    sleep, spawn, timeout, yield_now, Barrier, Condition, Event, Lock, Semaphore, Task,
};
use util::ms;

// ---------------------------------------------------------------- Semaphore

#[test]
fn semaphore_with_zero_permits_waits_for_add_permits() {
    let sem = Semaphore::new(0);
    assert!(sem.try_acquire().is_none());
    let mut waiter = waiting(sem.acquire());
    sem.add_permits(1);
    assert_eq!(waiter.wakes(), 1);
    let permit = waiter.ready();
    assert_eq!(sem.available_permits(), 0);
    drop(permit);
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn semaphore_permit_is_released_on_drop_and_kept_by_forget() {
    let sem = Semaphore::new(2);
    let a = sem.try_acquire().unwrap();
    let b = sem.try_acquire().unwrap();
    assert!(sem.try_acquire().is_none());
    drop(a);
    assert_eq!(sem.available_permits(), 1);
    b.forget();
    assert_eq!(
        sem.available_permits(),
        1,
        "a forgotten permit never comes back"
    );
}

#[test]
fn semaphore_add_permits_wakes_waiters_in_order_and_keeps_the_rest() {
    let sem = Semaphore::new(0);
    let mut first = waiting(sem.acquire());
    let mut second = waiting(sem.acquire());
    sem.add_permits(5);
    assert_eq!((first.wakes(), second.wakes()), (1, 1));
    assert_eq!(sem.available_permits(), 3);
    let _both = (first.ready(), second.ready());
    assert_eq!(sem.available_permits(), 3);
}

#[test]
#[should_panic(expected = "would raise the free permits past usize::MAX")]
fn semaphore_add_permits_past_usize_max_panics() {
    let sem = Semaphore::new(usize::MAX - 1);
    sem.add_permits(2);
}

#[test]
fn semaphore_serves_acquirers_in_arrival_order() {
    run_virtual(async {
        let sem = Semaphore::new(1);
        let order = Rc::new(RefCell::new(Vec::new()));
        let holder = sem.acquire().await;
        // Task i arrives after (5 - i) ms, so they queue as 4, 3, 2, 1, 0.
        let tasks: Vec<_> = (0..5u64)
            .map(|i| {
                let (sem, order) = (sem.clone(), order.clone());
                spawn(async move {
                    sleep(ms(5 - i)).await;
                    let _permit = sem.acquire().await;
                    order.borrow_mut().push(i);
                    yield_now().await;
                })
            })
            .collect();
        sleep(ms(10)).await;
        assert_eq!(format!("{sem:?}"), "Semaphore { permits: 0, waiters: 5 }");
        drop(holder);
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*order.borrow(), [4, 3, 2, 1, 0]);
    });
}

#[test]
fn semaphore_release_then_acquire_again_goes_to_the_back() {
    let sem = Semaphore::new(1);
    let permit = sem.try_acquire().unwrap();
    let mut b = waiting(sem.acquire());
    let mut c = waiting(sem.acquire());
    drop(permit); // handed to b
    let mut again = waiting(sem.acquire());
    assert!(
        sem.try_acquire().is_none(),
        "try_acquire must not barge past b"
    );
    let b_permit = b.ready();
    c.pending();
    drop(b_permit);
    again.pending();
    let c_permit = c.ready();
    drop(c_permit);
    drop(again.ready());
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn semaphore_waiter_dropped_while_waiting_leaves_the_queue() {
    let sem = Semaphore::new(0);
    let a = waiting(sem.acquire());
    let mut b = waiting(sem.acquire());
    assert_eq!(format!("{sem:?}"), "Semaphore { permits: 0, waiters: 2 }");
    drop(a);
    assert_eq!(format!("{sem:?}"), "Semaphore { permits: 0, waiters: 1 }");
    sem.add_permits(1);
    assert_eq!(b.wakes(), 1);
    drop(b.ready());
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn semaphore_waiter_dropped_after_grant_passes_the_permit_on() {
    let sem = Semaphore::new(1);
    let permit = sem.try_acquire().unwrap();
    let b = waiting(sem.acquire());
    let mut c = waiting(sem.acquire());
    drop(permit); // granted to b, which has not run yet...
    assert_eq!(b.wakes(), 1);
    drop(b); // ...and is cancelled in the same turn
    assert_eq!(c.wakes(), 1, "the permit went on to c");
    drop(c.ready());
    assert_eq!(sem.available_permits(), 1);

    // With nobody behind it, the permit goes back to the pool.
    let permit = sem.try_acquire().unwrap();
    let b = waiting(sem.acquire());
    drop(permit);
    drop(b);
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn semaphore_waiter_task_cancelled_in_the_same_turn_as_release() {
    run_virtual(async {
        let sem = Semaphore::new(1);
        let entered = Rc::new(Cell::new(0));
        let holder = sem.acquire().await;
        let spawn_waiter = || {
            let (sem, entered) = (sem.clone(), entered.clone());
            spawn(async move {
                let _permit = sem.acquire().await;
                entered.set(entered.get() + 1);
            })
        };
        let (w1, w2) = (spawn_waiter(), spawn_waiter());
        yield_now().await; // both are queued
        drop(holder); // w1 is handed the permit...
        w1.cancel(); // ...and cancelled before it runs
        assert!(w1.await.unwrap_err().is_cancelled());
        w2.await.unwrap();
        assert_eq!(entered.get(), 1);
        assert_eq!(sem.available_permits(), 1);
    });
}

/// 1,000 tasks through a `Semaphore(7)`, with acquire futures dropped by timeouts and tasks
/// cancelled at random moments: while queued, while holding, and in the very turn a permit is
/// handed to them. Every permit must come back, and at most 7 tasks may ever hold one.
#[test]
fn semaphore_stress_random_cancellations_lose_no_permit() {
    const TASKS: usize = 1000;
    run_virtual(async {
        let sem = Semaphore::new(7);
        let mut rng = Rng::new(0x5EED_CAFE);
        let inside = Rc::new(Cell::new(0usize));
        let max_inside = Rc::new(Cell::new(0usize));
        let tasks: Rc<RefCell<Vec<Option<Task<()>>>>> = Rc::default();
        // Ids of the tasks inside `acquire`, in the order they queued.
        let line: Rc<RefCell<Vec<usize>>> = Rc::default();
        for id in 0..TASKS {
            let (sem, tasks_ref, line) = (sem.clone(), tasks.clone(), line.clone());
            let (inside, max_inside) = (inside.clone(), max_inside.clone());
            let arrive = ms(rng.below(40));
            let patience = (rng.below(3) == 0).then(|| ms(rng.below(6)));
            let hold = rng.below(3);
            // Which task in line (if any) this one cancels just before releasing its permit.
            let victim = (rng.below(3) == 0).then(|| rng.below(3) as usize);
            let task = spawn(async move {
                sleep(arrive).await;
                let queued = InLine::join(&line, id);
                let permit = match patience {
                    // The acquire future is dropped when the timeout fires.
                    Some(patience) => match timeout(patience, sem.acquire()).await {
                        Ok(permit) => permit,
                        Err(_) => return,
                    },
                    None => sem.acquire().await,
                };
                drop(queued);
                let _inside = Inside::enter(&inside, &max_inside);
                match hold {
                    0 => yield_now().await,
                    n => sleep(ms(n)).await,
                }
                // Cancel a task in line, then release in the same poll: the front of the line
                // is handed the permit and dropped before it can run.
                let victim = victim.and_then(|n| line.borrow().get(n).copied());
                if let Some(victim) = victim {
                    if let Some(task) = &tasks_ref.borrow()[victim] {
                        task.cancel();
                    }
                }
                drop(permit);
            });
            tasks.borrow_mut().push(Some(task));
        }
        // Meanwhile, cancel tasks from outside at random moments.
        for _ in 0..200 {
            sleep(ms(rng.below(2))).await;
            let victim = rng.below(TASKS as u64) as usize;
            if let Some(task) = &tasks.borrow()[victim] {
                task.cancel();
            }
        }
        let all: Vec<_> = tasks
            .borrow_mut()
            .iter_mut()
            .map(|t| t.take().unwrap())
            .collect();
        let mut cancelled = 0;
        for task in all {
            if let Err(err) = task.await {
                assert!(err.is_cancelled(), "{err}");
                cancelled += 1;
            }
        }
        assert!(
            cancelled > 100,
            "the test should cancel plenty of tasks ({cancelled})"
        );
        assert_eq!(sem.available_permits(), 7);
        assert_eq!(format!("{sem:?}"), "Semaphore { permits: 7, waiters: 0 }");
        assert_eq!(inside.get(), 0);
        assert_eq!(max_inside.get(), 7);
    });
}

/// A task's place in the stress test's record of who is queued; leaves it on drop.
struct InLine(Rc<RefCell<Vec<usize>>>, usize);

impl InLine {
    fn join(line: &Rc<RefCell<Vec<usize>>>, id: usize) -> Self {
        line.borrow_mut().push(id);
        InLine(line.clone(), id)
    }
}

impl Drop for InLine {
    fn drop(&mut self) {
        self.0.borrow_mut().retain(|&id| id != self.1);
    }
}

/// Counts the tasks holding a permit; leaves on drop, so cancelled holders leave too.
struct Inside(Rc<Cell<usize>>);

impl Inside {
    fn enter(inside: &Rc<Cell<usize>>, max: &Cell<usize>) -> Self {
        inside.set(inside.get() + 1);
        assert!(
            inside.get() <= 7,
            "more tasks hold a permit than there are permits"
        );
        max.set(max.get().max(inside.get()));
        Inside(inside.clone())
    }
}

impl Drop for Inside {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

// ---------------------------------------------------------------- Lock

#[test]
fn lock_guards_its_value() {
    run_virtual(async {
        let total = Lock::new(0);
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let total = total.clone();
                spawn(async move {
                    let mut guard = total.lock().await;
                    let seen = *guard;
                    yield_now().await; // everyone else runs; nobody else gets in
                    *guard = seen + 1;
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*total.lock().await, 10);
        assert!(!total.is_locked());
    });
}

#[test]
fn lock_is_fifo_and_debug_shows_state() {
    run_virtual(async {
        let lock = Lock::new(Vec::new());
        let guard = lock.lock().await;
        assert_eq!(format!("{lock:?}"), "Lock { locked: true, waiters: 0 }");
        let tasks: Vec<_> = (0..3u64)
            .map(|i| {
                let lock = lock.clone();
                spawn(async move {
                    sleep(ms(3 - i)).await;
                    lock.lock().await.push(i);
                })
            })
            .collect();
        sleep(ms(5)).await;
        assert_eq!(format!("{lock:?}"), "Lock { locked: true, waiters: 3 }");
        drop(guard);
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*lock.lock().await, [2, 1, 0]);
        assert_eq!(format!("{lock:?}"), "Lock { locked: false, waiters: 0 }");
    });
}

#[test]
fn lock_try_lock_does_not_barge_past_a_handed_over_lock() {
    let lock = Lock::new(());
    let guard = lock.try_lock().unwrap();
    assert!(lock.try_lock().is_none());
    let mut waiter = waiting(lock.lock());
    drop(guard); // handed to the waiter, which has not run
    assert!(lock.is_locked());
    assert!(lock.try_lock().is_none());
    let guard = waiter.ready();
    drop(guard);
    assert!(lock.try_lock().is_some());
}

#[test]
fn lock_waiter_dropped_after_handover_passes_the_lock_on() {
    let lock = Lock::new(1);
    let guard = lock.try_lock().unwrap();
    let first = waiting(lock.lock());
    let mut second = waiting(lock.lock());
    drop(guard);
    drop(first); // cancelled in the turn the lock was handed to it
    assert_eq!(second.wakes(), 1);
    assert_eq!(*second.ready(), 1);
    assert!(
        !lock.is_locked(),
        "the guard was dropped at the end of the statement"
    );

    // The last waiter dropped after the handover unlocks the lock.
    let guard = lock.try_lock().unwrap();
    let only = waiting(lock.lock());
    drop(guard);
    drop(only);
    assert!(!lock.is_locked());
}

#[test]
fn lock_waiter_task_cancelled_in_the_same_turn_as_unlock() {
    run_virtual(async {
        let lock = Lock::new(Vec::new());
        let guard = lock.lock().await;
        let spawn_locker = |name| {
            let lock = lock.clone();
            spawn(async move { lock.lock().await.push(name) })
        };
        let (a, b) = (spawn_locker("a"), spawn_locker("b"));
        yield_now().await;
        drop(guard);
        a.cancel();
        assert!(a.await.unwrap_err().is_cancelled());
        b.await.unwrap();
        assert_eq!(*lock.lock().await, ["b"]);
    });
}

// ---------------------------------------------------------------- Event

#[test]
fn event_wakes_every_waiter() {
    run_virtual(async {
        let event = Event::new();
        assert!(!event.is_set());
        let woken = Rc::new(Cell::new(0));
        let tasks: Vec<_> = (0..3)
            .map(|_| {
                let (event, woken) = (event.clone(), woken.clone());
                spawn(async move {
                    event.wait().await;
                    woken.set(woken.get() + 1);
                })
            })
            .collect();
        yield_now().await;
        assert_eq!(format!("{event:?}"), "Event { set: false, waiters: 3 }");
        event.set();
        assert!(event.is_set());
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(woken.get(), 3);
        event.wait().await; // set: returns at once
    });
}

#[test]
fn event_set_then_clear_before_the_waiter_runs_still_wakes_it() {
    run_virtual(async {
        let event = Event::new();
        let waiter = spawn({
            let event = event.clone();
            async move { event.wait().await }
        });
        yield_now().await; // the waiter is waiting
        event.set();
        event.clear();
        assert!(!event.is_set());
        waiter.await.unwrap(); // still woken, as in asyncio
                               // A new wait blocks again.
        assert!(timeout(ms(10), event.wait()).await.is_err());
    });
}

#[test]
fn event_waiter_dropped_leaves_the_queue() {
    let event = Event::new();
    let first = waiting(event.wait());
    let mut second = waiting(event.wait());
    drop(first);
    assert_eq!(format!("{event:?}"), "Event { set: false, waiters: 1 }");
    event.set();
    assert_eq!(second.wakes(), 1);
    second.ready();
    // Dropping a woken waiter that never ran is harmless.
    event.clear();
    let third = waiting(event.wait());
    event.set();
    drop(third);
    assert_eq!(format!("{event:?}"), "Event { set: true, waiters: 0 }");
}

// ---------------------------------------------------------------- Condition

#[test]
fn condition_notify_wakes_waiters_in_order() {
    run_virtual(async {
        let lock = Lock::new(Vec::new());
        let cond = Condition::new();
        let tasks: Vec<_> = (0..4)
            .map(|i| {
                let (lock, cond) = (lock.clone(), cond.clone());
                spawn(async move {
                    let guard = lock.lock().await;
                    let mut guard = cond.wait(guard).await;
                    guard.push(i);
                })
            })
            .collect();
        yield_now().await; // all four wait, and have unlocked the lock
        assert!(!lock.is_locked());
        assert_eq!(format!("{cond:?}"), "Condition { waiters: 4 }");
        cond.notify_one();
        yield_now().await;
        assert_eq!(*lock.lock().await, [0]);
        cond.notify(2);
        yield_now().await;
        assert_eq!(*lock.lock().await, [0, 1, 2]);
        cond.notify_all();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*lock.lock().await, [0, 1, 2, 3]);
    });
}

#[test]
fn condition_notify_with_nobody_waiting_is_lost() {
    let lock = Lock::new(());
    let cond = Condition::new();
    cond.notify_all();
    cond.notify(3);
    let guard = lock.try_lock().unwrap();
    let mut waiter = waiting(cond.wait(guard));
    assert_eq!(waiter.wakes(), 0);
    waiter.pending();
    cond.notify_one();
    drop(waiter.ready());
}

#[test]
fn condition_wait_relocks_behind_the_notifier() {
    let lock = Lock::new(0);
    let cond = Condition::new();
    let mut waiter = waiting(cond.wait(lock.try_lock().unwrap()));
    let mut guard = lock.try_lock().expect("wait unlocked the lock");
    *guard = 7;
    cond.notify_one();
    waiter.pending(); // notified, now waiting for the lock
    drop(guard);
    assert_eq!(*waiter.ready(), 7);
}

#[test]
fn condition_wait_while_checks_first_and_rechecks_after_each_wake() {
    run_virtual(async {
        let lock = Lock::new(0);
        let cond = Condition::new();
        let waiter = spawn({
            let (lock, cond) = (lock.clone(), cond.clone());
            async move {
                let guard = lock.lock().await;
                *cond.wait_while(guard, |n| *n < 3).await
            }
        });
        for _ in 0..3 {
            yield_now().await;
            *lock.lock().await += 1;
            cond.notify_all();
        }
        assert_eq!(waiter.await.unwrap(), 3);
        // Already false: no wait at all.
        let guard = lock.lock().await;
        let guard = cond.wait_while(guard, |n| *n < 3).await;
        assert_eq!(*guard, 3);
    });
}

#[test]
fn condition_wait_dropped_after_notify_passes_the_notification_on() {
    let lock = Lock::new(());
    let cond = Condition::new();
    let first = waiting(cond.wait(lock.try_lock().unwrap()));
    let mut second = waiting(cond.wait(lock.try_lock().unwrap()));
    cond.notify_one(); // goes to first...
    assert_eq!(first.wakes(), 1);
    drop(first); // ...which is cancelled before it runs
    assert_eq!(second.wakes(), 1, "the notification was passed on");
    drop(second.ready());
    assert!(!lock.is_locked(), "the lock was not leaked");
}

#[test]
fn condition_wait_dropped_while_relocking_passes_lock_and_notification_on() {
    let lock = Lock::new(());
    let cond = Condition::new();
    let mut first = waiting(cond.wait(lock.try_lock().unwrap()));
    let mut second = waiting(cond.wait(lock.try_lock().unwrap()));
    let guard = lock.try_lock().unwrap();
    cond.notify_one();
    first.pending(); // notified; now queued for the lock
    assert_eq!(format!("{lock:?}"), "Lock { locked: true, waiters: 1 }");
    drop(first); // cancelled while waiting for the lock
    assert_eq!(format!("{lock:?}"), "Lock { locked: true, waiters: 0 }");
    assert_eq!(second.wakes(), 1, "the notification was passed on");
    second.pending(); // now waiting for the lock
    drop(guard);
    drop(second.ready());
    assert!(!lock.is_locked());
}

#[test]
fn condition_wait_task_cancelled_after_notify() {
    run_virtual(async {
        let lock = Lock::new(Vec::new());
        let cond = Condition::new();
        let spawn_waiter = |name| {
            let (lock, cond) = (lock.clone(), cond.clone());
            spawn(async move {
                let guard = lock.lock().await;
                cond.wait(guard).await.push(name);
            })
        };
        let (a, b) = (spawn_waiter("a"), spawn_waiter("b"));
        yield_now().await;
        cond.notify_one();
        a.cancel();
        assert!(a.await.unwrap_err().is_cancelled());
        b.await.unwrap();
        assert_eq!(*lock.lock().await, ["b"]);
    });
}

// ---------------------------------------------------------------- Barrier

#[test]
#[should_panic(expected = "Barrier::new(0): a barrier needs at least one party")]
fn barrier_of_zero_parties_panics() {
    let _ = Barrier::new(0);
}

#[test]
fn barrier_releases_all_with_one_leader_and_starts_over() {
    run_virtual(async {
        let barrier = Barrier::new(3);
        for round in 0..2 {
            let tasks: Vec<_> = (0..3)
                .map(|_| {
                    let barrier = barrier.clone();
                    spawn(async move { barrier.wait().await.is_leader() })
                })
                .collect();
            let mut leaders = 0;
            for task in tasks {
                leaders += usize::from(task.await.unwrap());
            }
            assert_eq!(leaders, 1, "round {round}");
            assert_eq!(barrier.n_waiting(), 0);
        }
        assert!(Barrier::new(1).wait().await.is_leader());
    });
}

#[test]
fn barrier_waiter_dropped_before_the_trip_withdraws_its_arrival() {
    let barrier = Barrier::new(3);
    let mut first = waiting(barrier.wait());
    let second = waiting(barrier.wait());
    assert_eq!(format!("{barrier:?}"), "Barrier { parties: 3, waiting: 2 }");
    drop(second);
    assert_eq!(barrier.n_waiting(), 1);
    let mut third = waiting(barrier.wait()); // only the second arrival now
    let mut fourth = Manual::new(barrier.wait());
    assert!(fourth.ready().is_leader());
    assert!(!first.ready().is_leader());
    assert!(!third.ready().is_leader());
    assert_eq!(barrier.parties(), 3);
}

#[test]
fn barrier_waiter_dropped_after_the_trip_changes_nothing() {
    let barrier = Barrier::new(2);
    let first = waiting(barrier.wait());
    assert!(Manual::new(barrier.wait()).ready().is_leader());
    drop(first);
    // The next round starts from zero.
    let _next = waiting(barrier.wait());
    assert_eq!(barrier.n_waiting(), 1);
}

// ---------------------------------------------------------------- re-entrant wakers

/// A waker that calls back into the primitive when woken and when dropped must not trip over
/// the primitive's own borrow: wakers are woken and dropped only after the borrow ends.
#[test]
fn reentrant_wakers_are_woken_and_dropped_outside_the_borrow() {
    // Semaphore: wake on add_permits, drop after the wake, drop when replaced by a new waker.
    let sem = Semaphore::new(0);
    let (waker, calls) = reentrant_waker({
        let sem = sem.clone();
        move || {
            assert!(sem.try_acquire().is_none());
            let _ = format!("{sem:?}");
        }
    });
    let mut acquire = Box::pin(sem.acquire());
    assert!(sync_util::poll_with(acquire.as_mut(), &waker).is_pending());
    drop(waker); // the semaphore holds the last clone
    sem.add_permits(1);
    assert_eq!(calls.load(Ordering::SeqCst), 2, "woken, then dropped");
    let mut acquire = Manual::new(acquire);
    drop(acquire.ready());

    // Replaced waker, and a waiting future dropped.
    let (waker, calls) = reentrant_waker({
        let sem = sem.clone();
        move || drop(sem.try_acquire())
    });
    let _hold = sem.try_acquire().unwrap();
    let mut acquire = Box::pin(sem.acquire());
    assert!(sync_util::poll_with(acquire.as_mut(), &waker).is_pending());
    drop(waker);
    let mut acquire = Manual::new(acquire);
    acquire.pending(); // a different waker: the old one is dropped
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // Lock: the waker locks on wake.
    let lock = Lock::new(0);
    let (waker, calls) = reentrant_waker({
        let lock = lock.clone();
        move || assert!(lock.try_lock().is_none(), "handed to the waiter, not free")
    });
    let guard = lock.try_lock().unwrap();
    let mut locking = Box::pin(lock.lock());
    assert!(sync_util::poll_with(locking.as_mut(), &waker).is_pending());
    drop(waker);
    drop(guard);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    drop(locking);
    assert!(!lock.is_locked());

    // Event: the waker sets the event again and reads it.
    let event = Event::new();
    let (waker, calls) = reentrant_waker({
        let event = event.clone();
        move || {
            event.set();
            assert!(event.is_set());
        }
    });
    let mut wait = Box::pin(event.wait());
    assert!(sync_util::poll_with(wait.as_mut(), &waker).is_pending());
    drop(waker);
    event.set();
    drop(wait);
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    // Condition: the waker notifies again on wake and on drop.
    let lock = Lock::new(());
    let cond = Condition::new();
    let (waker, calls) = reentrant_waker({
        let cond = cond.clone();
        move || cond.notify_all()
    });
    let mut wait = Box::pin(cond.wait(lock.try_lock().unwrap()));
    assert!(sync_util::poll_with(wait.as_mut(), &waker).is_pending());
    drop(waker);
    cond.notify_one();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    drop(Manual::new(wait).ready());

    // Barrier: the waker reads the barrier when the round trips.
    let barrier = Barrier::new(2);
    let (waker, calls) = reentrant_waker({
        let barrier = barrier.clone();
        move || assert_eq!(barrier.n_waiting(), 0)
    });
    let mut wait = Box::pin(barrier.wait());
    assert!(sync_util::poll_with(wait.as_mut(), &waker).is_pending());
    drop(waker);
    assert!(Manual::new(barrier.wait()).ready().is_leader());
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    drop(wait);
}
