//! `TaskGroup` (asyncio's `test_taskgroups.py`).

mod util;
use util::{ms, vrun as block_on, DropCount};

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;

use tinyloop::{now, sleep, timeout, yield_now, ChildError, JoinError, TaskGroup};

/// A child that sleeps `n` ms holding a drop guard, then returns `r`.
fn sleeper<E: 'static>(
    drops: &Rc<Cell<usize>>,
    n: u64,
    r: Result<u64, E>,
) -> impl Future<Output = Result<u64, E>> + 'static {
    let guard = DropCount(Rc::clone(drops));
    async move {
        let _guard = guard;
        sleep(ms(n)).await;
        r
    }
}

#[test]
fn join_waits_for_every_child() {
    block_on(async {
        let drops = Rc::new(Cell::new(0));
        let group: TaskGroup<String> = TaskGroup::new();
        let start = now();
        let a = group.spawn(sleeper(&drops, 30, Ok(1)));
        let b = group.spawn(sleeper(&drops, 10, Ok(2)));
        assert_eq!(group.join().await, Ok(()));
        assert_eq!(now() - start, ms(30));
        assert_eq!(drops.get(), 2);
        assert_eq!((a.await, b.await), (Ok(Ok(1)), Ok(Ok(2))));
    });
}

#[test]
fn an_empty_group_joins_at_once() {
    block_on(async {
        let group = TaskGroup::<()>::new();
        assert_eq!(group.join().await, Ok(()));
    });
}

#[test]
fn the_first_failure_cancels_the_siblings() {
    block_on(async {
        let drops = Rc::new(Cell::new(0));
        let group = TaskGroup::new();
        let start = now();
        let slow = group.spawn(sleeper(&drops, 1_000, Ok(1)));
        let failing = group.spawn(sleeper(&drops, 10, Err("disk full")));
        let later = group.spawn(sleeper(&drops, 20, Err("never happens")));
        let err = group.join().await.unwrap_err();
        // join returned as soon as the cancelled siblings were gone, not after 1 s.
        assert_eq!(now() - start, ms(10));
        assert_eq!(drops.get(), 3, "every child's destructors ran");
        assert_eq!(err.errors(), &[ChildError::Failed("disk full")]);
        assert_eq!(err.to_string(), "a child task returned an error: disk full");
        assert_eq!(err.into_first(), ChildError::Failed("disk full"));
        assert_eq!(slow.await, Err(JoinError::Cancelled));
        assert_eq!(later.await, Err(JoinError::Cancelled));
        // The error went to the group; the failed child's own task ends as cancelled.
        assert_eq!(failing.await, Err(JoinError::Cancelled));
    });
}

#[test]
fn siblings_are_cancelled_even_while_nobody_joins() {
    block_on(async {
        let drops = Rc::new(Cell::new(0));
        let group = TaskGroup::new();
        let slow = group.spawn(sleeper(&drops, 1_000, Ok(1)));
        let _failing = group.spawn(sleeper(&drops, 10, Err(())));
        sleep(ms(20)).await;
        assert_eq!(drops.get(), 2, "cancelled at 10 ms, without join");
        assert!(slow.is_done());
        assert!(group.join().await.is_err());
    });
}

#[test]
fn a_panicking_child_fails_the_group() {
    block_on(async {
        let drops = Rc::new(Cell::new(0));
        let group = TaskGroup::<()>::new();
        let slow = group.spawn(sleeper(&drops, 1_000, Ok(1)));
        let panicking = group.spawn(async {
            sleep(ms(10)).await;
            if true {
                panic!("child blew up");
            }
            Ok(0u64)
        });
        let err = group.join().await.unwrap_err();
        assert_eq!(
            err.errors(),
            &[ChildError::Panicked("child blew up".into())]
        );
        assert_eq!(drops.get(), 1);
        assert_eq!(slow.await, Err(JoinError::Cancelled));
        assert_eq!(
            panicking.await,
            Err(JoinError::Panicked("child blew up".into()))
        );
    });
}

