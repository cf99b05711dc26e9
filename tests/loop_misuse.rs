//! Misuse panics with a message that says what went wrong and how to fix it (asyncio:
//! "asyncio.run() cannot be called from a running event loop", "no running event loop").

mod util;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use tinyloop::{
    all_tasks, call_at, call_later, call_soon, current_task, interval, now, sleep, sleep_until,
    spawn, spawn_named, timeout, timeout_at, to_thread, yield_now, Loop,
};
use util::{ms, panic_text, vloop};

/// The message names the call that was misused and says to `.await` or `spawn` instead.
fn assert_nested_message(text: &str, call: &str) {
    assert!(text.contains(call), "names `{call}`: {text}");
    assert!(
        text.contains("already running"),
        "says what is wrong: {text}"
    );
    assert!(text.contains(".await"), "suggests `.await`: {text}");
    assert!(text.contains("spawn"), "suggests `spawn`: {text}");
}

#[test]
fn nested_run_panics_with_the_fix() {
    vloop().block_on(async {
        let text = panic_text(|| tinyloop::run(async { 1 }));
        assert_nested_message(&text, "run");
        // The outer loop is unharmed: it is still the running loop.
        assert_eq!(spawn(async { 2 }).await, Ok(2));
    });
}

#[test]
fn nested_block_on_of_another_loop_panics_with_the_fix() {
    let other = Loop::new();
    vloop().block_on(async {
        let text = panic_text(|| other.block_on(async { 1 }));
        assert_nested_message(&text, "block_on");
        assert_eq!(spawn(async { 2 }).await, Ok(2));
        now(); // still inside a running loop
    });
    // `other` was never entered and still works.
    assert_eq!(other.block_on(async { 3 }), 3);
}

#[test]
fn nested_block_on_of_the_same_loop_panics_with_the_fix() {
    let lp = vloop();
    lp.block_on(async {
        let text = panic_text(|| lp.block_on(async { 1 }));
        assert_nested_message(&text, "block_on");
        sleep(ms(5)).await;
    });
}

#[test]
fn nested_run_inside_a_task_fails_the_task_not_the_loop() {
    vloop().block_on(async {
        let t = spawn(async { tinyloop::run(async { 1 }) });
        let err = t.await.unwrap_err();
        match err {
            tinyloop::JoinError::Panicked(msg) => assert_nested_message(&msg, "run"),
            other => panic!("expected a panic, got {other:?}"),
        }
        assert_eq!(spawn(async { 2 }).await, Ok(2));
    });
}

/// The message names the function and says how to start a loop.
fn assert_outside_message(text: &str, function: &str) {
    let name = format!("`tinyloop::{function}`");
    assert!(text.contains(&name), "names {name}: {text}");
    assert!(text.contains("outside"), "says what is wrong: {text}");
    assert!(
        text.contains("tinyloop::run") || text.contains("block_on"),
        "says how to start a loop: {text}"
    );
}

#[test]
fn loop_functions_outside_a_loop_panic_naming_the_function() {
    type Case = (&'static str, Box<dyn FnOnce()>);
    let cases: Vec<Case> = vec![
        ("spawn", Box::new(|| drop(spawn(async {})))),
        ("spawn_named", Box::new(|| drop(spawn_named("x", async {})))),
        ("sleep", Box::new(|| drop(sleep(ms(1))))),
        (
            "sleep_until",
            Box::new(|| drop(sleep_until(Instant::now()))),
        ),
        ("call_soon", Box::new(|| drop(call_soon(|| {})))),
        ("call_later", Box::new(|| drop(call_later(ms(1), || {})))),
        ("call_at", Box::new(|| drop(call_at(Instant::now(), || {})))),
        (
            "now",
            Box::new(|| {
                let _ = now();
            }),
        ),
        ("to_thread", Box::new(|| drop(to_thread(|| 1)))),
        ("interval", Box::new(|| drop(interval(ms(10))))),
    ];
    for (function, call) in cases {
        let text = panic_text(call);
        assert_outside_message(&text, function);
    }
}

#[test]
fn to_thread_outside_a_loop_does_not_run_the_closure() {
    let (guard, watch) = util::drop_flag();
    let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let r = std::sync::Arc::clone(&ran);
    let caught = catch_unwind(AssertUnwindSafe(|| {
        drop(to_thread(move || {
            let _g = guard;
            r.store(true, std::sync::atomic::Ordering::SeqCst);
        }))
    }));
    assert!(caught.is_err());
    std::thread::sleep(ms(20));
    assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
    assert!(watch.is_dropped());
}

#[test]
fn introspection_outside_a_loop_is_empty_not_a_panic() {
    assert!(current_task().is_none());
    assert!(all_tasks().is_empty());
    // yield_now is lazy: making one outside a loop is fine.
    drop(yield_now());
}

#[test]
fn a_loop_works_after_misuse_outside_it() {
    let _ = panic_text(|| drop(spawn(async {})));
    assert_eq!(tinyloop::run(async { spawn(async { 4 }).await }), Ok(4));
}

#[test]
fn timeout_outside_a_loop_panics_naming_timeout() {
    let text = panic_text(|| drop(timeout(ms(1), async {})));
    assert_outside_message(&text, "timeout");
    assert!(
        !text.contains("sleep"),
        "names the call the user made: {text}"
    );
    let text = panic_text(|| drop(timeout_at(Instant::now(), async {})));
    assert_outside_message(&text, "timeout_at");
    assert!(
        !text.contains("sleep"),
        "names the call the user made: {text}"
    );
}
