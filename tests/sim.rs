//! Deterministic simulation: `LoopBuilder::seed`, `TINYLOOP_SEED` and `tinyloop::sim`.
//!
//! These tests assume `TINYLOOP_SEED` is not set in their environment (it would make the
//! "FIFO" loops below seeded too); the tests that need it set run a child process.

mod util;

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::Command;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tinyloop::sim::{self, SimFailure};
use tinyloop::{Lock, Loop};
use util::ms;

/// The tutorial's lost update, in the variant FIFO order hides: a server takes one request
/// per millisecond; each handler waits 1 ms for the request to arrive, reads the counter,
/// computes for 1 ms, and writes back what it read plus one. In FIFO order handler `i`'s
/// write always runs just before handler `i + 1`'s read (same tick, armed earlier), so every
/// increment lands; any other order within that turn loses one.
async fn lost_update(requests: u32) {
    let counter = Rc::new(Cell::new(0u32));
    let mut handlers = Vec::new();
    for i in 0..requests {
        let c = Rc::clone(&counter);
        handlers.push(tinyloop::spawn_named(format!("req-{i}"), async move {
            tinyloop::sleep(ms(1)).await; // the request arrives
            let read = c.get();
            tinyloop::sleep(ms(1)).await; // "computation"
            c.set(read + 1);
        }));
        tinyloop::sleep(ms(1)).await; // the next request
    }
    for h in handlers {
        h.await.unwrap();
    }
    assert_eq!(counter.get(), requests, "lost update");
}

/// The same server with the read-compute-write under a `Lock`: correct in every order.
async fn locked_update(requests: u32) {
    let counter = Lock::new(0u32);
    let mut handlers = Vec::new();
    for i in 0..requests {
        let c = counter.clone();
        handlers.push(tinyloop::spawn_named(format!("req-{i}"), async move {
            tinyloop::sleep(ms(1)).await;
            let mut guard = c.lock().await;
            let read = *guard;
            tinyloop::sleep(ms(1)).await;
            *guard = read + 1;
        }));
        if i % 3 == 0 {
            tinyloop::sleep(ms(1)).await; // arrivals in bursts: equal deadlines abound
        }
    }
    for h in handlers {
        h.await.unwrap();
    }
    assert_eq!(*counter.lock().await, requests, "lost update");
}

fn fifo_loop() -> Loop {
    Loop::builder().virtual_time(true).build().unwrap()
}

fn first_failure() -> SimFailure {
    sim::explore(0..200, || lost_update(10)).expect_err("some seed loses an update")
}

#[test]
fn an_order_dependent_program_fails_under_some_seed_and_passes_in_fifo_order() {
    fifo_loop().block_on(lost_update(10));
    let failure = first_failure();
    assert!(failure.seed < 200);
    assert!(failure.message.contains("lost update"), "{failure}");
    assert!(failure.timeline.contains("req-0"), "{}", failure.timeline);
}

#[test]
fn the_failure_reads_as_message_seed_and_replay_line() {
    let failure = first_failure();
    let text = failure.to_string();
    assert!(text.starts_with(&failure.message), "{text}");
    assert!(
        text.contains(&format!("seed {}", failure.seed)),
        "names the seed: {text}"
    );
    assert!(
        text.contains(&format!("TINYLOOP_SEED={}", failure.seed)),
        "has a replay line: {text}"
    );
}

#[test]
fn replaying_the_failing_seed_fails_identically_every_time() {
    let failure = first_failure();
    for _ in 0..5 {
        let again = sim::explore([failure.seed], || lost_update(10)).unwrap_err();
        assert_eq!(again, failure, "same seed, same message and timeline");
    }
    for _ in 0..3 {
        let panicked = catch_unwind(AssertUnwindSafe(|| {
            sim::replay(failure.seed, || lost_update(10))
        }))
        .expect_err("replay fails too");
        let message = panicked
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert_eq!(message, failure.message);
    }
}

#[test]
fn check_panics_with_the_failure_and_its_timeline() {
    let panicked = catch_unwind(AssertUnwindSafe(|| sim::check(200, || lost_update(10))))
        .expect_err("check panics");
    let message = panicked
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    let failure = first_failure();
    assert!(message.contains(&failure.to_string()), "{message}");
    assert!(message.contains(&failure.timeline), "{message}");
}