#[test]
fn a_sibling_that_would_fail_later_is_cancelled_first() {
    block_on(async {
        let drops = Rc::new(Cell::new(0));
        let group = TaskGroup::new();
        // Cancelling is dropping, and a dropped future cannot fail: once "first" has failed,
        // "second" never gets to, so the report holds exactly the failures that happened.
        drop(group.spawn(sleeper(&drops, 10, Err("first"))));
        drop(group.spawn(sleeper(&drops, 10, Err("second"))));
        drop(group.spawn(sleeper(&drops, 20, Err("third"))));
        let err = group.join().await.unwrap_err();
        assert_eq!(err.into_errors(), vec![ChildError::Failed("first")]);
        assert_eq!(drops.get(), 3);
    });
}

#[test]
fn dropping_the_group_cancels_every_child() {
    block_on(async {
        let drops = Rc::new(Cell::new(0));
        let group = TaskGroup::<()>::new();
        let a = group.spawn(sleeper(&drops, 100, Ok(1)));
        let b = group.spawn(sleeper(&drops, 200, Ok(2)));
        yield_now().await;
        drop(group);
        yield_now().await;
        assert_eq!(drops.get(), 2);
        assert_eq!(
            (a.await, b.await),
            (Err(JoinError::Cancelled), Err(JoinError::Cancelled))
        );
    });
}

#[test]
fn children_cancelled_before_their_first_poll_still_let_join_finish() {
    block_on(async {
        let drops = Rc::new(Cell::new(0));
        let group = TaskGroup::new();
        // The first child fails on its first poll, before the others have ever been polled.
        let failing = group.spawn(async { Err::<u64, _>("at once") });
        let unpolled = group.spawn(sleeper(&drops, 100, Ok(1)));
        let also_unpolled = group.spawn(sleeper(&drops, 100, Ok(2)));
        let err = timeout(ms(1_000), group.join())
            .await
            .expect("join finished");
        assert_eq!(err.unwrap_err().into_first(), ChildError::Failed("at once"));
        assert_eq!(drops.get(), 2);
        assert_eq!(failing.await, Err(JoinError::Cancelled));
        assert_eq!(unpolled.await, Err(JoinError::Cancelled));
        assert_eq!(also_unpolled.await, Err(JoinError::Cancelled));
    });
}

#[test]
fn dropping_the_group_before_its_children_start_cancels_them() {
    block_on(async {
        let drops = Rc::new(Cell::new(0));
        let group = TaskGroup::<()>::new();
        let a = group.spawn(sleeper(&drops, 100, Ok(1)));
        drop(group);
        assert_eq!(a.await, Err(JoinError::Cancelled));
        assert_eq!(drops.get(), 1);
    });
}

#[test]
fn dropping_a_join_cancels_every_child() {
    block_on(async {
        let drops = Rc::new(Cell::new(0));
        let group = TaskGroup::<()>::new();
        let start = now();
        let quick = group.spawn(sleeper(&drops, 5, Ok(1)));
        let slow = group.spawn(sleeper(&drops, 100, Ok(2)));
        assert!(timeout(ms(10), group.join()).await.is_err());
        yield_now().await;
        assert_eq!(drops.get(), 2);
        assert_eq!(quick.await, Ok(Ok(1)));
        assert_eq!(slow.await, Err(JoinError::Cancelled));
        assert_eq!(now() - start, ms(10));
    });
}

#[test]
fn spawn_after_a_failure_returns_a_cancelled_task() {
    block_on(async {
        let group = TaskGroup::new();
        drop(group.spawn(async { Err::<(), _>("boom") }));
        sleep(ms(1)).await;
        let ran = Rc::new(Cell::new(false));
        let flag = Rc::clone(&ran);
        let late = group.spawn(async move {
            flag.set(true);
            Ok(())
        });
        assert_eq!(late.await, Err(JoinError::Cancelled));
        assert!(!ran.get(), "a child spawned after the failure never runs");
        let err = group.join().await.unwrap_err();
        assert_eq!(err.errors(), &[ChildError::Failed("boom")]);
    });
}

#[test]
fn debug_shows_the_state() {
    block_on(async {
        let group = TaskGroup::<()>::new();
        drop(group.spawn(async { Ok(()) }));
        assert_eq!(
            format!("{group:?}"),
            "TaskGroup { children: 1, failed: false, errors: 0 }"
        );
        group.join().await.unwrap();
    });
}
