//! Ctrl-C, like `asyncio.run`: each case runs in a child process that sends itself SIGINT.
//!
//! This test has no libtest harness (`harness = false` in Cargo.toml): `tinyloop::run`
//! takes over Ctrl-C only on the process's main thread, as asyncio's `Runner` does, and
//! libtest runs tests on other threads.

use std::process::{Command, Output};
use std::time::Duration;

use signal_hook::consts::SIGINT;
use signal_hook::low_level::raise;

const CASE_ENV: &str = "TINYLOOP_CTRL_C_CASE";

/// Prints when dropped, so the parent can see which destructors ran.
struct Noisy(&'static str);

impl Drop for Noisy {
    fn drop(&mut self) {
        println!("dropped: {}", self.0);
    }
}

fn child_case(case: &str) {
    // A shell without job control starts background commands (`cargo test &`) with SIGINT
    // ignored, and an ignored disposition is inherited through exec. These cases are about
    // what happens from a terminal, where SIGINT starts with its default action: restore it.
    // SAFETY: setting a signal's disposition to the default, before any thread is spawned.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_DFL);
    }
    match case {
        "first_ctrl_c_cancels_run" => {
            tinyloop::run(async {
                let _guard = Noisy("main future");
                let _task = tinyloop::spawn(async {
                    let _guard = Noisy("task");
                    std::future::pending::<()>().await;
                });
                tinyloop::sleep(Duration::from_millis(5)).await;
                raise(SIGINT).unwrap();
                tinyloop::sleep(Duration::from_secs(30)).await;
                println!("not interrupted");
            });
        }
        "builder_run_cancels_on_first_ctrl_c" => {
            // `LoopBuilder::run` is `run` with options: the same Ctrl-C handling and shutdown.
            let _ = tinyloop::Loop::builder().debug(true).run(async {
                let _guard = Noisy("main future");
                let _task = tinyloop::spawn(async {
                    let _guard = Noisy("task");
                    std::future::pending::<()>().await;
                });
                tinyloop::sleep(Duration::from_millis(5)).await;
                raise(SIGINT).unwrap();
                tinyloop::sleep(Duration::from_secs(30)).await;
                println!("not interrupted");
            });
            println!("builder run returned");
        }
        "second_ctrl_c_exits_a_stuck_loop" => {
            tinyloop::run(async {
                raise(SIGINT).unwrap();
                raise(SIGINT).unwrap(); // the loop never got to handle the first one
                std::thread::sleep(Duration::from_secs(30));
                println!("not interrupted");
            });
        }
        "ctrl_c_futures_take_the_signal" => {
            tinyloop::run(async {
                for round in 1..=2 {
                    let ctrl_c = tinyloop::signal::ctrl_c();
                    drop(tinyloop::spawn(async {
                        tinyloop::sleep(Duration::from_millis(5)).await;
                        raise(SIGINT).unwrap();
                    }));
                    ctrl_c.await.unwrap();
                    println!("ctrl-c {round} taken");
                }
            });
            println!("run returned");
        }
        "nobody_waiting_means_the_default" => {
            let lp = tinyloop::Loop::new();
            lp.block_on(async {
                // Registered once, then no `ctrl_c()` is alive when the signal comes.
                drop(tinyloop::signal::ctrl_c());
                raise(SIGINT).unwrap();
                tinyloop::sleep(Duration::from_millis(200)).await;
                println!("not interrupted");
            });
        }
        "run_off_the_main_thread_leaves_sigint_alone" => {
            std::thread::spawn(|| {
                tinyloop::run(async {
                    raise(SIGINT).unwrap();
                    tinyloop::sleep(Duration::from_millis(200)).await;
                    println!("not interrupted");
                });
            })
            .join()
            .unwrap();
        }
        "a_busy_loop_takes_ctrl_c" => {
            // Never idle, no socket: the loop never blocks and has nothing to poll for but
            // the Ctrl-C self-pipe, which it must still read.
            tinyloop::run(async {
                let _guard = Noisy("main future");
                let _spinner = tinyloop::spawn(async {
                    let _guard = Noisy("task");
                    spin().await;
                });
                raise(SIGINT).unwrap();
                spin_for(Duration::from_secs(10)).await;
                println!("not interrupted");
            });
        }
        "ctrl_c_reaches_a_busy_loop" => {
            tinyloop::run(async {
                let _spinner = tinyloop::spawn(spin());
                let ctrl_c = tinyloop::signal::ctrl_c();
                raise(SIGINT).unwrap();
                match tinyloop::timeout(Duration::from_secs(10), ctrl_c).await {
                    Ok(taken) => taken.unwrap(),
                    Err(_) => println!("ctrl-c never taken"),
                }
            });
            println!("run returned");
        }
        other => panic!("unknown case {other}"),
    }
}

