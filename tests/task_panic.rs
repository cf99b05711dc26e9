//! Panics in tasks and in the main future (asyncio: exceptions in tasks, "Task exception
//! was never retrieved", and `run_until_complete` re-raising).

mod util;

use std::cell::RefCell;
use std::future::pending;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use tinyloop::{sleep, spawn, spawn_named, yield_now, JoinError, Loop};
use util::{child_value, drop_flag, ms, payload_text, run_child, vloop, vrun};

#[test]
fn a_panicking_task_gives_panicked_with_its_message() {
    vrun(async {
        let t = spawn(async {
            yield_now().await;
            panic!("task blew up");
        });
        let err = t.await.unwrap_err();
        assert_eq!(err, JoinError::Panicked("task blew up".to_string()));
        assert!(err.is_panic() && !err.is_cancelled());
        assert!(err.to_string().contains("task blew up"), "{err}");

        let n = 7;
        let t = spawn(async move {
            if n == 7 {
                panic!("formatted message {n}");
            }
            n
        });
        assert_eq!(
            t.await,
            Err(JoinError::Panicked("formatted message 7".to_string()))
        );
    });
}

#[test]
fn the_loop_keeps_running_other_tasks_after_a_panic() {
    vrun(async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let l = Rc::clone(&log);
        let steady = spawn(async move {
            for i in 0..3 {
                l.borrow_mut().push(i);
                sleep(ms(10)).await;
            }
            "steady"
        });
        let (guard, watch) = drop_flag();
        let crasher = spawn(async move {
            let _g = guard;
            sleep(ms(15)).await;
            panic!("crash at 15 ms");
        });
        assert!(crasher.await.unwrap_err().is_panic());
        assert!(
            watch.is_dropped(),
            "the panicking task's future was dropped"
        );
        assert_eq!(steady.await, Ok("steady"));
        assert_eq!(*log.borrow(), vec![0, 1, 2]);
    });
}

#[test]
fn a_panic_with_a_non_string_payload_is_still_panicked() {
    vrun(async {
        let t = spawn(async { std::panic::panic_any(42u32) });
        let err = t.await.unwrap_err();
        assert!(err.is_panic(), "{err:?}");
        assert!(!err.to_string().is_empty());
    });
}

#[test]
fn joinerror_display_reads_as_a_sentence() {
    let cancelled = JoinError::Cancelled.to_string();
    assert!(cancelled.contains("cancelled"), "{cancelled}");
    assert!(cancelled.split_whitespace().count() >= 4, "{cancelled}");
    let panicked = JoinError::Panicked("oops".into()).to_string();
    assert!(
        panicked.contains("panicked") && panicked.contains("oops"),
        "{panicked}"
    );
}

#[test]
fn a_panic_in_the_main_future_propagates_and_the_loop_drops_cleanly() {
    let lp = vloop();
    let (guard, watch) = drop_flag();
    let bystander = lp.spawn(async move {
        let _g = guard;
        pending::<()>().await;
    });
    let caught = catch_unwind(AssertUnwindSafe(|| {
        lp.block_on(async {
            yield_now().await;
            panic!("main future blew up");
        })
    }));
    let payload = caught.expect_err("the panic reached the caller");
    assert_eq!(payload_text(&*payload), "main future blew up");

    // The loop is still usable after the panic, and no longer marked as running.
    assert_eq!(lp.block_on(async { spawn(async { 3 }).await }), Ok(3));
    assert!(!watch.is_dropped());
    drop(lp);
    assert!(
        watch.is_dropped(),
        "dropping the loop dropped the bystander"
    );
    assert!(bystander.is_done());
    // A new loop runs fine on this thread afterwards.
    assert_eq!(tinyloop::run(async { 1 }), 1);
}

#[test]
fn a_panic_in_runs_future_propagates() {
    let (guard, watch) = drop_flag();
    let caught = catch_unwind(|| {
        tinyloop::run(async move {
            drop(spawn(async move {
                let _g = guard;
                pending::<()>().await;
            }));
            yield_now().await;
            panic!("run's future blew up");
        })
    });
    assert_eq!(payload_text(&*caught.unwrap_err()), "run's future blew up");
    assert!(
        watch.is_dropped(),
        "run's loop was dropped during the unwind"
    );
}

#[test]
fn a_panic_while_another_loop_exists_leaves_it_alone() {
    let outer = Loop::new();
    let t = outer.spawn(async { 5 });
    let caught = catch_unwind(AssertUnwindSafe(|| {
        vrun(async {
            panic!("inner");
        })
    }));
    assert!(caught.is_err());
    assert_eq!(outer.block_on(t), Ok(5));
}

// ----- A detached task's panic goes to stderr ----------------------------------------------

/// Set in the child process that [`a_detached_tasks_panic_is_reported_on_stderr`] starts.
const CHILD_ENV: &str = "TINYLOOP_TEST_DETACHED_PANIC_CHILD";

/// The child's half: panics in two detached tasks, prints where they were spawned on stdout.
fn detached_panic_child() {
    // Keep stderr to what the loop itself writes.
    std::panic::set_hook(Box::new(|_| {}));
    let after = tinyloop::run(async {
        let named = spawn_named("doomed-worker", async {
            yield_now().await;
            panic!("detached boom 17");
        });
        println!("NAMED_AT={}", named.info().unwrap().spawned_at);
        drop(named);
        let anonymous = spawn(async { panic!("anonymous boom") });
        println!("ANON_NAME={}", anonymous.name());
        println!("ANON_AT={}", anonymous.info().unwrap().spawned_at);
        drop(anonymous);
        sleep(ms(1)).await;
        spawn(async { "still running" }).await.unwrap()
    });
    println!("AFTER={after}");
}

