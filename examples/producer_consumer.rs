//! # Producer-consumer with a bounded `Queue`: an LLM emits tool calls, three workers run them
//!
//! Retells section 5.1 of the tutorial, "asyncio.Queue: the producer-consumer pattern".
//!
//! One producer (the LLM, streaming out 20 tool calls, one every 0.1 s) feeds a queue that
//! holds at most 10 items; three consumers (tool executors, 0.3 s per call) take from it. When
//! the queue is full, `put` waits: that is back-pressure, and it keeps a fast producer from
//! running away from slow consumers. `join` waits until every item taken has been marked with
//! `task_done`.
//!
//! Two ways to tell the consumers to stop:
//!
//! 1. **Stop signals**, as the tutorial does: the queue carries `Option<String>`, and after
//!    `join` the main task puts one `None` per consumer (Python's `None` sentinel).
//! 2. **`shutdown()`**, the modern way (asyncio's `Queue.shutdown`, Python 3.13): once the
//!    producer is done, shut the queue; `get` hands out what is left, then returns `Err`, and
//!    each consumer's `while let Ok(..)` loop ends by itself. No sentinels to count.
//!
//! One deliberate difference: the tutorial calls `task_done()` *before* the 0.3 s of tool work,
//! so `join()` can return while the last tools are still running. Here a consumer calls it
//! after the work, so `join()` means "every task is finished".
//!
//! ```text
//! cargo run --example producer_consumer
//! cargo run --example producer_consumer -- --scale 0.05   # every delay x 0.05
//! ```

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tinyloop::{gather, spawn, Queue, TryPutError};

const TASKS: usize = 20;
const CONSUMERS: usize = 3;

// ---------- 1. stop signals (the tutorial's version) ----------

async fn producer(tasks: Queue<Option<String>>) {
    for i in 0..TASKS {
        let task = format!("task_{i}");
        tasks
            .put(Some(task.clone()))
            .await
            .expect("nobody shuts this queue down");
        println!("  produced {task} (queue holds {})", tasks.len());
        tinyloop::sleep(secs(0.1)).await; // the LLM is still streaming
    }
}

async fn consumer(worker_id: usize, tasks: Queue<Option<String>>, results: Queue<String>) -> usize {
    let mut handled = 0;
    loop {
        let Some(task) = tasks.get().await.expect("nobody shuts this queue down") else {
            break; // the stop signal
        };
        tinyloop::sleep(secs(0.3)).await; // run the tool
        println!("  worker {worker_id} finished {task}");
        results
            .put(format!("{task}_done_by_worker_{worker_id}"))
            .await
            .expect("the results queue is never shut down");
        handled += 1;
        tasks.task_done().expect("one task_done per item taken");
    }
    handled
}

async fn with_stop_signals() {
    println!("== stop signals: Queue<Option<String>>, None means stop");
    let start = Instant::now();
    let tasks: Queue<Option<String>> = Queue::new(10);
    let results: Queue<String> = Queue::unbounded();

    let producers = vec![spawn(producer(tasks.clone()))];
    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|id| spawn(consumer(id, tasks.clone(), results.clone())))
        .collect();

    gather(producers).await; // the producer has put all 20
    tasks.join().await; // ... and every one of them has been handled
    for _ in &consumers {
        tasks.put(None).await.expect("nobody shuts this queue down");
    }
    let per_worker: Vec<usize> = gather(consumers)
        .await
        .into_iter()
        .map(|r| r.expect("consumers never panic"))
        .collect();

    println!(
        "stop signals: all {} tasks done in {:.3} s (results queue holds {}; per worker {per_worker:?})",
        per_worker.iter().sum::<usize>(),
        start.elapsed().as_secs_f64(),
        results.len()
    );
}

// ---------- 2. shutdown() ----------

async fn worker_until_shutdown(worker_id: usize, tasks: Queue<String>) -> usize {
    let mut handled = 0;
    // After shutdown, `get` drains what is left and then fails: the loop ends by itself.
    while let Ok(task) = tasks.get().await {
        tinyloop::sleep(secs(0.15)).await; // run the tool
        println!("  worker {worker_id} finished {task}");
        handled += 1;
        tasks.task_done().expect("one task_done per item taken");
    }
    handled
}

async fn with_shutdown() {
    println!("== shutdown(): no sentinels; consumers stop when the queue is shut and empty");
    println!("   (this producer emits its whole plan at once, so the queue fills up)");
    let start = Instant::now();
    let tasks: Queue<String> = Queue::new(10);
    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|id| spawn(worker_until_shutdown(id, tasks.clone())))
        .collect();
    let mut waited = 0;
    for i in 0..TASKS {
        // `try_put` is asyncio's `put_nowait`: on a full queue it hands the item back.
        if let Err(TryPutError::Full(task)) = tasks.try_put(format!("task_{i}")) {
            waited += 1;
            tasks
                .put(task)
                .await
                .expect("the queue is shut only after this loop");
        }
    }
    tasks.shutdown(); // no more puts; gets drain what is queued, then fail
    println!(
        "  producer done at {:.3} s; it found the queue full {waited} times (back-pressure)",
        start.elapsed().as_secs_f64()
    );
    println!("  queue shut down with {} items left to drain", tasks.len());
    let per_worker: Vec<usize> = gather(consumers)
        .await
        .into_iter()
        .map(|r| r.expect("consumers never panic"))
        .collect();
    println!(
        "shutdown: all {} tasks done in {:.3} s (per worker {per_worker:?})",
        per_worker.iter().sum::<usize>(),
        start.elapsed().as_secs_f64()
    );
}

fn main() {
    tinyloop::run(async {
        with_stop_signals().await;
        println!();
        with_shutdown().await;
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
