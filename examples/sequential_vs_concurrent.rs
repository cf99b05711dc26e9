//! # Sequential awaits vs concurrent awaits
//!
//! Retells section 3.3 of the tutorial, "Sequential await vs concurrent await".
//!
//! Writing `async` is not enough: three `.await`s in a row still wait one after the other,
//! 3 s for three 1 s calls, exactly like sync code. The calls overlap only when something runs
//! them together: `spawn` each one first and await the tasks afterwards (1 s), or hand them all
//! to `gather` (1 s, and the shortest to write).
//!
//! A fourth version shows a trap Rust shares with Python: building the futures first and
//! awaiting them in a loop is still sequential. A future, like a Python coroutine object, does
//! nothing until it is polled; only `spawn` (asyncio's `create_task`) or `gather` gets it going.
//!
//! The tutorial's 1 s calls take 0.5 s here, so the four versions run in 4 s, not 8.
//!
//! ```text
//! cargo run --example sequential_vs_concurrent
//! cargo run --example sequential_vs_concurrent -- --scale 0.05   # every delay x 0.05
//! ```

use std::future::Future;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

async fn fetch_data(source: String, delay: f64) -> String {
    tinyloop::sleep(secs(delay)).await;
    format!("{source}_data")
}

/// ❌ `async`, but one call at a time: 3 s (halved: 1.5 s).
async fn bad_example() -> Vec<String> {
    let r1 = fetch_data("API-1".into(), 1.0).await; // wait 1 s
    let r2 = fetch_data("API-2".into(), 1.0).await; // then another 1 s
    let r3 = fetch_data("API-3".into(), 1.0).await; // then another 1 s
    vec![r1, r2, r3]
}

/// ✅ Spawn every call first, then collect: 1 s (halved: 0.5 s).
async fn good_example() -> Vec<String> {
    let tasks: Vec<_> = (1..=3)
        .map(|i| tinyloop::spawn(fetch_data(format!("API-{i}"), 1.0)))
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        // By now all three are sleeping side by side; this only waits for each to finish.
        results.push(task.await.expect("fetch_data never panics"));
    }
    results
}

/// ✅ Shorter still: `gather`: 1 s (halved: 0.5 s).
async fn better_example() -> Vec<String> {
    tinyloop::gather([
        fetch_data("API-1".into(), 1.0),
        fetch_data("API-2".into(), 1.0),
        fetch_data("API-3".into(), 1.0),
    ])
    .await
}

/// ❌ The lazy-future trap: the futures exist, but each starts only when awaited: 3 s
/// (halved: 1.5 s).
async fn lazy_example() -> Vec<String> {
    let futures: Vec<_> = (1..=3)
        .map(|i| fetch_data(format!("API-{i}"), 1.0))
        .collect();
    let mut results = Vec::new();
    for fut in futures {
        results.push(fut.await);
    }
    results
}

async fn timed<F: Future<Output = Vec<String>>>(label: &str, fut: F) {
    let start = Instant::now();
    let results = fut.await;
    println!(
        "{label:<34} {:>7.3} s  {results:?}",
        start.elapsed().as_secs_f64()
    );
}

fn main() {
    tinyloop::run(async {
        timed("bad: await one by one", bad_example()).await;
        timed("good: spawn all, then await", good_example()).await;
        timed("better: gather", better_example()).await;
        timed("trap: build futures, await in loop", lazy_example()).await;
    });
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

/// The tutorial's `s` seconds, halved, times `--scale`.
fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s * 0.5 * scale())
}
