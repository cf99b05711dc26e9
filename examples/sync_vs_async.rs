//! # Sync vs async: three one-second tasks, 3 s one way and 1 s the other
//!
//! Retells section 2 of the tutorial, "Sync vs async: understanding it in one picture"
//! (2.1 "Code comparison", 2.2 "The core principle: the event loop").
//!
//! The sync version calls `std::thread::sleep`, which blocks the whole thread: task B cannot
//! start until task A has finished sleeping, so three 1 s tasks take 3 s. The async version
//! awaits `tinyloop::sleep`, which only parks the current task: the loop arms a timer and goes
//! on to start the next task, so all three sleep at the same time and the total is about the
//! slowest task, 1 s.
//!
//! ```text
//! cargo run --example sync_vs_async
//! cargo run --example sync_vs_async -- --scale 0.05   # every delay x 0.05 (what CI runs)
//! ```
//!
//! To see the loop itself, open `examples/mini_loop.rs` (the idea in one file) and then
//! `src/runtime/core.rs` (`run_once`, the real turn of the loop).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

// ---------- the sync version ----------

/// A blocking I/O task: `time.sleep(delay)` in the tutorial.
fn sync_task(name: &str, delay: Duration) -> String {
    println!("[sync] {name} started");
    std::thread::sleep(delay); // blocks the thread: nothing else can happen meanwhile
    println!("[sync] {name} finished");
    format!("{name} result")
}

fn run_sync() -> Duration {
    let start = Instant::now();
    let _a = sync_task("Task A", secs(1.0));
    let _b = sync_task("Task B", secs(1.0));
    let _c = sync_task("Task C", secs(1.0));
    let total = start.elapsed();
    println!("sync total: {:.3} s", total.as_secs_f64());
    total
}

// ---------- the async version ----------

/// A non-blocking I/O task: `await asyncio.sleep(delay)` in the tutorial.
async fn async_task(name: &str, delay: Duration) -> String {
    println!("[async] {name} started");
    tinyloop::sleep(delay).await; // parks this task only; the loop runs the others
    println!("[async] {name} finished");
    format!("{name} result")
}

async fn run_async() -> Duration {
    let start = Instant::now();
    // asyncio.gather(async_task("A", 1), async_task("B", 1), async_task("C", 1))
    let results = tinyloop::gather([
        async_task("Task A", secs(1.0)),
        async_task("Task B", secs(1.0)),
        async_task("Task C", secs(1.0)),
    ])
    .await;
    let total = start.elapsed();
    println!("results: {results:?}");
    println!("async total: {:.3} s", total.as_secs_f64());
    total
}

fn main() {
    let sync_total = run_sync();
    println!();
    let async_total = tinyloop::run(run_async());
    println!();
    println!(
        "speed-up: {:.1}x (sync waits for each task in turn; async waits for all at once)",
        sync_total.as_secs_f64() / async_total.as_secs_f64()
    );
}

// ---------- flags ----------

/// `--scale F` multiplies every delay (default 1.0; the tests run with 0.05).
fn scale() -> f64 {
    static SCALE: OnceLock<f64> = OnceLock::new();
    *SCALE.get_or_init(|| {
        let args: Vec<String> = std::env::args().collect();
        match args.iter().position(|a| a == "--scale") {
            Some(i) => args
                .get(i + 1)
                .and_then(|v| v.parse().ok())
                .expect("--scale takes a number, e.g. --scale 0.05"),
            None => 1.0,
        }
    })
}

/// The tutorial's `s` seconds, times `--scale`.
fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s * scale())
}
