//! Stress: push the loop hard and check that nothing is lost, nothing runs twice, and memory
//! comes back.
//!
//! Each scenario checks its own invariant and panics (exit code 101) if it breaks:
//!
//! | scenario  | what it does                                         | invariant                                   |
//! |-----------|------------------------------------------------------|---------------------------------------------|
//! | `tasks`   | spawns `--tasks` tasks at once, each yields once      | every task ran to the end exactly once      |
//! | `timers`  | `--timers` sleeps and callbacks, random deadlines and | each fires once, never early; a cancelled   |
//! |           | random cancellations, on virtual time                 | one (cancel() returned true) never fires    |
//! | `wakes`   | `--threads` OS threads wake `--wake-tasks` tasks as   | every task sees its final wake; a task is   |
//! |           | fast as they can for `--seconds`                      | never polled more often than it was woken   |
//! | `tcp`     | `--conns` TCP connections opened and closed in waves  | every byte echoed, every socket closed      |
//! |           | of `--wave` at once                                    | by both ends                                |
//! | `threads` | `--thread-calls` `to_thread` calls, one in 7 panics   | every result comes back, each panic as      |
//! |           |                                                       | `Err(Panicked)` with its message            |
//!
//! Each scenario runs twice on a fresh loop (a warm-up round, then the measured round). After
//! each round the loop is dropped; the resident memory (VmRSS) at the end of the measured
//! round must be within a slack of the figure after the warm-up. The allocator keeps some
//! freed memory for reuse, so "back" means "the same run again costs nothing more".
//!
//! Run it with `cargo run --release --example stress` (full sizes, about a minute), or small:
//! `cargo run --example stress -- --tasks 10000 --timers 2000 --seconds 1 --conns 200`.
//! Environment: `STRESS_WARM_UPS=n` (warm-up rounds, default 1), `STRESS_NO_RSS_CHECK=1`
//! (used under valgrind, where VmRSS means nothing).
//! `--only tasks,timers` runs a subset. CI runs the small sizes through `.ci/stress-smoke`.

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use tinyloop::{Loop, Task};

/// Sizes, from the command line.
#[derive(Debug, Clone)]
struct Sizes {
    tasks: usize,
    timers: usize,
    threads: usize,
    wake_tasks: usize,
    seconds: f64,
    conns: usize,
    wave: usize,
    thread_calls: usize,
    only: Option<Vec<String>>,
}

impl Sizes {
    fn parse() -> Sizes {
        let mut s = Sizes {
            tasks: 1_000_000,
            timers: 100_000,
            threads: 8,
            wake_tasks: 10_000,
            seconds: 10.0,
            conns: 10_000,
            wave: 100,
            thread_calls: 1_000,
            only: None,
        };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            let mut value = || {
                args.next()
                    .unwrap_or_else(|| panic!("{flag} needs a value, e.g. `{flag} 1000`"))
            };
            let num = |v: String| -> usize {
                v.replace('_', "")
                    .parse()
                    .unwrap_or_else(|_| panic!("{flag} takes a whole number, not {v:?}"))
            };
            match flag.as_str() {
                "--tasks" => s.tasks = num(value()),
                "--timers" => s.timers = num(value()),
                "--threads" => s.threads = num(value()),
                "--wake-tasks" => s.wake_tasks = num(value()),
                "--seconds" => {
                    let v = value();
                    s.seconds = v
                        .parse()
                        .unwrap_or_else(|_| panic!("--seconds takes a number, not {v:?}"))
                }
                "--conns" => s.conns = num(value()),
                "--wave" => s.wave = num(value()),
                "--thread-calls" => s.thread_calls = num(value()),
                "--only" => s.only = Some(value().split(',').map(str::to_string).collect()),
                other => panic!(
                    "unknown flag {other}; flags: --tasks --timers --threads --wake-tasks \
                     --seconds --conns --wave --thread-calls --only a,b"
                ),
            }
        }
        s
    }

    fn wants(&self, scenario: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| only.iter().any(|o| o == scenario))
    }
}

