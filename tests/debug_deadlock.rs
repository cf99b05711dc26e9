//! Deadlock detection: a main future that waits on something nothing can ever do is caught
//! and reported (Go's "all goroutines are asleep"), in real and virtual time, and nothing
//! that can still wake the loop is mistaken for a deadlock.

use std::cell::RefCell;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tinyloop::{Loop, OnDeadlock, Task};

fn loop_with(virtual_time: bool) -> Loop {
    Loop::builder().virtual_time(virtual_time).build().unwrap()
}

/// An `Event`-like flag that nothing sets: waiting on it parks the waker for good.
#[derive(Clone, Default)]
struct NeverSet {
    waiters: Rc<RefCell<Vec<Waker>>>,
}

impl Future for NeverSet {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.waiters.borrow_mut().push(cx.waker().clone());
        Poll::Pending
    }
}

/// Awaits a task that awaits a never-set event: the classic stuck program.
async fn stuck_program() {
    let event = NeverSet::default();
    let worker = tinyloop::spawn_named("worker", async move {
        event.await;
    });
    worker.await.unwrap();
}

#[test]
fn a_stuck_program_is_caught_in_real_time() {
    let err = loop_with(false).try_block_on(stuck_program()).unwrap_err();
    let report = err.report();
    assert!(
        report.starts_with("deadlock: the main future is waiting and nothing can ever wake it"),
        "{report}"
    );
    assert!(
        report.contains("The main future waits on task #1 'worker'"),
        "{report}"
    );
    assert!(
        report.contains("worker"),
        "the dump lists the worker:\n{report}"
    );
    assert!(report.contains("0 timers armed"), "{report}");
}

#[test]
fn a_stuck_program_is_caught_in_virtual_time() {
    let lp = loop_with(true);
    let err = lp
        .try_block_on(async {
            // Timers that do fire do not hide the deadlock that follows them.
            tinyloop::sleep(Duration::from_secs(10)).await;
            stuck_program().await;
        })
        .unwrap_err();
    assert!(err.to_string().starts_with("deadlock:"), "{err}");
}

#[test]
fn block_on_and_run_panic_with_the_report() {
    let panic = catch_unwind(AssertUnwindSafe(|| {
        loop_with(true).block_on(stuck_program());
    }))
    .unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(message.starts_with("deadlock:"), "{message}");

    let panic = catch_unwind(|| tinyloop::run(std::future::pending::<()>())).unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(message.starts_with("deadlock:"), "{message}");
    assert!(
        message.contains("something that is not a tinyloop primitive"),
        "{message}"
    );
}

#[test]
fn tasks_awaiting_each_other_show_in_the_report() {
    let err = loop_with(true)
        .try_block_on(async {
            // `a` awaits `b` and `b` awaits `a`: each holds the other's handle.
            let b_handle: Rc<RefCell<Option<Task<()>>>> = Rc::default();
            let for_a = Rc::clone(&b_handle);
            let a = tinyloop::spawn_named("a", async move {
                tinyloop::yield_now().await;
                let b = for_a.borrow_mut().take().unwrap();
                b.await.unwrap();
            });
            let b = tinyloop::spawn_named("b", async move {
                a.await.unwrap();
            });
            *b_handle.borrow_mut() = Some(b);
            std::future::pending::<()>().await;
        })
        .unwrap_err();
    let report = err.report();
    let line = |name: &str| {
        report
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("no line for {name}:\n{report}"))
    };
    assert!(line("a").contains("task #2 'b'"), "{report}");
    assert!(line("b").contains("task #1 'a'"), "{report}");
}

#[test]
fn a_thread_holding_a_loop_handle_is_not_a_deadlock() {
    let lp = loop_with(false);
    let handle = lp.handle();
    let waker_slot: Arc<Mutex<Option<Waker>>> = Arc::default();
    let theirs = Arc::clone(&waker_slot);
    let thread = std::thread::spawn(move || {
        let _handle = handle; // held while this thread may wake the loop
        std::thread::sleep(Duration::from_millis(120));
        if let Some(w) = theirs.lock().unwrap().take() {
            w.wake();
        }
    });
    let mut woken = false;
    lp.try_block_on(std::future::poll_fn(|cx| {
        if woken {
            return Poll::Ready(());
        }
        woken = true;
        *waker_slot.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }))
    .expect("a thread holding a LoopHandle can still wake the loop");
    thread.join().unwrap();
}

#[test]
fn a_raw_waker_woken_within_the_grace_period_is_not_a_deadlock() {
    for virtual_time in [false, true] {
        let lp = loop_with(virtual_time);
        let mut started = false;
        let mut thread = None;
        lp.try_block_on(std::future::poll_fn(|cx| {
            if started {
                return Poll::Ready(());
            }
            started = true;
            let waker = cx.waker().clone();
            thread = Some(std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                waker.wake();
            }));
            Poll::Pending
        }))
        .expect("a wake 20 ms later falls inside the grace period");
        thread.unwrap().join().unwrap();
    }
}

#[test]
fn work_in_flight_is_not_a_deadlock() {
    loop_with(true).block_on(async {
        let n = tinyloop::to_thread(|| {
            std::thread::sleep(Duration::from_millis(80));
            7
        })
        .await
        .unwrap();
        assert_eq!(n, 7);
        // A sleep alone is a timer armed, not a deadlock.
        tinyloop::sleep(Duration::from_secs(3600)).await;
    });
}

#[test]
fn ignore_keeps_waiting_for_a_late_raw_wake() {
    let lp = Loop::builder()
        .on_deadlock(OnDeadlock::Ignore)
        .build()
        .unwrap();
    let mut started = false;
    let mut thread = None;
    lp.try_block_on(std::future::poll_fn(|cx| {
        if started {
            return Poll::Ready(());
        }
        started = true;
        let waker = cx.waker().clone();
        thread = Some(std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(150));
            waker.wake();
        }));
        Poll::Pending
    }))
    .expect("OnDeadlock::Ignore never reports");
    thread.unwrap().join().unwrap();
}

#[test]
fn after_a_deadlock_the_loop_can_run_again() {
    let lp = loop_with(true);
    assert!(lp.try_block_on(stuck_program()).is_err());
    assert_eq!(lp.block_on(async { 5 }), 5);
}