#[test]
fn a_detached_tasks_panic_is_reported_on_stderr() {
    if std::env::var_os(CHILD_ENV).is_some() {
        detached_panic_child();
        return;
    }
    let (ok, stdout, stderr) = run_child("a_detached_tasks_panic_is_reported_on_stderr", CHILD_ENV);
    assert!(ok, "child failed\n{stdout}\n{stderr}");
    let value = |key: &str| child_value(&stdout, key);
    assert_eq!(value("AFTER"), "still running", "the loop carried on");

    let named_at = value("NAMED_AT");
    assert!(named_at.contains("tests/task_panic.rs:"), "{named_at}");
    let report = stderr
        .lines()
        .find(|l| l.contains("detached boom 17"))
        .unwrap_or_else(|| panic!("the panic was not reported on stderr:\n{stderr}"));
    assert!(report.contains("doomed-worker"), "name missing: {report}");
    assert!(
        report.contains(&named_at),
        "spawn location missing: {report}"
    );

    let (anon_name, anon_at) = (value("ANON_NAME"), value("ANON_AT"));
    assert!(anon_name.starts_with("Task-"), "{anon_name}");
    let report = stderr
        .lines()
        .find(|l| l.contains("anonymous boom"))
        .unwrap_or_else(|| panic!("the panic was not reported on stderr:\n{stderr}"));
    assert!(report.contains(&anon_name), "name missing: {report}");
    assert!(
        report.contains(&anon_at),
        "spawn location missing: {report}"
    );
}

#[test]
fn a_joined_tasks_panic_is_not_reported_twice() {
    // The panic is the awaiting code's to handle; nothing is lost and nothing needs a report.
    vrun(async {
        let t = spawn(async { panic!("kept for the handle") });
        yield_now().await;
        assert!(t.is_done());
        assert!(t.await.unwrap_err().is_panic());
    });
}

// ----- A held handle that never returns its panic ------------------------------------------

/// Set in the child process that [`an_unobserved_panic_is_reported_once_when_its_handle_goes`]
/// starts.
const UNOBSERVED_ENV: &str = "TINYLOOP_TEST_UNOBSERVED_PANIC_CHILD";

/// The child's half: four tasks panic while their handles are held; two handles are dropped
/// unawaited (one inside the loop, one after `run` returned), two give the panic back.
fn unobserved_panic_child() {
    std::panic::set_hook(Box::new(|_| {}));
    // `run` hands back a Task, on purpose: it is dropped only after the loop is gone.
    #[allow(clippy::async_yields_async)]
    let late = tinyloop::run(async {
        let dropped = spawn_named("held-then-dropped", async { panic!("unobserved boom 1") });
        println!("DROPPED_AT={}", dropped.info().unwrap().spawned_at);
        let late = spawn_named("outlives-the-loop", async { panic!("unobserved boom 2") });
        let awaited = spawn(async { panic!("observed boom 3") });
        let waited = spawn(async { panic!("observed boom 4") });
        sleep(ms(1)).await;
        assert!(dropped.is_done());
        println!("BEFORE_DROP");
        drop(dropped);
        println!("AFTER_DROP");
        assert!(awaited.await.unwrap_err().is_panic());
        let (done, _) = tinyloop::wait([waited], tinyloop::ReturnWhen::FirstException).await;
        for task in done {
            assert!(task.await.unwrap_err().is_panic());
        }
        late
    });
    println!("RUN_RETURNED");
    drop(late);
    println!("LATE_DROPPED");
}

#[test]
fn an_unobserved_panic_is_reported_once_when_its_handle_goes() {
    if std::env::var_os(UNOBSERVED_ENV).is_some() {
        unobserved_panic_child();
        return;
    }
    let (ok, stdout, stderr) = run_child(
        "an_unobserved_panic_is_reported_once_when_its_handle_goes",
        UNOBSERVED_ENV,
    );
    assert!(ok, "child failed\n{stdout}\n{stderr}");
    let count = |needle: &str| stderr.lines().filter(|l| l.contains(needle)).count();
    assert_eq!(count("unobserved boom 1"), 1, "{stderr}");
    assert_eq!(count("unobserved boom 2"), 1, "{stderr}");
    assert_eq!(
        count("observed boom 3"),
        0,
        "awaited panics are the caller's: {stderr}"
    );
    assert_eq!(
        count("observed boom 4"),
        0,
        "awaited panics are the caller's: {stderr}"
    );
    let report = stderr
        .lines()
        .find(|l| l.contains("unobserved boom 1"))
        .unwrap();
    assert!(
        report.contains("held-then-dropped"),
        "name missing: {report}"
    );
    let at = child_value(&stdout, "DROPPED_AT");
    assert!(report.contains(&at), "spawn location missing: {report}");
    let report = stderr
        .lines()
        .find(|l| l.contains("unobserved boom 2"))
        .unwrap();
    assert!(
        report.contains("outlives-the-loop"),
        "name missing: {report}"
    );
    for marker in ["BEFORE_DROP", "AFTER_DROP", "RUN_RETURNED", "LATE_DROPPED"] {
        assert!(stdout.contains(marker), "{marker} missing:\n{stdout}");
    }
}
