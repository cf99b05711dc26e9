//! Debug mode (asyncio's `loop.set_debug(True)` and `slow_callback_duration`): a poll that
//! holds the loop too long is reported on stderr with the task's name and spawn location.

mod util;

use std::thread;

use tinyloop::{spawn_named, yield_now, Loop};
use util::{child_value, ms, run_child};

const CHILD_ENV: &str = "TINYLOOP_TEST_SLOW_POLL_CHILD";

fn slow_poll_child() {
    // The threshold is wide (250 ms) because the test also says the quick task is *not*
    // reported: a busy machine may pause this thread in the middle of a quick poll.
    let lp = Loop::builder()
        .debug(true)
        .slow_poll_threshold(ms(250))
        .build()
        .unwrap();
    lp.block_on(async {
        let quick = spawn_named("quick-one", async {
            yield_now().await;
        });
        let slow = spawn_named("hog", async {
            // Blocks the whole loop: exactly what debug mode is there to point out.
            thread::sleep(ms(300));
        });
        println!("HOG_AT={}", slow.info().unwrap().spawned_at);
        quick.await.unwrap();
        slow.await.unwrap();
    });
}

#[test]
fn a_slow_poll_is_reported_in_debug_mode() {
    if std::env::var_os(CHILD_ENV).is_some() {
        slow_poll_child();
        return;
    }
    let (ok, stdout, stderr) = run_child("a_slow_poll_is_reported_in_debug_mode", CHILD_ENV);
    assert!(ok, "child failed\n{stdout}\n{stderr}");
    let hog_at = child_value(&stdout, "HOG_AT");
    let report = stderr
        .lines()
        .find(|l| l.contains("hog"))
        .unwrap_or_else(|| panic!("no slow-poll report on stderr:\n{stderr}"));
    assert!(report.contains(&hog_at), "spawn location missing: {report}");
    assert!(
        !stderr.contains("quick-one"),
        "a quick task is not reported:\n{stderr}"
    );
}

const QUIET_ENV: &str = "TINYLOOP_TEST_NOT_DEBUG_CHILD";

#[test]
fn without_debug_mode_nothing_is_reported() {
    if std::env::var_os(QUIET_ENV).is_some() {
        Loop::new().block_on(async {
            spawn_named("hog", async { thread::sleep(ms(120)) })
                .await
                .unwrap();
        });
        return;
    }
    let (ok, stdout, stderr) = run_child("without_debug_mode_nothing_is_reported", QUIET_ENV);
    assert!(ok, "child failed\n{stdout}\n{stderr}");
    assert!(
        !stderr.contains("hog"),
        "reported without debug mode:\n{stderr}"
    );
}