/// Resident memory of this process in KiB (Linux `/proc/self/status`), 0 elsewhere.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// Runs one scenario three times, each time on a fresh loop that is dropped afterwards, and
/// checks memory comes back. The first two rounds are warm-ups: the allocator keeps freed
/// memory it cannot return to the OS (a hole in the middle of the heap), and glibc adapts its
/// mmap threshold as it goes (the first round's large buffers are mmapped and handed back,
/// which raises the threshold, so the second round's come from the heap and stay there); from
/// the second round on, rounds are alike. So the check is that the last round, at the same
/// size, ends within a slack (8 MiB or a quarter of the round's growth) of
/// where the warm-up ended: a leak, or a loop that keeps memory per task or timer, would grow
/// it by about the size of the run each round. Leaks themselves are checked exactly by
/// `.ci/valgrind`, which runs this example at small sizes under memcheck.
/// `run(lp, warm_up)` returns the summary figures.
fn scenario(name: &str, virtual_time: bool, run: impl Fn(&Loop, bool) -> String) {
    let fresh_loop = || {
        Loop::builder()
            .virtual_time(virtual_time)
            .build()
            .expect("an OS poller")
    };
    let before = rss_kib();
    let mut warm = before;
    for _ in 0..warm_ups() {
        let lp = fresh_loop();
        run(&lp, true);
        drop(lp);
        warm = rss_kib();
        if std::env::var_os("STRESS_VERBOSE").is_some() {
            println!("  warm-up round: VmRSS {warm} KiB");
        }
    }
    let started = Instant::now();
    let lp = fresh_loop();
    let figures = run(&lp, false);
    let peak = rss_kib();
    drop(lp);
    let after = rss_kib();
    println!(
        "stress {name:<8} ok: {figures}; {:.2} s; VmRSS KiB: start {before}, after warm-up {warm}, \
         peak {peak}, end {after}",
        started.elapsed().as_secs_f64()
    );
    if !rss_check() {
        return;
    }
    // A leak keeps about the whole run's growth per round; allocator fragmentation settles.
    let slack = (8 * 1024).max(peak.saturating_sub(before) / 4);
    assert!(
        after <= warm + slack,
        "{name}: memory did not come back: {warm} KiB after the warm-up round, {after} KiB \
         after the same round again (slack {slack})"
    );
}

/// `STRESS_NO_RSS_CHECK` turns the VmRSS check off: under valgrind the process's resident
/// memory says nothing about the program's (memcheck holds freed blocks back on purpose), and
/// memcheck's own leak check is exact.
fn rss_check() -> bool {
    std::env::var_os("STRESS_NO_RSS_CHECK").is_none()
}

