//! # Rate limiting with a `Semaphore`: 100 requests, never more than 5 in flight
//!
//! Retells section 5.2 of the tutorial, "Semaphore: controlling concurrency".
//!
//! A semaphore holds a number of permits. `sem.acquire().await` takes one, waiting in line
//! (first come, first served) when there are none left; dropping the permit gives it back and
//! lets the next waiter in. asyncio writes `async with semaphore:`; Rust writes
//! `let _permit = semaphore.acquire().await;` and the permit goes back when `_permit` goes out
//! of scope, also when the request fails or is cancelled.
//!
//! All 100 requests are started at once, with `gather`; the semaphore alone keeps at most 5 of
//! them talking to the "API" at any moment. Each request records how many are in flight while
//! it runs, and the largest number seen is printed: it must be 5. For contrast, the same 100
//! requests without the semaphore all go out at once.
//!
//! ```text
//! cargo run --example semaphore_rate_limit
//! cargo run --example semaphore_rate_limit -- --scale 0.05   # every delay x 0.05
//! ```

use std::cell::Cell;
use std::rc::Rc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tinyloop::{gather, Semaphore};

const REQUESTS: u32 = 100;
const LIMIT: usize = 5;

/// Counts requests in flight and remembers the most seen at once.
#[derive(Default)]
struct InFlight {
    now: Cell<usize>,
    max: Cell<usize>,
}

/// The pretend API: answers after 50-150 ms (a different latency per URL).
async fn fetch_url(url: String, in_flight: &InFlight) -> String {
    in_flight.now.set(in_flight.now.get() + 1);
    in_flight
        .max
        .set(in_flight.max.get().max(in_flight.now.get()));
    let latency_ms = 50 + (url.len() as u64 * 37 + url.as_bytes()[url.len() - 1] as u64 * 11) % 101;
    tinyloop::sleep(secs(latency_ms as f64 / 1000.0)).await;
    in_flight.now.set(in_flight.now.get() - 1);
    format!("200 OK from {url}")
}

/// `async with semaphore: return await fetch_url(url)`
async fn rate_limited_request(
    url: String,
    semaphore: Semaphore,
    in_flight: Rc<InFlight>,
) -> String {
    let _permit = semaphore.acquire().await; // wait for a free slot
    fetch_url(url, &in_flight).await
} // `_permit` dropped: the slot goes to the next request in line

fn urls() -> impl Iterator<Item = String> {
    (0..REQUESTS).map(|i| format!("https://api.example.com/endpoint_{i}"))
}

fn main() {
    tinyloop::run(async {
        let semaphore = Semaphore::new(LIMIT);
        let in_flight = Rc::new(InFlight::default());

        // Show the semaphore's state once everything has queued up behind it.
        let observer = {
            let semaphore = semaphore.clone();
            tinyloop::spawn(async move {
                tinyloop::sleep(secs(0.02)).await;
                println!("  a moment after the start: {semaphore:?}");
            })
        };

        let start = Instant::now();
        let results = gather(
            urls().map(|url| rate_limited_request(url, semaphore.clone(), Rc::clone(&in_flight))),
        )
        .await;
        observer.await.expect("the observer never panics");
        println!(
            "with Semaphore({LIMIT}): {} requests in {:.3} s, max concurrency observed: {}",
            results.len(),
            start.elapsed().as_secs_f64(),
            in_flight.max.get()
        );
        println!("  first result: {}", results[0]);

        let unlimited = Rc::new(InFlight::default());
        let start = Instant::now();
        let results = gather(urls().map(|url| {
            let unlimited = Rc::clone(&unlimited);
            async move { fetch_url(url, &unlimited).await }
        }))
        .await;
        println!(
            "without it: {} requests in {:.3} s, max concurrency observed: {} (the API's rate limiter would not like that)",
            results.len(),
            start.elapsed().as_secs_f64(),
            unlimited.max.get()
        );
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

/// `s` seconds, times `--scale`.
fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s * scale())
}
