//! # Do's and don'ts: what blocking the loop costs, and what a forgotten `.await` does
//!
//! Retells section 7 of the tutorial, "Async programming best practices" (7.1 "DO", 7.2
//! "DON'T", 7.3 "Checklist"), with measurements instead of warnings.
//!
//! 1. **Don't block the loop.** The loop runs one task at a time on one thread; a task hands
//!    control back only at an `.await` that has to wait. `std::thread::sleep` (or a blocking
//!    HTTP client, a blocking file read, a long computation) inside a task keeps it, and
//!    *every other task* waits: three 0.5 s waits take 1.5 s, and a heartbeat task meant to
//!    tick every 0.1 s is silent for the whole time. `tinyloop::sleep(..).await` fixes it for
//!    waiting; `tinyloop::to_thread(..)` (asyncio's `to_thread`) fixes it for blocking work
//!    you cannot rewrite, by running it on a worker thread while the loop carries on.
//! 2. **Don't forget `.await`.** Python creates the coroutine object, never runs it, and warns
//!    "coroutine was never awaited" at run time. Rust warns at *compile* time
//!    (`unused_must_use`: "futures do nothing unless you `.await` or poll them"), and, as in
//!    Python, nothing runs: below a future is created and dropped, and its body never executes.
//! 3. **Don't await in a loop when the calls are independent**: gather them.
//! 4. **Don't swallow cancellation.** asyncio delivers `CancelledError` into the coroutine;
//!    Rust cancels by dropping the future, so cleanup lives in `Drop`, which always runs.
//!
//! ```text
//! cargo run --example dos_and_donts
//! cargo run --example dos_and_donts -- --scale 0.05   # every delay x 0.05
//! ```

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tinyloop::{gather, spawn, JoinError};

// ---------- 1. blocking the loop ----------

/// Ticks every 0.1 s until `stop` is set; returns the longest gap between two ticks.
async fn heartbeat(stop: Rc<Cell<bool>>) -> Duration {
    let tick = secs(0.1);
    let mut longest = Duration::ZERO;
    while !stop.get() {
        let asked = Instant::now();
        tinyloop::sleep(tick).await;
        longest = longest.max(asked.elapsed());
    }
    longest
}

/// Runs `work` while a heartbeat ticks; prints the total time and the heartbeat's longest gap.
async fn measure<F: Future>(label: &str, work: F) {
    let stop = Rc::new(Cell::new(false));
    let beat = spawn(heartbeat(Rc::clone(&stop)));
    tinyloop::yield_now().await; // let the heartbeat start its first tick
    let start = Instant::now();
    work.await;
    let total = start.elapsed();
    stop.set(true);
    let longest = beat.await.expect("the heartbeat never panics");
    println!(
        "  {label:<34} total {:.3} s   heartbeat's longest gap {:.3} s",
        total.as_secs_f64(),
        longest.as_secs_f64()
    );
}

async fn dont_block_the_loop() {
    println!("== DON'T block the loop: three tasks each wait 0.5 s; a heartbeat ticks every 0.1 s");
    let wait = secs(0.5);
    measure(
        "blocking: std::thread::sleep",
        gather((0..3).map(|_| async move {
            std::thread::sleep(wait); // ❌ the whole loop stops here
        })),
    )
    .await;
    measure(
        "async: tinyloop::sleep().await",
        gather((0..3).map(|_| async move {
            tinyloop::sleep(wait).await; // ✅ only this task waits
        })),
    )
    .await;
    measure(
        "to_thread: blocking on a worker",
        gather((0..3).map(|_| async move {
            // ✅ for blocking work you cannot rewrite: off the loop's thread
            tinyloop::to_thread(move || std::thread::sleep(wait))
                .await
                .expect("sleeping never panics");
        })),
    )
    .await;
    println!("  (a gap longer than the 0.1 s tick is time the loop was stuck)");
}

// ---------- 2. forgetting .await ----------

async fn send_reminder(sent: Rc<Cell<u32>>) {
    sent.set(sent.get() + 1);
    println!("  send_reminder ran");
}

/// ❌ The mistake, compiled. rustc flags both lines with `unused_must_use`; the lint is
/// allowed here only so that the lesson builds without warnings.
#[allow(unused_must_use)]
fn forget_the_await(sent: &Rc<Cell<u32>>) {
    tinyloop::sleep(secs(1.0)); // builds a timer future and drops it: no waiting
    send_reminder(Rc::clone(sent)); // builds the future and drops it: the body never runs
}

async fn dont_forget_await() {
    println!("== DON'T forget .await");
    println!("  rustc says: warning: unused implementer of `Future` that must be used");
    println!("              = note: futures do nothing unless you `.await` or poll them");
    let sent = Rc::new(Cell::new(0));
    let start = Instant::now();
    forget_the_await(&sent);
    for _ in 0..10 {
        tinyloop::yield_now().await; // give the loop every chance to run it: it won't
    }
    println!(
        "  without .await: waited {:.3} s, send_reminder ran {} times",
        start.elapsed().as_secs_f64(),
        sent.get()
    );
    send_reminder(Rc::clone(&sent)).await;
    println!("  with .await: send_reminder ran {} time", sent.get());
}

// ---------- 3. awaiting in a loop ----------

async fn fetch(url: u32) -> u32 {
    tinyloop::sleep(secs(0.1)).await;
    url
}

async fn dont_await_in_a_loop() {
    println!("== DON'T await independent calls one by one in a loop");
    let start = Instant::now();
    for url in 0..5 {
        let _ = fetch(url).await; // one after another
    }
    println!(
        "  for-loop of awaits: 5 calls in {:.3} s",
        start.elapsed().as_secs_f64()
    );
    let start = Instant::now();
    let _ = gather((0..5).map(fetch)).await;
    println!(
        "  gather:             5 calls in {:.3} s",
        start.elapsed().as_secs_f64()
    );
}

// ---------- 4. cancellation and cleanup ----------

struct Connection;

impl Drop for Connection {
    fn drop(&mut self) {
        println!("  cleaning up resources... (Drop runs when the task is cancelled)");
    }
}

async fn handle_cancellation() {
    println!("== DO clean up on cancellation: in Rust, cleanup lives in Drop");
    let worker = spawn(async {
        let _conn = Connection;
        loop {
            tinyloop::sleep(secs(0.1)).await;
        }
    });
    tinyloop::sleep(secs(0.25)).await;
    worker.cancel();
    match worker.await {
        Err(JoinError::Cancelled) => println!("  worker ended: cancelled"),
        other => println!("  worker ended: {other:?}"),
    }
}

// ---------- 7.3 the checklist ----------

fn checklist() {
    println!("== the checklist, in tinyloop");
    for line in [
        "entry point:         tinyloop::run(main())",
        "waiting:             tinyloop::sleep(d).await, never std::thread::sleep",
        "blocking work:       tinyloop::to_thread(f).await",
        "independent calls:   gather(..) / as_completed(..), not a loop of awaits",
        "rate limits:         let _permit = sem.acquire().await;",
        "every network call:  tinyloop::timeout(d, call).await",
        "partial failure:     gather over Result outputs (return_exceptions=True)",
        "async with:          a guard value whose Drop releases the resource",
    ] {
        println!("  - {line}");
    }
}

fn main() {
    tinyloop::run(async {
        dont_block_the_loop().await;
        dont_forget_await().await;
        dont_await_in_a_loop().await;
        handle_cancellation().await;
    });
    checklist();
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

/// `s` seconds, times `--scale`.
fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s * scale())
}
