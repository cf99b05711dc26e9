//! Rows of README's "what you did → what tinyloop says" table that no other test file covers.
//! Each test checks the words the user reads, not only that something failed.

mod util;

use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tinyloop::{call_later, gather, sleep, spawn, to_thread, yield_now, JoinError};
use util::{ms, panic_text, vloop};

/// Polls `fut` once with a waker that does nothing.
fn poll_once<F: Future + ?Sized>(fut: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(Waker::noop()))
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

#[test]
fn a_gather_polled_again_after_it_completed_panics_with_a_message() {
    vloop().block_on(async {
        let mut g = pin!(gather((1..=2).map(|n| async move { n })));
        assert_eq!(g.as_mut().await, vec![1, 2]);
        let text = panic_text(|| poll_once(g.as_mut()));
        assert!(text.contains("polled after it completed"), "{text}");
    });
}

#[test]
fn call_later_with_duration_max_never_fires_and_never_panics() {
    vloop().block_on(async {
        let ran = Rc::new(Cell::new(false));
        let r = Rc::clone(&ran);
        let handle = call_later(Duration::MAX, move || r.set(true));
        // Virtual time jumps over every other timer; this one is never armed.
        sleep(Duration::from_secs(10 * 365 * 86_400)).await;
        assert!(!ran.get());
        assert!(handle.cancel(), "still pending, so cancel succeeds");
    });
}

#[test]
fn call_later_with_a_zero_delay_runs_on_the_next_turn() {
    vloop().block_on(async {
        let ran = Rc::new(Cell::new(false));
        let r = Rc::clone(&ran);
        let _h = call_later(Duration::ZERO, move || r.set(true));
        assert!(!ran.get(), "never runs inside the call");
        yield_now().await;
        yield_now().await;
        assert!(ran.get());
    });
}

#[test]
fn zero_and_max_durations_together_neither_panic_nor_fire_early() {
    vloop().block_on(async {
        let start = tinyloop::now();
        sleep(Duration::ZERO).await;
        assert_eq!(
            tinyloop::now(),
            start,
            "a zero sleep does not move the clock"
        );
        let r = tinyloop::timeout(Duration::MAX, sleep(ms(3))).await;
        assert_eq!(r, Ok(()));
        let r = tinyloop::timeout(Duration::ZERO, std::future::pending::<()>()).await;
        let text = r.unwrap_err().to_string();
        assert!(text.contains("deadline passed"), "{text}");
    });
}

/// Set in the child process that plays a test whose stderr the parent reads.
const CHILD: &str = "TINYLOOP_MISUSE_CHILD";

#[test]
fn a_panicking_callback_is_reported_on_stderr_and_the_loop_carries_on() {
    if std::env::var_os(CHILD).is_some() {
        vloop().block_on(async {
            let _h = tinyloop::call_soon(|| panic!("callback exploded"));
            sleep(ms(1)).await;
            println!("AFTER still running");
        });
        return;
    }
    let (ok, stdout, stderr) = util::run_child(
        "a_panicking_callback_is_reported_on_stderr_and_the_loop_carries_on",
        CHILD,
    );
    assert!(ok, "child failed\n{stdout}\n{stderr}");
    assert!(stdout.contains("AFTER still running"), "{stdout}");
    assert!(
        stderr.contains("tinyloop: a callback panicked: callback exploded")
            && stderr.contains("carries on"),
        "{stderr}"
    );
}

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
