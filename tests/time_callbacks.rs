//! `call_soon`, `call_later`, `call_at` and `CallbackHandle::cancel` (asyncio's
//! `test_base_events.py` and `test_events.py` Handle/TimerHandle tests).

mod util;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use tinyloop::{call_at, call_later, call_soon, sleep, spawn, yield_now};
use util::{drop_flag, ms, since, timer_count, vloop, vrun};

type Log = Rc<RefCell<Vec<String>>>;

fn push(log: &Log, what: impl Into<String>) {
    log.borrow_mut().push(what.into());
}

fn entries(log: &Log) -> Vec<String> {
    log.borrow().clone()
}

#[test]
fn call_soon_runs_in_fifo_order_on_a_later_turn() {
    vrun(async {
        let log: Log = Rc::default();
        for i in 1..=3 {
            let l = Rc::clone(&log);
            call_soon(move || push(&l, i.to_string()));
        }
        assert!(entries(&log).is_empty(), "nothing runs inside call_soon");
        yield_now().await;
        assert_eq!(entries(&log), ["1", "2", "3"]);
    });
}

#[test]
fn a_callback_scheduled_by_a_callback_runs_on_the_next_turn() {
    vrun(async {
        let log: Log = Rc::default();
        let l = Rc::clone(&log);
        call_soon(move || {
            push(&l, "a");
            let l2 = Rc::clone(&l);
            call_soon(move || push(&l2, "b"));
        });
        yield_now().await;
        assert_eq!(entries(&log), ["a"], "b waits for the next turn");
        yield_now().await;
        assert_eq!(entries(&log), ["a", "b"]);
    });
}

#[test]
fn callbacks_and_tasks_share_one_fifo() {
    vrun(async {
        let log: Log = Rc::default();
        let l = Rc::clone(&log);
        let t = spawn(async move { push(&l, "task 1") });
        let l = Rc::clone(&log);
        call_soon(move || push(&l, "callback"));
        let l = Rc::clone(&log);
        let u = spawn(async move { push(&l, "task 2") });
        yield_now().await;
        assert_eq!(entries(&log), ["task 1", "callback", "task 2"]);
        t.await.unwrap();
        u.await.unwrap();
    });
}

#[test]
fn call_later_runs_at_its_deadline() {
    vrun(async {
        let start = tinyloop::now();
        let seen = Rc::new(RefCell::new(Vec::new()));
        for d in [250u64, 10, 100] {
            let s = Rc::clone(&seen);
            call_later(ms(d), move || s.borrow_mut().push((d, since(start))));
        }
        sleep(ms(1000)).await;
        assert_eq!(
            *seen.borrow(),
            vec![(10, ms(10)), (100, ms(100)), (250, ms(250))]
        );
    });
}

#[test]
fn call_later_zero_runs_soon() {
    vrun(async {
        let log: Log = Rc::default();
        let l = Rc::clone(&log);
        call_later(Duration::ZERO, move || push(&l, "zero"));
        assert!(entries(&log).is_empty());
        yield_now().await;
        assert_eq!(entries(&log), ["zero"]);
    });
}

#[test]
fn call_at_runs_at_the_instant() {
    vrun(async {
        let start = tinyloop::now();
        let seen = Rc::new(RefCell::new(None));
        let s = Rc::clone(&seen);
        call_at(start + ms(123), move || {
            *s.borrow_mut() = Some(since(start))
        });
        sleep(ms(200)).await;
        assert_eq!(*seen.borrow(), Some(ms(123)));

        // A past instant runs on the next turn.
        let log: Log = Rc::default();
        let l = Rc::clone(&log);
        call_at(start, move || push(&l, "past"));
        assert!(entries(&log).is_empty());
        yield_now().await;
        assert_eq!(entries(&log), ["past"]);
    });
}