#[test]
fn an_order_independent_program_passes_300_seeds() {
    assert_eq!(sim::explore(0..300, || locked_update(12)), Ok(300));
    // The same program without the lock is caught, so the seeds do explore something.
    assert!(sim::explore(0..300, || lost_update(12)).is_err());
}

/// A program with something of everything the seed orders: spawns, yields, equal-deadline
/// timers, callbacks, a queue. Its output is the order in which things happened.
async fn busy_program(out: Rc<RefCell<Vec<String>>>) {
    let queue = tinyloop::Queue::new(0);
    let mut tasks = Vec::new();
    for i in 0..6 {
        let out = Rc::clone(&out);
        let queue = queue.clone();
        tasks.push(tinyloop::spawn(async move {
            out.borrow_mut().push(format!("start {i}"));
            tinyloop::yield_now().await;
            tinyloop::sleep(ms(5)).await;
            out.borrow_mut().push(format!("slept {i}"));
            queue.put(i).await.unwrap();
        }));
    }
    for i in 0..4 {
        let out = Rc::clone(&out);
        tinyloop::call_later(ms(5), move || {
            out.borrow_mut().push(format!("callback {i}"))
        });
    }
    for _ in 0..6 {
        let i = queue.get().await.unwrap();
        out.borrow_mut().push(format!("got {i}"));
    }
    for t in tasks {
        t.await.unwrap();
    }
    tinyloop::sleep(Duration::from_secs(1)).await;
}

/// Runs `busy_program` under `seed`, returning its output, timeline and Chrome trace.
fn busy_run(seed: u64) -> (Vec<String>, String, String) {
    let out = Rc::new(RefCell::new(Vec::new()));
    let (timeline, json) = sim::replay(seed, || {
        let out = Rc::clone(&out);
        async move {
            busy_program(out).await;
            (tinyloop::trace::timeline(), tinyloop::trace::chrome_json())
        }
    });
    let out = out.take();
    (out, timeline, json)
}

#[test]
fn the_same_seed_gives_the_same_output_and_byte_identical_timelines() {
    for seed in [0, 1, 42, u64::MAX] {
        let first = busy_run(seed);
        assert!(first.1.contains("timeline of 6 tasks"), "{}", first.1);
        for _ in 0..3 {
            assert_eq!(busy_run(seed), first, "seed {seed} ran differently");
        }
    }
    // And the seed matters: not every seed gives the same schedule.
    let outputs: Vec<Vec<String>> = (0..10).map(|s| busy_run(s).0).collect();
    assert!(
        outputs.iter().any(|o| *o != outputs[0]),
        "ten seeds, one schedule: {outputs:?}"
    );
}

#[test]
fn a_seeded_run_with_hour_long_sleeps_takes_no_real_time() {
    let started = Instant::now();
    let slept = sim::replay(7, || async {
        let t0 = tinyloop::now();
        let sleepers: Vec<_> = (0..20)
            .map(|i| {
                tinyloop::spawn(async move {
                    for _ in 0..3 {
                        tinyloop::sleep(Duration::from_secs(3600 + i)).await;
                    }
                })
            })
            .collect();
        for s in sleepers {
            s.await.unwrap();
        }
        tinyloop::now() - t0
    });
    assert!(slept >= Duration::from_secs(3 * 3619), "virtual: {slept:?}");
    // Three hours of virtual time; the real bound only rules out actually sleeping.
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
}