/// How many warm-up rounds run before the measured one (`STRESS_WARM_UPS`, default 1).
fn warm_ups() -> usize {
    std::env::var("STRESS_WARM_UPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2)
}

/// A small xorshift generator: reproducible runs without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `tasks`: N tasks spawned at once, each yields once and counts itself out.
fn tasks(lp: &Loop, n: usize) -> String {
    let finished = Rc::new(Cell::new(0usize));
    let f = Rc::clone(&finished);
    lp.block_on(async move {
        let ran: Rc<Vec<Cell<u8>>> = Rc::new((0..n).map(|_| Cell::new(0)).collect());
        for i in 0..n {
            let ran = Rc::clone(&ran);
            let f = Rc::clone(&f);
            drop(tinyloop::spawn(async move {
                tinyloop::yield_now().await;
                ran[i].set(ran[i].get() + 1);
                f.set(f.get() + 1);
            }));
        }
        while f.get() < n {
            tinyloop::yield_now().await;
        }
        assert!(
            ran.iter().all(|c| c.get() == 1),
            "a task ran twice or never"
        );
        assert!(tinyloop::all_tasks().is_empty(), "tasks left over");
    });
    assert_eq!(finished.get(), n);
    format!("{n} tasks spawned and finished, each exactly once")
}

/// `timers`: half sleeps in tasks, half `call_later` callbacks; random deadlines up to 10 min
/// of virtual time; a third of them cancelled at a random moment (possibly after they fired).
fn timers(lp: &Loop, n: usize) -> String {
    #[derive(Default)]
    struct Timer {
        deadline_ms: u64,
        fired: Cell<u32>,
        fired_late_ok: Cell<bool>,
        cancelled: Cell<bool>,
    }
    lp.block_on(async move {
        let mut rng = Rng(0x5eed_1234_abcd_0001);
        let start = tinyloop::now();
        let table: Rc<Vec<Timer>> = Rc::new(
            (0..n)
                .map(|_| Timer {
                    deadline_ms: rng.below(600_000),
                    ..Timer::default()
                })
                .collect(),
        );
        enum Handle {
            Sleep(Task<()>),
            Callback(tinyloop::CallbackHandle),
        }
        let mut handles = Vec::with_capacity(n);
        for i in 0..n {
            let t = Rc::clone(&table);
            let d = Duration::from_millis(t[i].deadline_ms);
            let record = move || {
                let timer = &t[i];
                timer.fired.set(timer.fired.get() + 1);
                let elapsed = tinyloop::now() - start;
                timer
                    .fired_late_ok
                    .set(elapsed >= Duration::from_millis(timer.deadline_ms));
            };
            handles.push(if i % 2 == 0 {
                Handle::Sleep(tinyloop::spawn(async move {
                    tinyloop::sleep(d).await;
                    record();
                }))
            } else {
                Handle::Callback(tinyloop::call_later(d, record))
            });
        }
        // Cancellers: a third of the timers get cancelled at a random time.
        let handles = Rc::new(RefCell::new(handles));
        let mut cancellers = Vec::new();
        for i in (0..n).filter(|i| i % 3 == 0) {
            let at = Duration::from_millis(rng.below(600_000));
            let (h, t) = (Rc::clone(&handles), Rc::clone(&table));
            cancellers.push(tinyloop::spawn(async move {
                tinyloop::sleep(at).await;
                let cancelled = match &h.borrow()[i] {
                    Handle::Sleep(task) => task.cancel(),
                    Handle::Callback(cb) => cb.cancel(),
                };
                t[i].cancelled.set(cancelled);
            }));
        }
        for c in cancellers {
            c.await.expect("a canceller finished");
        }
        tinyloop::sleep(Duration::from_secs(601)).await;
        let (mut fired, mut cancelled) = (0, 0);
        for (i, t) in table.iter().enumerate() {
            match (t.cancelled.get(), t.fired.get()) {
                (true, 0) => cancelled += 1,
                (true, _) => panic!("timer {i} fired although cancel() returned true"),
                (false, 1) => {
                    assert!(t.fired_late_ok.get(), "timer {i} fired before its deadline");
                    fired += 1;
                }
                (false, k) => panic!("timer {i} fired {k} times"),
            }
        }
        drop(handles);
        assert_eq!(fired + cancelled, n);
        format!(
            "{n} timers: {fired} fired once at or after their deadline, {cancelled} cancelled and never fired"
        )
    })
}

/// What a thread shares with one task of the `wakes` scenario.
struct WakeSlot {
    wakes: AtomicU64,
    waker: Mutex<Option<Waker>>,
}

/// `wakes`: `threads` OS threads wake `tasks` tasks at random for `seconds`, then each task
/// gets one final wake after a stop flag is set. Nothing lost: every task ends (it saw the
/// stop flag, so it was polled after its final wake). Nothing woken twice: a task's polls never
/// exceed its wakes + 1 (the first poll is not a wake).
fn wakes(lp: &Loop, threads: usize, tasks: usize, seconds: f64) -> String {
    let slots: Arc<Vec<WakeSlot>> = Arc::new(
        (0..tasks)
            .map(|_| WakeSlot {
                wakes: AtomicU64::new(0),
                waker: Mutex::new(None),
            })
            .collect(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let running = Arc::new(AtomicBool::new(true));
    let (total_polls, total_wakes) = lp.block_on(async {
        let mut handles = Vec::with_capacity(tasks);
        for i in 0..tasks {
            let (slots, stop) = (Arc::clone(&slots), Arc::clone(&stop));
            handles.push(tinyloop::spawn(async move {
                let mut polls = 0u64;
                poll_fn(|cx| {
                    polls += 1;
                    let slot = &slots[i];
                    let mut w = slot.waker.lock().unwrap();
                    if !w.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                        *w = Some(cx.waker().clone());
                    }
                    if stop.load(Ordering::Acquire) {
                        Poll::Ready(())
                    } else {
                        Poll::Pending
                    }
                })
                .await;
                polls
            }));
        }
        tinyloop::yield_now().await; // every task has stored its waker
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let (slots, running) = (Arc::clone(&slots), Arc::clone(&running));
                std::thread::spawn(move || {
                    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (t as u64 + 1));
                    let mut sent = 0u64;
                    while running.load(Ordering::Relaxed) {
                        for _ in 0..256 {
                            let slot = &slots[rng.below(slots.len() as u64) as usize];
                            slot.wakes.fetch_add(1, Ordering::AcqRel);
                            if let Some(w) = slot.waker.lock().unwrap().as_ref() {
                                w.wake_by_ref();
                            }
                            sent += 1;
                        }
                    }
                    sent
                })
            })
            .collect();
        // The loop keeps serving while the threads hammer it; a timer task checks it runs.
        let deadline = Instant::now() + Duration::from_secs_f64(seconds);
        let mut ticks = 0u64;
        while Instant::now() < deadline {
            tinyloop::sleep(Duration::from_millis(10)).await;
            ticks += 1;
        }
        running.store(false, Ordering::Relaxed);
        // Joined on a pool thread, never on the loop's own: a blocking join here would stall
        // every task until the workers noticed the flag.
        let sent: u64 = tinyloop::to_thread(move || {
            workers
                .into_iter()
                .map(|w| w.join().expect("a waking thread panicked"))
                .sum()
        })
        .await
        .expect("joining the workers never panics");
        // The final wake, from another thread (a pool thread): must not be lost.
        stop.store(true, Ordering::Release);
        let s = Arc::clone(&slots);
        tinyloop::to_thread(move || {
            for slot in s.iter() {
                slot.wakes.fetch_add(1, Ordering::AcqRel);
                slot.waker.lock().unwrap().as_ref().unwrap().wake_by_ref();
            }
        })
        .await
        .expect("the final wakes never panic");
        let mut polls = 0;
        for (i, h) in handles.into_iter().enumerate() {
            let p = h.await.expect("a woken task finished");
            let w = slots[i].wakes.load(Ordering::Acquire);
            assert!(p <= w + 1, "task {i} was polled {p} times for {w} wakes");
            polls += p;
        }
        assert!(ticks > 0, "the loop kept serving its timer");
        (polls, sent + tasks as u64)
    });
    // Drop the wakers held in the slots while the loop is still alive.
    for s in slots.iter() {
        s.waker.lock().unwrap().take();
    }
    format!(
        "{threads} threads sent {total_wakes} wakes to {tasks} tasks in {seconds} s; \
         {total_polls} polls (<= wakes + 1 per task), every final wake seen"
    )
}