#[test]
fn cancel_returns_true_then_false_and_the_callback_never_runs() {
    let lp = vloop();
    lp.block_on(async {
        let log: Log = Rc::default();
        let (guard, watch) = drop_flag();
        let l = Rc::clone(&log);
        let h = call_later(ms(100), move || {
            let _g = guard;
            push(&l, "later")
        });
        assert_eq!(timer_count(&lp), 1);
        assert!(h.is_pending());
        assert!(h.cancel());
        assert!(!h.cancel());
        assert!(!h.is_pending());
        assert!(watch.is_dropped(), "cancel drops the closure");
        assert_eq!(timer_count(&lp), 0, "and its timer leaves the wheel");

        let l = Rc::clone(&log);
        let soon = call_soon(move || push(&l, "soon"));
        assert!(soon.cancel());
        let l = Rc::clone(&log);
        let at = call_at(tinyloop::now() + ms(5), move || push(&l, "at"));
        assert!(at.cancel());

        sleep(ms(200)).await;
        assert!(entries(&log).is_empty(), "no cancelled callback ran");
    });
}

#[test]
fn cancel_after_the_callback_ran_returns_false() {
    vrun(async {
        let log: Log = Rc::default();
        let l = Rc::clone(&log);
        let h = call_later(ms(5), move || push(&l, "ran"));
        sleep(ms(10)).await;
        assert_eq!(entries(&log), ["ran"]);
        assert!(!h.is_pending());
        assert!(!h.cancel());
    });
}

#[test]
fn dropping_the_handle_does_not_cancel() {
    vrun(async {
        let log: Log = Rc::default();
        let l = Rc::clone(&log);
        drop(call_later(ms(5), move || push(&l, "later")));
        let l = Rc::clone(&log);
        drop(call_soon(move || push(&l, "soon")));
        sleep(ms(10)).await;
        assert_eq!(entries(&log), ["soon", "later"]);
    });
}

#[test]
fn a_panicking_callback_does_not_stop_the_loop() {
    vrun(async {
        let log: Log = Rc::default();
        call_soon(|| panic!("callback boom"));
        let l = Rc::clone(&log);
        call_soon(move || push(&l, "after soon"));
        call_later(ms(5), || panic!("timer callback boom"));
        let l = Rc::clone(&log);
        call_later(ms(5), move || push(&l, "after later"));
        yield_now().await;
        assert_eq!(entries(&log), ["after soon"]);
        sleep(ms(10)).await;
        assert_eq!(entries(&log), ["after soon", "after later"]);
        assert_eq!(spawn(async { 1 }).await, Ok(1));
    });
}

#[test]
fn a_callback_can_spawn_and_schedule_more() {
    vrun(async {
        let start: Instant = tinyloop::now();
        let seen = Rc::new(RefCell::new(None));
        let s = Rc::clone(&seen);
        call_later(ms(10), move || {
            drop(spawn(async move {
                sleep(ms(5)).await;
                *s.borrow_mut() = Some(since(start));
            }))
        });
        sleep(ms(100)).await;
        assert_eq!(*seen.borrow(), Some(ms(15)));
    });
}

#[test]
fn callbacks_pending_when_the_loop_drops_never_run_and_cancel_stays_safe() {
    let log: Log = Rc::default();
    let lp = vloop();
    let (l1, l2) = (Rc::clone(&log), Rc::clone(&log));
    let (later, soon) = lp.block_on(async move {
        (
            call_later(ms(1000), move || push(&l1, "later")),
            call_soon(move || push(&l2, "soon")),
        )
    });
    drop(lp);
    assert!(entries(&log).is_empty());
    // Cancelling against a loop that is gone does not panic.
    let _ = later.cancel();
    let _ = soon.cancel();
    assert!(!later.cancel() && !soon.cancel());
    assert!(entries(&log).is_empty());
}

#[test]
fn callback_handle_debug_shows_pending() {
    vrun(async {
        let h = call_soon(|| {});
        assert!(format!("{h:?}").contains("pending: true"), "{h:?}");
        yield_now().await;
        assert!(format!("{h:?}").contains("pending: false"), "{h:?}");
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

/// Set in the child process that plays a test whose stderr the parent reads.
const CHILD: &str = "TINYLOOP_CALLBACKS_CHILD";

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
