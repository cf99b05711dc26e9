//! # gather, wait, as_completed (and TaskGroup): four ways to wait for many things
//!
//! Retells section 4 of the tutorial, "Task management: gather, wait, as_completed" (4.1
//! gather, 4.2 wait, 4.3 as_completed, 4.4 "Choosing a tool: decision tree").
//!
//! * `gather`: run everything, get every result **in the order you asked**, not the order they
//!   finished.
//! * `wait(tasks, return_when)`: wait on spawned tasks until a condition holds, and get back
//!   `(done, pending)`. The pending tasks keep running. All three strategies are shown on the
//!   same five tasks: `FirstCompleted`, then `FirstException` on what is still pending, then
//!   `AllCompleted` on the rest (the tutorial calls them in the other order, which would make
//!   the last two return at once).
//! * `as_completed`: results **in the order they finish**, each with the index it had in the
//!   input, so you can stream them. The AI use: ask several models, show the first answer as
//!   soon as it arrives, and either keep listening or drop the rest (dropping cancels them).
//! * `TaskGroup` (the decision tree's "structured concurrency" branch): children that succeed
//!   or fail together; the first failure cancels the others.
//!
//! Delays are the tutorial's, halved so the whole lesson runs in about 4 s.
//!
//! ```text
//! cargo run --example gather_wait_as_completed
//! cargo run --example gather_wait_as_completed -- --scale 0.05   # every delay x 0.05
//! ```

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tinyloop::{as_completed, gather, spawn, wait, ChildError, ReturnWhen, TaskGroup};

async fn fetch_data(source: String, delay: f64) -> String {
    tinyloop::sleep(secs(delay)).await;
    println!("    ({source} finished)");
    format!("{source}_data")
}

/// Like `fetch_data`, but the source named "source 3" fails.
async fn fetch_or_fail(i: u32, delay: f64) -> Result<String, String> {
    let data = fetch_data(format!("source {i}"), delay).await;
    if i == 3 {
        Err(format!("source {i} refused the request"))
    } else {
        Ok(data)
    }
}

async fn demo_gather() {
    println!("== 4.1 gather: results in argument order, not completion order");
    let results = gather([
        fetch_data("source 1".into(), 3.0), // the slowest
        fetch_data("source 2".into(), 0.5), // the fastest
        fetch_data("source 3".into(), 1.0),
    ])
    .await;
    println!("  gather order: {results:?}");
}

async fn demo_wait() {
    println!("== 4.2 wait: three strategies on the same five tasks");
    let start = Instant::now();
    let tasks: Vec<_> = (0..5)
        .map(|i| spawn(fetch_or_fail(i, f64::from(i) * 0.5)))
        .collect();

    let (done, pending) = wait(tasks, ReturnWhen::FirstCompleted).await;
    for task in done {
        let first = task.await.expect("fetch_or_fail never panics");
        println!("  FirstCompleted: the fastest task returned {first:?}");
    }
    println!(
        "  {} tasks are still pending, and still running",
        pending.len()
    );

    let (done, pending) = wait(pending, ReturnWhen::FirstException).await;
    println!(
        "  FirstException: returned at {:.3} s with {} done, {} pending",
        start.elapsed().as_secs_f64(),
        done.len(),
        pending.len()
    );
    for task in done {
        match task.await.expect("fetch_or_fail never panics") {
            Ok(data) => println!("    done: {data}"),
            Err(e) => println!("    failed: {e}"),
        }
    }

    let (done, pending) = wait(pending, ReturnWhen::AllCompleted).await;
    println!(
        "  AllCompleted: returned at {:.3} s with {} done, {} pending",
        start.elapsed().as_secs_f64(),
        done.len(),
        pending.len()
    );
}

async fn demo_as_completed() {
    println!("== 4.3 as_completed: results in completion order, as a stream");
    // Five sources answering at 0, 0.8, 1.6, ... seconds, listed slowest first.
    let coros = (0..5u32)
        .rev()
        .map(|i| fetch_data(format!("source {i}"), f64::from(i) * 0.8));
    let mut stream = as_completed(coros);
    while let Some((index, result)) = stream.next().await {
        println!("  received {result} (input #{index}), handled right away");
    }
}

/// A model call: each model takes its own time to answer.
async fn call_llm(prompt: &str, model: &'static str, delay: f64) -> String {
    tinyloop::sleep(secs(delay)).await;
    format!("{model}'s answer to {prompt:?}")
}

async fn multi_model_inference() {
    println!("== 4.3 several models answer the same prompt: stream them, first one first");
    let models = [("gpt-4", 1.2), ("claude", 0.8), ("qwen", 0.5)];
    let start = Instant::now();
    let mut answers = as_completed(
        models
            .iter()
            .map(|&(model, delay)| call_llm("What is an event loop?", model, delay)),
    );
    let mut first = true;
    while let Some((index, answer)) = answers.next().await {
        let tag = if first {
            "first, shown to the user"
        } else {
            "later"
        };
        first = false;
        println!(
            "  {:.3} s  {:<6} [{tag}] {answer}",
            start.elapsed().as_secs_f64(),
            models[index].0
        );
    }

    println!("== only the fastest answer matters: take it and drop the rest");
    let start = Instant::now();
    let mut answers = as_completed(
        models
            .iter()
            .map(|&(model, delay)| call_llm("What is an event loop?", model, delay)),
    );
    if let Some((index, answer)) = answers.next().await {
        println!(
            "  {:.3} s  {}: {answer}",
            start.elapsed().as_secs_f64(),
            models[index].0
        );
    }
    drop(answers); // the two slower calls are cancelled here
    println!("  the {} slower calls were cancelled", models.len() - 1);
}

async fn demo_task_group() {
    println!("== 4.4 TaskGroup: succeed together, fail together");
    let group: TaskGroup<String> = TaskGroup::new();
    let slow = group.spawn(async {
        tinyloop::sleep(secs(2.0)).await;
        Ok("slow source answered")
    });
    let _failing = group.spawn(async {
        tinyloop::sleep(secs(0.5)).await;
        Err::<(), _>("knowledge base offline".to_string())
    });
    match group.join().await {
        Ok(()) => println!("  every child succeeded"),
        Err(e) => {
            for failure in e.errors() {
                match failure {
                    ChildError::Failed(why) => println!("  a child failed: {why}"),
                    ChildError::Panicked(msg) => println!("  a child panicked: {msg}"),
                }
            }
        }
    }
    match slow.await {
        Err(e) if e.is_cancelled() => println!("  so the slow sibling was cancelled"),
        other => println!("  the slow sibling ended with {other:?}"),
    }
}

fn main() {
    tinyloop::run(async {
        demo_gather().await;
        demo_wait().await;
        demo_as_completed().await;
        multi_model_inference().await;
        demo_task_group().await;
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
