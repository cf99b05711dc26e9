//! Running a test in a child process, to see what it writes to stderr or how it exits.
//!
//! The test binary runs itself again with the test's name as the filter and
//! `TINYLOOP_CHILD` set to that name; the test checks [`is_child`] first and, in the child,
//! only plays its scenario.

#![allow(dead_code)]

use std::process::{Command, Output};

const CHILD_ENV: &str = "TINYLOOP_CHILD";

/// Whether this process is the child started by [`run_child`] for `test`.
pub fn is_child(test: &str) -> bool {
    std::env::var(CHILD_ENV).as_deref() == Ok(test)
}

/// Runs the test `test` of this binary alone in a child process and returns its output.
pub fn run_child(test: &str) -> Output {
    let exe = std::env::current_exe().expect("the test binary's path");
    Command::new(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, test)
        .output()
        .expect("the test binary runs again")
}

/// The child's stderr, as text.
pub fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