/// The soft limit on open files (`/proc/self/limits`), if it can be read.
fn open_files_limit() -> Option<usize> {
    std::fs::read_to_string("/proc/self/limits")
        .ok()?
        .lines()
        .find(|l| l.starts_with("Max open files"))?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()
}

/// `tcp`: `conns` TCP connections to a local echo server, opened and closed in waves (as
/// many at once as the open-files limit allows, at most `--wave`, 100 by default: each costs
/// two descriptors, both ends live in this process). A wave larger than the listen backlog
/// (128, as std and mio set it) overflows the accept queue: the kernel drops SYNs and each
/// dropped client retries a second later, so a wave of 300 takes over a second.
///
/// Each client sends 32 bytes, reads them back, then sees the server close (end of file):
/// nothing lost, every socket closed. The server closes first, so the TIME_WAIT states sit
/// on the server's side, not on the clients' ephemeral ports.
fn tcp(lp: &Loop, conns: usize, max_wave: usize) -> String {
    use tinyloop::net::{TcpListener, TcpStream};
    let limit = open_files_limit().unwrap_or(1024);
    let wave = ((limit.saturating_sub(64)) / 3).clamp(1, max_wave.max(1));
    lp.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
        let addr = listener.local_addr().unwrap();
        let served = Rc::new(Cell::new(0usize));
        let s = Rc::clone(&served);
        let server = tinyloop::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.expect("accept");
                let s = Rc::clone(&s);
                drop(tinyloop::spawn(async move {
                    let mut buf = [0u8; 32];
                    stream.read_exact(&mut buf).await.expect("server read");
                    stream.write_all(&buf).await.expect("server write");
                    s.set(s.get() + 1);
                    // Dropping the stream closes it: the client sees end of file.
                }));
            }
        });
        let mut done = 0;
        let mut waves = 0;
        while done < conns {
            let n = wave.min(conns - done);
            let clients = (done..done + n).map(|i| async move {
                let mut c = TcpStream::connect(addr).await.expect("connect");
                let msg = [(i % 251) as u8; 32];
                c.write_all(&msg).await.expect("client write");
                let mut back = [0u8; 32];
                c.read_exact(&mut back).await.expect("client read");
                assert_eq!(back, msg, "connection {i} got another's bytes");
                let mut rest = [0u8; 1];
                let eof = c.read(&mut rest).await.expect("client read to the end");
                assert_eq!(eof, 0, "connection {i}: the server closed");
            });
            tinyloop::gather(clients).await;
            done += n;
            waves += 1;
        }
        // Every handler finished (the server side of each connection closed too).
        while served.get() < conns {
            tinyloop::yield_now().await;
        }
        server.cancel();
        let _ = server.await;
        format!(
            "{conns} TCP connections in {waves} waves of up to {wave} (open-files limit {limit}): \
             {} echoed and closed by both ends",
            served.get()
        )
    })
}