/// Keeps the loop busy for ever: a task that yields in a loop.
async fn spin() {
    loop {
        tinyloop::yield_now().await;
    }
}

/// Keeps the loop busy for `limit` of wall time.
async fn spin_for(limit: Duration) {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        tinyloop::yield_now().await;
    }
}

fn run_case(case: &str) -> Output {
    Command::new(std::env::current_exe().unwrap())
        .env(CASE_ENV, case)
        .output()
        .unwrap()
}

#[cfg(unix)]
fn killed_by_sigint(out: &Output) -> bool {
    use std::os::unix::process::ExitStatusExt;
    out.status.signal() == Some(SIGINT)
}

fn check(case: &str, out: &Output) -> Result<(), String> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let fail = |why: &str| {
        Err(format!(
            "{why}\n  status: {:?}\n  stdout: {stdout}\n  stderr: {stderr}",
            out.status
        ))
    };
    match case {
        "first_ctrl_c_cancels_run"
        | "builder_run_cancels_on_first_ctrl_c"
        | "a_busy_loop_takes_ctrl_c" => {
            if out.status.success() || stdout.contains("builder run returned") {
                return fail("run should panic");
            }
            if !stderr.contains("interrupted by Ctrl-C") {
                return fail("no 'interrupted by Ctrl-C' message");
            }
            if !stdout.contains("dropped: main future") || !stdout.contains("dropped: task") {
                return fail("destructors did not run");
            }
            if stdout.contains("not interrupted") {
                return fail("the main future went on");
            }
        }
        "second_ctrl_c_exits_a_stuck_loop" => {
            if out.status.code() != Some(130) {
                return fail("expected exit status 130");
            }
        }
        "ctrl_c_reaches_a_busy_loop" => {
            if !out.status.success()
                || stdout.contains("never taken")
                || !stdout.contains("run returned")
            {
                return fail("ctrl_c() should take the signal in a busy loop");
            }
        }
        "ctrl_c_futures_take_the_signal" => {
            if !out.status.success()
                || !stdout.contains("ctrl-c 1 taken")
                || !stdout.contains("ctrl-c 2 taken")
                || !stdout.contains("run returned")
            {
                return fail("ctrl_c() should take both signals and run should return");
            }
        }
        "nobody_waiting_means_the_default" | "run_off_the_main_thread_leaves_sigint_alone" => {
            if !killed_by_sigint(out) || stdout.contains("not interrupted") {
                return fail("SIGINT should have ended the process as by default");
            }
        }
        _ => unreachable!(),
    }
    Ok(())
}

fn main() {
    if let Ok(case) = std::env::var(CASE_ENV) {
        child_case(&case);
        return;
    }
    let cases = [
        "first_ctrl_c_cancels_run",
        "builder_run_cancels_on_first_ctrl_c",
        "second_ctrl_c_exits_a_stuck_loop",
        "ctrl_c_futures_take_the_signal",
        "nobody_waiting_means_the_default",
        "run_off_the_main_thread_leaves_sigint_alone",
        "a_busy_loop_takes_ctrl_c",
        "ctrl_c_reaches_a_busy_loop",
    ];
    let mut failed = 0;
    for case in cases {
        match check(case, &run_case(case)) {
            Ok(()) => println!("test {case} ... ok"),
            Err(why) => {
                failed += 1;
                println!("test {case} ... FAILED\n{why}");
            }
        }
    }
    println!("{} passed, {failed} failed", cases.len() - failed);
    if failed > 0 {
        std::process::exit(1);
    }
}
