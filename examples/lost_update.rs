//! # Testing every interleaving: the lost update that FIFO order hides, and the seed that
//! # finds it
//!
//! Retells the tutorial's Lock section (5.3, "asyncio.Lock: protecting shared resources"),
//! with a twist. There, 100 tasks read a counter, await, and write back what they read plus
//! one; all of them read 0 before any writes, and the bug shows on the first run
//! (`examples/lock_counter.rs`). Here the same read-await-write runs in a small server that
//! takes one request per millisecond: each handler waits 1 ms for its request to arrive,
//! reads the counter, computes for 1 ms, and writes. Handler `i` writes in the same loop turn
//! in which handler `i + 1` reads, and in FIFO order its write happens to come first (its
//! timer was armed earlier). So the test passes, 100 increments out of 100, every time.
//!
//! The bug is still there: if the other handler ran first in that turn, both would read the
//! same value. A production loop meets that order the day a request arrives a little
//! earlier. `tinyloop::sim` runs the program under seeded schedules, where a seed (not FIFO)
//! decides the order of things that are ready at the same time, and finds it in a run or
//! two. It prints the seed, the line that replays it, and the timeline of the two handlers
//! that raced. With the read-compute-write under a `Lock`, every seed passes.
//!
//! In a test, `tinyloop::sim::check(200, racy_server)` does the same in one line: it panics
//! with the failure, its replay line and the failing run's timeline.
//!
//! ```text
//! cargo run --example lost_update
//! cargo run --example lost_update -- --seeds 1000    # explore more schedules
//! TINYLOOP_SEED=3 cargo run --example lost_update    # replay one seed
//! ```

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use tinyloop::{sim, Lock, Loop};

const REQUESTS: u32 = 100;

/// Two handlers that read the same value: `(first, second, value)`.
type Race = Rc<Cell<Option<(u32, u32, u32)>>>;

/// ❌ The server whose handlers read, await, then write, with nothing held in between.
async fn racy_server() {
    let counter = Rc::new(Cell::new(0u32));
    // Who read which value: two readers of one value means an increment will be lost.
    let read_by: Rc<RefCell<Vec<Option<u32>>>> = Rc::default();
    let race: Race = Rc::default();
    let mut handlers = Vec::new();
    for i in 0..REQUESTS {
        let (counter, read_by, seen) = (Rc::clone(&counter), Rc::clone(&read_by), race.clone());
        handlers.push(tinyloop::spawn_named(format!("req-{i}"), async move {
            tinyloop::sleep(ms(1)).await; // the request arrives
            let read = counter.get();
            note_read(&read_by, &seen, i, read);
            tinyloop::sleep(ms(1)).await; // "computation": the loop runs others meanwhile
            counter.set(read + 1);
        }));
        tinyloop::sleep(ms(1)).await; // the next request comes in 1 ms later
        stop_at_a_race(&race);
    }
    for h in handlers {
        h.await.unwrap();
    }
    stop_at_a_race(&race);
    assert_eq!(counter.get(), REQUESTS, "lost update");
}

/// ✅ The same server, the read-compute-write under a `Lock` (asyncio's `async with lock:`).
async fn locked_server() {
    let counter = Lock::new(0u32);
    let mut handlers = Vec::new();
    for i in 0..REQUESTS {
        let counter = counter.clone();
        handlers.push(tinyloop::spawn_named(format!("req-{i}"), async move {
            tinyloop::sleep(ms(1)).await;
            let mut count = counter.lock().await;
            let read = *count;
            tinyloop::sleep(ms(1)).await; // others wait for the lock meanwhile
            *count = read + 1;
        }));
        tinyloop::sleep(ms(1)).await;
    }
    for h in handlers {
        h.await.unwrap();
    }
    assert_eq!(*counter.lock().await, REQUESTS, "lost update");
}

fn note_read(read_by: &RefCell<Vec<Option<u32>>>, race: &Race, who: u32, value: u32) {
    let mut read_by = read_by.borrow_mut();
    let v = value as usize;
    if read_by.len() <= v {
        read_by.resize(v + 1, None);
    }
    match read_by[v] {
        Some(first) if race.get().is_none() => race.set(Some((first, who, value))),
        Some(_) => {}
        None => read_by[v] = Some(who),
    }
}

/// The server stops (the test fails) at the first lost update, so the run's timeline shows
/// the race rather than the 100 ms after it.
fn stop_at_a_race(race: &Race) {
    if let Some((a, b, v)) = race.get() {
        panic!(
            "lost update: req-{a} and req-{b} both read {v}, so both write {}: one increment \
             is gone",
            v + 1
        );
    }
}

fn main() {
    let seeds = seeds_to_explore();

    // 1. The usual test: one run, FIFO order. It passes. (Under TINYLOOP_SEED every loop,
    //    this one too, would run seeded: then we are here to replay, and skip it.)
    if std::env::var_os("TINYLOOP_SEED").is_none() {
        let fifo = Loop::builder().virtual_time(true).build().unwrap();
        fifo.block_on(racy_server());
        println!(
            "FIFO order: the racy server counts {REQUESTS} of {REQUESTS} requests, test passes"
        );
    }

    // 2. The same program under seeded schedules.
    match sim::explore(seeds.clone(), racy_server) {
        Ok(n) => println!("sim::explore: all {n} seeds passed (no schedule lost an update)"),
        Err(failure) => {
            let runs = failure.seed - seeds.start() + 1;
            println!(
                "sim::explore: seed {} fails (found in {runs} run{})",
                failure.seed,
                if runs == 1 { "" } else { "s" }
            );
            println!("{failure}");
            println!("\nthe two handlers that raced, in that run's timeline:");
            print!("{}", racers_timeline(&failure));
        }
    }

    // 3. With the Lock, no seed finds anything.
    match sim::explore(seeds.clone(), locked_server) {
        Ok(n) => {
            println!("\nwith the Lock: {n} of {n} seeds pass, every schedule counts {REQUESTS}")
        }
        Err(failure) => panic!("the locked server failed, which it must not: {failure}"),
    }
}

/// The failure's timeline, cut down to its header, the main future, the two racers named in
/// the message, and the time axis.
fn racers_timeline(failure: &sim::SimFailure) -> String {
    let names: Vec<String> = failure
        .message
        .split_whitespace()
        .filter(|w| w.starts_with("req-"))
        .map(|w| format!("{w} "))
        .collect();
    let mut out = String::new();
    for (n, line) in failure.timeline.lines().enumerate() {
        let keep = n == 0
            || line.starts_with("main ")
            || line.starts_with(' ')
            || names.iter().any(|name| line.starts_with(name.as_str()));
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Seeds `0..N` (`--seeds N`, default 200), or the one in `TINYLOOP_SEED`, to replay it.
fn seeds_to_explore() -> std::ops::RangeInclusive<u64> {
    if let Ok(seed) = std::env::var("TINYLOOP_SEED") {
        let seed: u64 = seed
            .trim()
            .parse()
            .expect("TINYLOOP_SEED takes a whole number, as printed by a failure");
        return seed..=seed;
    }
    let args: Vec<String> = std::env::args().collect();
    let n: u64 = match args.iter().position(|a| a == "--seeds") {
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .filter(|&n| n > 0)
            .expect("--seeds takes a positive number, e.g. --seeds 1000"),
        None => 200,
    };
    0..=n - 1
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}