/// `threads`: `calls` `to_thread` calls at once; every 7th panics.
fn thread_calls(lp: &Loop, calls: usize) -> String {
    lp.block_on(async move {
        let handles: Vec<_> = (0..calls)
            .map(|i| {
                tinyloop::to_thread(move || {
                    if i % 7 == 3 {
                        panic!("stress: planned panic {i}");
                    }
                    i * 2
                })
            })
            .collect();
        let results = tinyloop::gather(handles).await;
        let (mut ok, mut panicked) = (0, 0);
        for (i, r) in results.into_iter().enumerate() {
            match r {
                Ok(v) => {
                    assert!(i % 7 != 3 && v == i * 2, "call {i} gave {v}");
                    ok += 1;
                }
                Err(tinyloop::JoinError::Panicked(msg)) => {
                    assert!(i % 7 == 3, "call {i} panicked: {msg}");
                    assert_eq!(msg, format!("stress: planned panic {i}"));
                    panicked += 1;
                }
                Err(e) => panic!("call {i}: {e}"),
            }
        }
        assert_eq!(ok + panicked, calls);
        format!("{calls} to_thread calls: {ok} results, {panicked} panics, none lost")
    })
}

fn main() {
    let sizes = Sizes::parse();
    // Planned panics in to_thread closures are expected: keep them off stderr.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let planned = info
            .payload()
            .downcast_ref::<String>()
            .is_some_and(|s| s.starts_with("stress: planned panic"));
        if !planned {
            default_hook(info);
        }
    }));
    println!("stress sizes: {sizes:?}");
    if sizes.wants("tasks") {
        scenario("tasks", true, |lp, _| tasks(lp, sizes.tasks));
    }
    if sizes.wants("timers") {
        scenario("timers", true, |lp, _| timers(lp, sizes.timers));
    }
    if sizes.wants("wakes") {
        scenario("wakes", false, |lp, warm_up| {
            let seconds = if warm_up {
                sizes.seconds.min(0.5)
            } else {
                sizes.seconds
            };
            wakes(lp, sizes.threads, sizes.wake_tasks, seconds)
        });
    }
    if sizes.wants("tcp") {
        scenario("tcp", false, |lp, _| tcp(lp, sizes.conns, sizes.wave));
    }
    if sizes.wants("threads") {
        scenario("threads", false, |lp, _| {
            thread_calls(lp, sizes.thread_calls)
        });
    }
    println!("stress: all scenarios passed");
}