/// Tasks that each arm a timer for the same deadline and note the order in which they wake,
/// as positions in the order they armed (`0 1 2 ...` is FIFO).
fn wake_order(event_loop: &Loop) -> Vec<u32> {
    event_loop.block_on(async {
        let woke = Rc::new(RefCell::new(Vec::new()));
        let deadline = tinyloop::now() + ms(10);
        // Each task arms its timer on its first poll, so which task arms first is itself
        // ordered by the seed: record arming and waking.
        let armed = Rc::new(RefCell::new(Vec::new()));
        let tasks: Vec<_> = (0..8u32)
            .map(|i| {
                let (woke, armed) = (Rc::clone(&woke), Rc::clone(&armed));
                tinyloop::spawn(async move {
                    let sleep = tinyloop::sleep_until(deadline);
                    armed.borrow_mut().push(i);
                    sleep.await;
                    woke.borrow_mut().push(i);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let armed = armed.take();
        let woke = woke.take();
        // Report the wake order relative to the arming order: 0 1 2 ... is FIFO.
        woke.iter()
            .map(|w| armed.iter().position(|a| a == w).unwrap() as u32)
            .collect()
    })
}

#[test]
fn equal_deadline_timers_fire_in_fifo_order_without_a_seed_and_in_the_seeds_order_with_one() {
    let fifo: Vec<u32> = (0..8).collect();
    assert_eq!(wake_order(&fifo_loop()), fifo);
    let seeded = |seed| {
        let lp = Loop::builder()
            .virtual_time(true)
            .seed(seed)
            .build()
            .unwrap();
        wake_order(&lp)
    };
    let orders: Vec<Vec<u32>> = (0..10).map(seeded).collect();
    for order in &orders {
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, fifo, "every timer fires exactly once");
    }
    assert!(
        orders.iter().any(|o| *o != fifo),
        "some seed reorders equal deadlines: {orders:?}"
    );
    assert_eq!(seeded(3), seeded(3), "and the same seed the same way");
}

#[test]
fn equal_deadline_callbacks_are_reordered_by_the_seed() {
    let order = |lp: Loop| {
        lp.block_on(async {
            let ran = Rc::new(RefCell::new(Vec::new()));
            for i in 0..8 {
                let ran = Rc::clone(&ran);
                tinyloop::call_later(ms(3), move || ran.borrow_mut().push(i));
            }
            tinyloop::sleep(ms(10)).await;
            ran.take()
        })
    };
    let fifo: Vec<i32> = (0..8).collect();
    assert_eq!(order(fifo_loop()), fifo);
    let seeded: Vec<Vec<i32>> = (0..10)
        .map(|s| order(Loop::builder().virtual_time(true).seed(s).build().unwrap()))
        .collect();
    assert!(seeded.iter().any(|o| *o != fifo), "{seeded:?}");
}

/// Readers on four socket pairs, all made readable before the loop polls: the poll hands out
/// four wake-ups at once, and the order the readers then run in is the seed's.
fn io_wake_order(seed: u64) -> Vec<usize> {
    let lp = Loop::builder().seed(seed).build().unwrap();
    lp.block_on(async {
        let order = Rc::new(RefCell::new(Vec::new()));
        let mut writers = Vec::new();
        let mut readers = Vec::new();
        for i in 0..4 {
            let (mut ours, mut theirs) = tinyloop::UnixStream::pair().unwrap();
            writers.push(async move { ours.write_all(b"x").await.map(|()| ours) });
            let order = Rc::clone(&order);
            readers.push(tinyloop::spawn(async move {
                let mut byte = [0u8; 1];
                theirs.read_exact(&mut byte).await.unwrap();
                order.borrow_mut().push(i);
            }));
        }
        tinyloop::yield_now().await; // every reader is now parked on its socket
        let mut keep = Vec::new();
        for w in writers {
            keep.push(w.await.unwrap()); // all four readable before the next poll
        }
        for r in readers {
            r.await.unwrap();
        }
        order.take()
    })
}

#[test]
fn the_wake_ups_of_one_io_poll_are_ordered_by_the_seed() {
    let orders: Vec<Vec<usize>> = (0..12).map(io_wake_order).collect();
    for order in &orders {
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [0, 1, 2, 3]);
    }
    assert!(
        orders.iter().any(|o| *o != orders[0]),
        "twelve seeds, one order: {orders:?}"
    );
}

#[test]
fn the_seed_never_reorders_the_steps_of_one_task() {
    let result = sim::explore(0..100, || async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let tasks: Vec<_> = (0..5)
            .map(|t| {
                let log = Rc::clone(&log);
                tinyloop::spawn(async move {
                    for step in 0..10 {
                        log.borrow_mut().push((t, step));
                        if step % 3 == 0 {
                            tinyloop::sleep(ms(1)).await;
                        } else {
                            tinyloop::yield_now().await;
                        }
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let log = log.take();
        for t in 0..5 {
            let steps: Vec<i32> = log.iter().filter(|e| e.0 == t).map(|e| e.1).collect();
            assert_eq!(
                steps,
                (0..10).collect::<Vec<_>>(),
                "task {t}'s own steps in order"
            );
        }
    });
    assert_eq!(result, Ok(100));
}

#[test]
fn a_deadlock_under_a_seed_is_a_failure_with_its_report() {
    let program = || async {
        let never = tinyloop::Event::new();
        let waiter = tinyloop::spawn_named("waiter", async move { never.wait().await });
        tinyloop::sleep(ms(5)).await;
        waiter.await.unwrap();
    };
    let failure = sim::explore(0..3, program).unwrap_err();
    assert_eq!(failure.seed, 0);
    assert!(failure.message.contains("deadlock"), "{}", failure.message);
    assert!(failure.timeline.contains("waiter"), "{}", failure.timeline);
    // The deadlock grace period is real time, but it leaves no mark on the report.
    assert_eq!(sim::explore([0], program).unwrap_err(), failure);
}

// ----- TINYLOOP_SEED, in child processes ----------------------------------------------------

const CHILD: &str = "TINYLOOP_SIM_CHILD";

/// Runs test `name` of this binary in a child with `TINYLOOP_SEED` set to `seed`.
fn child(name: &str, seed: &str) -> std::process::Output {
    let exe = std::env::current_exe().expect("the test binary's path");
    Command::new(exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, name)
        .env("TINYLOOP_SEED", seed)
        .output()
        .expect("the test binary runs again")
}

fn is_child(name: &str) -> bool {
    std::env::var(CHILD).as_deref() == Ok(name)
}

/// The order in which 10 spawned tasks first run.
async fn start_order() -> String {
    let order = Rc::new(RefCell::new(Vec::new()));
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let order = Rc::clone(&order);
            tinyloop::spawn(async move { order.borrow_mut().push(i) })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    format!("{:?}", order.take())
}

#[test]
fn run_and_check_honour_tinyloop_seed() {
    const NAME: &str = "run_and_check_honour_tinyloop_seed";
    if is_child(NAME) {
        let seeded = tinyloop::run(start_order());
        println!("run order: {seeded}");
        // `check` runs the one seed from the environment, here one that passes...
        sim::check(1000, || async {});
        // ...and reports that seed when the program fails.
        let panicked = catch_unwind(AssertUnwindSafe(|| {
            sim::check(1000, || async { panic!("boom") })
        }))
        .unwrap_err();
        let message = panicked
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        println!("check: {}", message.lines().nth(1).unwrap_or_default());
        // A seeded run that reaches outside the loop says so, once.
        for _ in 0..2 {
            tinyloop::run(async { tinyloop::to_thread(|| 1).await.unwrap() });
        }
        return;
    }
    let out = child(NAME, "77");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let expected = sim::replay(77, start_order);
    assert_ne!(
        expected,
        format!("{:?}", (0..10).collect::<Vec<_>>()),
        "seed 77 is not FIFO"
    );
    assert!(
        stdout.contains(&format!("run order: {expected}")),
        "TINYLOOP_SEED=77 gives `run` seed 77's order {expected}:\n{stdout}"
    );
    assert!(
        stdout.contains("check:   the program failed under seed 77"),
        "{stdout}"
    );
    assert_eq!(
        stderr.matches("outside the seed's reach").count(),
        1,
        "to_thread under a seed is reported once:\n{stderr}"
    );
    assert!(stderr.contains("to_thread"), "{stderr}");
}

#[test]
fn a_tinyloop_seed_that_is_not_a_number_is_refused_with_a_fix() {
    const NAME: &str = "a_tinyloop_seed_that_is_not_a_number_is_refused_with_a_fix";
    if is_child(NAME) {
        let _ = Loop::builder();
        return;
    }
    let out = child(NAME, "banana");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("TINYLOOP_SEED=\"banana\" is not a seed"),
        "{stderr}"
    );
}
