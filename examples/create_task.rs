//! # Running a coroutine, and `create_task`: start work now, collect it later
//!
//! Retells section 3 of the tutorial, "async/await: the core syntax": 3.1 "Defining and
//! running coroutines" and 3.2 "create_task: creating concurrent tasks".
//!
//! * `asyncio.run(hello())` is [`tinyloop::run`]: it builds a loop, runs the future to the
//!   end, and returns its output. An `async fn` is asyncio's `async def`: calling it only
//!   builds a future, and nothing runs until it is awaited or handed to a loop.
//! * `asyncio.create_task(coro)` is [`tinyloop::spawn`]: the future becomes a task the loop
//!   owns, and you get a [`tinyloop::Task`] handle to await its result later. As in asyncio,
//!   the task is scheduled at once but starts running only when the spawning task gives the
//!   loop control, at its first `.await`: watch "tasks started, waiting..." print before any
//!   task says a word.
//! * The tutorial warns that `asyncio.run()` cannot be called inside a running loop. Neither
//!   can `tinyloop::run`: it panics with a message saying what to do instead (shown below).
//!
//! ```text
//! cargo run --example create_task
//! cargo run --example create_task -- --scale 0.05   # every delay x 0.05
//! ```

use std::sync::OnceLock;
use std::time::{Duration, Instant};

// ---------- 3.1 defining and running a coroutine ----------

async fn hello() -> &'static str {
    println!("Hello");
    tinyloop::sleep(secs(1.0)).await; // `await` another future
    println!("World");
    "Done"
}

// ---------- 3.2 create_task ----------

async fn fetch_data(source: &'static str, delay: f64) -> String {
    println!("fetching data from {source}...");
    tinyloop::sleep(secs(delay)).await;
    println!("{source}: data received");
    format!("{source}_data")
}

async fn main_3_2() {
    let start = Instant::now();
    // Each spawn schedules a task; none of them has run yet.
    let task1 = tinyloop::spawn(fetch_data("Database A", 2.0));
    let task2 = tinyloop::spawn(fetch_data("Database B", 1.0));
    let task3 = tinyloop::spawn(fetch_data("API-C", 1.5));

    // "You can do other things meanwhile."
    println!("tasks started, waiting...");

    // Awaiting a task gives `Result<T, JoinError>`: Err if it was cancelled or panicked.
    let result1 = task1.await.expect("task 1 neither panics nor is cancelled");
    let result2 = task2.await.expect("task 2 neither panics nor is cancelled");
    let result3 = task3.await.expect("task 3 neither panics nor is cancelled");
    println!("results: {result1}, {result2}, {result3}");
    println!(
        "3.2 total: {:.3} s (the slowest task, 2 s scaled; not 2 + 1 + 1.5)",
        start.elapsed().as_secs_f64()
    );
}

fn main() {
    println!("== 3.1 asyncio.run(hello()) -> tinyloop::run(hello())");
    let result = tinyloop::run(hello());
    println!("{result}");

    println!();
    println!("== 3.2 asyncio.create_task -> tinyloop::spawn");
    tinyloop::run(main_3_2());

    println!();
    println!("== calling run inside a running loop");
    tinyloop::run(async {
        let quiet = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let nested = std::panic::catch_unwind(|| tinyloop::run(async {}));
        std::panic::set_hook(quiet);
        let payload = nested.expect_err("a nested run always panics");
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .unwrap_or("(no message)");
        println!("nested tinyloop::run panicked: {message}");
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

/// The tutorial's `s` seconds, times `--scale`.
fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s * scale())
}
