//! # Timeouts and errors: `wait_for` is `timeout`, `return_exceptions=True` is a `Vec<Result>`
//!
//! Retells section 3.4 of the tutorial, "Timeout control and exception handling".
//!
//! * `asyncio.wait_for(aw, timeout=3.0)` is `tinyloop::timeout(3 s, fut)`, which returns
//!   `Result<T, TimeoutError>`. When time runs out, the inner future is *dropped* (its
//!   destructors run, which is how cancellation works in Rust) before the `Err` comes back. A
//!   guard object below prints when that happens.
//! * asyncio raises exceptions; Rust returns errors as values. So `gather(*aws,
//!   return_exceptions=True)` is just `gather` over futures that return `Result`: you get a
//!   `Vec<Result<..>>` with one entry per call, in call order, and keep the good ones.
//! * asyncio's default `gather` (first exception propagates) is `try_gather`: the first `Err`
//!   ends the whole call, and the other futures are dropped at once (asyncio leaves them
//!   running unobserved).
//!
//! ```text
//! cargo run --example timeouts_and_errors
//! cargo run --example timeouts_and_errors -- --scale 0.05   # every delay x 0.05
//! ```

use std::fmt;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tinyloop::TimeoutError;

/// What a failed API call returns.
#[derive(Debug)]
struct ApiError(String);

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the API answered with an error: {}", self.0)
    }
}

/// Prints when a call is dropped before it finished: that is what cancellation looks like.
struct CancelNotice {
    source: &'static str,
    started: Instant,
    finished: bool,
}

impl Drop for CancelNotice {
    fn drop(&mut self) {
        if !self.finished {
            println!(
                "  {}: cancelled after {:.3} s (its future was dropped)",
                self.source,
                self.started.elapsed().as_secs_f64()
            );
        }
    }
}

/// The tutorial's `fetch_data`: waits `delay` seconds, then answers.
async fn fetch_data(source: &'static str, delay: f64) -> String {
    let mut notice = CancelNotice {
        source,
        started: Instant::now(),
        finished: false,
    };
    tinyloop::sleep(secs(delay)).await;
    notice.finished = true;
    format!("{source}_data")
}

/// An API that can also fail: after `delay` seconds it answers `Err` when `broken`.
async fn call_api(source: &'static str, delay: f64, broken: bool) -> Result<String, ApiError> {
    let data = fetch_data(source, delay).await;
    if broken {
        Err(ApiError(format!("HTTP 503 from {source}")))
    } else {
        Ok(data)
    }
}

/// `safe_api_call`: a 3 s timeout, a default value on timeout, `None` on error.
async fn safe_api_call(source: &'static str, delay: f64, broken: bool) -> Option<String> {
    match tinyloop::timeout(secs(3.0), call_api(source, delay, broken)).await {
        Ok(Ok(data)) => Some(data),
        Ok(Err(e)) => {
            println!("  API call failed: {e}");
            None
        }
        Err(TimeoutError) => {
            println!("  API call timed out, returning the default value");
            Some("default_value".to_string())
        }
    }
}

async fn main_async() {
    println!("== wait_for -> timeout: a 10 s call with a 3 s timeout");
    let start = Instant::now();
    let result = safe_api_call("slow API", 10.0, false).await;
    println!(
        "  -> {result:?} after {:.3} s",
        start.elapsed().as_secs_f64()
    );

    println!("== the same helper, when the API fails");
    let result = safe_api_call("broken API", 0.1, true).await;
    println!("  -> {result:?}");

    println!("== gather(..., return_exceptions=True) -> gather over Results");
    let start = Instant::now();
    let per_call = secs(1.5);
    let results: Vec<Result<String, TimeoutError>> = tinyloop::gather([
        tinyloop::timeout(per_call, fetch_data("API-A", 1.0)),
        tinyloop::timeout(per_call, fetch_data("API-B", 5.0)), // this one times out
        tinyloop::timeout(per_call, fetch_data("API-C", 0.5)),
    ])
    .await;
    println!("  results: {results:?}");
    let kept: Vec<String> = results.into_iter().filter_map(Result::ok).collect();
    println!(
        "  kept {} of 3: {kept:?} after {:.3} s",
        kept.len(),
        start.elapsed().as_secs_f64()
    );

    println!("== try_gather: asyncio's default gather, the first error wins");
    let start = Instant::now();
    let outcome = tinyloop::try_gather([
        call_api("API-A", 1.0, false),
        call_api("API-X", 0.5, true), // fails first; the other two are dropped
        call_api("API-D", 4.0, false),
    ])
    .await;
    match outcome {
        Ok(all) => println!("  all answered: {all:?}"),
        Err(e) => println!(
            "  try_gather failed after {:.3} s: {e}",
            start.elapsed().as_secs_f64()
        ),
    }
}

fn main() {
    tinyloop::run(main_async());
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
