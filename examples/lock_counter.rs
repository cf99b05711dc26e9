//! # A `Lock` around a read-modify-write: 100 increments give 100, and without it they don't
//!
//! Retells section 5.3 of the tutorial, "asyncio.Lock: protecting shared resources".
//!
//! 100 tasks each read a shared counter, await something (a 0.01 s "computation"), and write
//! back what they read plus one. Only one task runs at a time, so why could this go wrong?
//! Because the `.await` in the middle hands control to the loop, which runs the other 99 tasks
//! before this one resumes: they all read 0, and they all write 1. 99 updates are lost.
//!
//! Holding a `tinyloop::Lock` across the whole read-await-write keeps the others out until the
//! guard is dropped (asyncio's `async with lock:`). tinyloop's `Lock` owns the value it
//! protects, the way `std::sync::Mutex` does, so the counter cannot even be reached without
//! taking the lock first. The price: the 100 increments now run one after another (100 x 0.01
//! s), which is why a lock should cover as little as possible.
//!
//! Rust adds its own guard rail: a plain `RefCell` borrow held across an `.await` would panic
//! the moment a second task tried to borrow it. The lockless version below therefore takes a
//! fresh borrow for the read and another for the write, which is exactly the racy pattern.
//!
//! ```text
//! cargo run --example lock_counter
//! cargo run --example lock_counter -- --scale 0.05   # every delay x 0.05
//! ```

use std::cell::Cell;
use std::rc::Rc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tinyloop::{gather, Lock};

const TASKS: u32 = 100;

/// ✅ `async with lock:` around the whole read-await-write.
async fn safe_increment(counter: Lock<u32>) {
    let mut count = counter.lock().await; // the guard derefs to the counter
    let current = *count;
    tinyloop::sleep(secs(0.01)).await; // "computation": other tasks run meanwhile, but wait
    *count = current + 1;
} // guard dropped here: the next waiting task gets the lock (FIFO)

/// ❌ The same steps with nothing held across the `.await`.
async fn unsafe_increment(counter: Rc<Cell<u32>>) {
    let current = counter.get();
    tinyloop::sleep(secs(0.01)).await; // every other task reads the same `current` now
    counter.set(current + 1);
}

fn main() {
    tinyloop::run(async {
        let start = Instant::now();
        let counter = Lock::new(0u32);
        gather((0..TASKS).map(|_| safe_increment(counter.clone()))).await;
        let total = *counter.lock().await;
        println!(
            "with Lock: counter = {total} (expected {TASKS}) in {:.3} s: the increments ran one at a time",
            start.elapsed().as_secs_f64()
        );

        let start = Instant::now();
        let counter = Rc::new(Cell::new(0u32));
        gather((0..TASKS).map(|_| unsafe_increment(Rc::clone(&counter)))).await;
        let total = counter.get();
        println!(
            "without a lock: counter = {total} (expected {TASKS}) in {:.3} s: {} updates lost",
            start.elapsed().as_secs_f64(),
            TASKS - total
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

/// The tutorial's `s` seconds, times `--scale`.
fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s * scale())
}
