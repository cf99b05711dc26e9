//! The tutorial's event-loop diagram, drawn by the loop itself.
//!
//! Three tasks, A, B and C, each "wait for I/O" for one second (here a `sleep`). Because
//! they wait at the same time, the whole run takes one second, not three: the loop runs
//! each task until it waits, then runs the next, and comes back to each when its timer
//! fires. With `trace(true)` the loop records every poll and wake-up, and
//! `Trace::timeline` draws one row per task on a time axis. Virtual time makes the second
//! pass at once and the picture exact.
//!
//! Run it with `cargo run --example timeline`. Add `-- --json > trace.json` to get the
//! Chrome trace event format instead, and open it in <https://ui.perfetto.dev>.

use std::time::Duration;

use tinyloop::Loop;

async fn task(name: &'static str, seconds: u64) -> &'static str {
    tinyloop::sleep(Duration::from_secs(seconds)).await; // "waiting for I/O"
    name
}

fn main() {
    let event_loop = Loop::builder()
        .virtual_time(true)
        .trace(true)
        .build()
        .expect("an OS poller");
    let started = std::time::Instant::now();
    let names = event_loop.block_on(async {
        let a = tinyloop::spawn_named("A", task("A", 1));
        let b = tinyloop::spawn_named("B", task("B", 1));
        let c = tinyloop::spawn_named("C", task("C", 1));
        let elapsed_before = tinyloop::now();
        let names = [a.await.unwrap(), b.await.unwrap(), c.await.unwrap()];
        (names, tinyloop::now() - elapsed_before)
    });
    let trace = event_loop.trace_snapshot().expect("built with trace(true)");
    if std::env::args().any(|a| a == "--json") {
        print!("{}", trace.chrome_json());
        return;
    }
    println!(
        "tasks {:?} finished after {:?} of loop time ({:?} of real time)\n",
        names.0,
        names.1,
        started.elapsed()
    );
    print!("{}", trace.timeline());
}
