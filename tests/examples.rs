//! Every example runs, and says what its lesson promises.
//!
//! Examples are not exposed to tests as `CARGO_BIN_EXE_*`, so the first test to get here
//! builds them all with `cargo build --examples` (a no-op when `cargo test` already built
//! them) and then runs the binaries from `target/<profile>/examples/`, with `--scale 0.05`
//! where an example takes it, so the whole file runs in a few seconds once built.
//!
//! Timings: a handful of checks compare two measured durations (async vs sync, concurrent vs
//! sequential), because showing that difference is the point of those lessons. The rules
//! that keep them from ever failing on a slow or busy machine (DESIGN.md, "Testing"):
//!
//! - Lower bounds come from construction and hold on any machine: three blocking 200 ms
//!   sleeps take at least 600 ms, whatever the load.
//! - Every comparison is one-sided, with a wide margin: durations that differ by a factor of
//!   3 to 5 by construction (sleeps and mock latencies, never CPU work) are checked for a
//!   factor of 1.5 to 2.5 ("async took less than 2/3 of sync"), never for a band around the
//!   ideal: an overshooting sleep can only make the slow side slower.
//! - Those examples run with `--scale 0.2` (200 ms sleeps rather than 50 ms), so the margin
//!   is 100 ms or more of scheduling delay, not a few milliseconds.
//! - A timing claim that still fails is run once more (`timing_claim`): a busy machine can
//!   stretch one measurement, a real regression fails twice.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// `target/<profile>/examples`, next to this test binary's `target/<profile>/deps`.
fn examples_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary lives in target/<profile>/deps")
        .join("examples")
}

fn build_examples() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let profile_dir = examples_dir()
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
            .map(str::to_string)
            .expect("target/<profile> has a name");
        let mut cargo = Command::new(env!("CARGO"));
        cargo
            .args(["build", "--examples", "--quiet"])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        // The showcase needs `tinyloop::compat` (`required-features = ["hyper"]`): built and
        // run when this test runs with the feature (CI: `cargo test --all-features`).
        if cfg!(feature = "hyper") {
            cargo.args(["--features", "hyper"]);
        }
        // The dev profile builds into target/debug; every other profile into its own name.
        if profile_dir != "debug" {
            cargo.args(["--profile", &profile_dir]);
        }
        let status = cargo.status().expect("cargo runs");
        assert!(status.success(), "`cargo build --examples` failed");
    });
}

/// Runs example `name` with `args`; returns its stdout, after checking it exited cleanly.
fn run_example(name: &str, args: &[&str]) -> String {
    build_examples();
    let path = examples_dir().join(name);
    let output = Command::new(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("could not run {}: {e}", path.display()));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "example {name} failed ({})\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    stdout
}

/// The line starting with `prefix` (after leading spaces); panics with the output if none.
fn line<'a>(out: &'a str, prefix: &str) -> &'a str {
    out.lines()
        .map(str::trim_start)
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in:\n{out}"))
}

/// The number right after `marker` in `text`, e.g. `number_after("total 1.5 s", "total ")`.
fn number_after(text: &str, marker: &str) -> f64 {
    let at = text
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker:?} in {text:?}"))
        + marker.len();
    let digits: String = text[at..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number after {marker:?} in {text:?}"))
}

const FAST: &[&str] = &["--scale", "0.05"];

/// For the examples whose timings are checked: 1 tutorial second is 200 ms.
const TIMED: &[&str] = &["--scale", "0.2"];

/// Runs example `name` and checks `claim` (a comparison of measured durations) on its
/// output; if the claim fails, runs the example once more and checks again, panicking with
/// the second run's message and output. Returns the output the claim held for.
fn timing_claim(name: &str, args: &[&str], claim: impl Fn(&str) -> Result<(), String>) -> String {
    let out = run_example(name, args);
    match claim(&out) {
        Ok(()) => return out,
        Err(why) => eprintln!("{name}: {why}; running it once more"),
    }
    let out = run_example(name, args);
    if let Err(why) = claim(&out) {
        panic!("{why} (twice in a row):\n{out}");
    }
    out
}

/// `Ok` if `fast` took less than `fraction` of `slow`, else a message saying so.
fn faster(fast: f64, slow: f64, fraction: f64, what: &str) -> Result<(), String> {
    if fast < fraction * slow {
        Ok(())
    } else {
        Err(format!(
            "{what}: took {fast:.3} s, not less than {fraction:.2} of {slow:.3} s"
        ))
    }
}

#[test]
fn sync_vs_async_async_takes_under_two_thirds_of_sync() {
    let totals = |out: &str| {
        (
            number_after(line(out, "sync total:"), "sync total:"),
            number_after(line(out, "async total:"), "async total:"),
        )
    };
    let out = timing_claim("sync_vs_async", TIMED, |out| {
        let (sync, asynchronous) = totals(out);
        faster(asynchronous, sync, 2.0 / 3.0, "async (ideally 1/3 of sync)")
    });
    let (sync, asynchronous) = totals(&out);
    assert!(
        sync >= 0.6,
        "three 200 ms blocking sleeps take at least 600 ms:\n{out}"
    );
    assert!(asynchronous >= 0.2, "the longest sleep is 200 ms:\n{out}");
    // All three start before any finishes.
    let a_done = out.find("[async] Task A finished").unwrap();
    assert!(
        out.find("[async] Task C started").unwrap() < a_done,
        "{out}"
    );
}

#[test]
fn create_task_starts_tasks_at_the_first_await() {
    let out = run_example("create_task", FAST);
    assert!(out.contains("Hello\nWorld\nDone\n"), "{out}");
    let waiting = out.find("tasks started, waiting...").unwrap();
    let first_fetch = out.find("fetching data from Database A").unwrap();
    assert!(
        waiting < first_fetch,
        "spawned tasks start at main's first await:\n{out}"
    );
    line(
        &out,
        "results: Database A_data, Database B_data, API-C_data",
    );
    assert!(
        line(&out, "nested tinyloop::run panicked:").contains("already running"),
        "{out}"
    );
}

#[test]
fn sequential_vs_concurrent_only_spawn_and_gather_overlap() {
    let time = |out: &str, label: &str| {
        let l = line(out, label);
        number_after(&l[label.len()..], "")
    };
    let bad = "bad: await one by one";
    let good = "good: spawn all, then await";
    let better = "better: gather";
    let trap = "trap: build futures, await in loop";
    let out = timing_claim("sequential_vs_concurrent", TIMED, |out| {
        // Ideally a third of the sequential time; claimed: under two thirds.
        faster(time(out, good), time(out, bad), 2.0 / 3.0, good)?;
        faster(time(out, better), time(out, bad), 2.0 / 3.0, better)?;
        faster(time(out, better), time(out, trap), 2.0 / 3.0, better)
    });
    assert!(
        time(&out, bad) >= 0.3 && time(&out, trap) >= 0.3,
        "three sequential 100 ms waits (halved 1 s, x 0.2):\n{out}"
    );
}

#[test]
fn timeouts_and_errors_keeps_partial_results() {
    let out = run_example("timeouts_and_errors", FAST);
    assert!(out.contains("slow API: cancelled after"), "{out}");
    line(&out, "-> Some(\"default_value\")");
    line(
        &out,
        "API call failed: the API answered with an error: HTTP 503",
    );
    line(
        &out,
        "results: [Ok(\"API-A_data\"), Err(TimeoutError), Ok(\"API-C_data\")]",
    );
    line(&out, "kept 2 of 3: [\"API-A_data\", \"API-C_data\"]");
    assert!(
        out.contains("API-A: cancelled") && out.contains("API-D: cancelled"),
        "{out}"
    );
    line(&out, "try_gather failed after");
}

#[test]
fn gather_wait_as_completed_orders() {
    // `wait`'s counts depend on which sleeps have ended when it returns: the sources are 50 ms
    // apart at this scale, so only a stall of the loop longer than that (twice) can mix them.
    let out = timing_claim("gather_wait_as_completed", TIMED, |out| {
        let first = "FirstException:";
        if !line(out, first).ends_with("with 3 done, 1 pending") {
            return Err(format!("{first} saw another task end too"));
        }
        if !line(out, "AllCompleted:").ends_with("with 1 done, 0 pending") {
            return Err("AllCompleted: one task was expected to be left".to_string());
        }
        Ok(())
    });
    line(
        &out,
        "gather order: [\"source 1_data\", \"source 2_data\", \"source 3_data\"]",
    );
    line(
        &out,
        "FirstCompleted: the fastest task returned Ok(\"source 0_data\")",
    );
    line(&out, "4 tasks are still pending");
    line(&out, "failed: source 3 refused the request");
    let inputs: Vec<f64> = out
        .lines()
        .filter(|l| l.trim_start().starts_with("received "))
        .map(|l| number_after(l, "(input #"))
        .collect();
    assert_eq!(inputs, vec![4.0, 3.0, 2.0, 1.0, 0.0], "{out}");
    assert!(out.contains("qwen   [first, shown to the user]"), "{out}");
    line(&out, "the 2 slower calls were cancelled");
    line(&out, "a child failed: knowledge base offline");
    line(&out, "so the slow sibling was cancelled");
}

#[test]
fn producer_consumer_finishes_all_20_tasks() {
    let out = run_example("producer_consumer", FAST);
    let stop = line(&out, "stop signals: all");
    assert!(stop.starts_with("stop signals: all 20 tasks done"), "{out}");
    assert!(stop.contains("results queue holds 20"), "{out}");
    assert_eq!(out.matches("produced task_").count(), 20, "{out}");
    assert!(
        line(&out, "shutdown: all").starts_with("shutdown: all 20 tasks done"),
        "{out}"
    );
    assert!(out.contains("(back-pressure)"), "{out}");
}

#[test]
fn semaphore_caps_concurrency_at_5() {
    let out = run_example("semaphore_rate_limit", FAST);
    let limited = line(&out, "with Semaphore(5):");
    assert!(limited.contains("100 requests"), "{out}");
    assert_eq!(
        number_after(limited, "max concurrency observed:"),
        5.0,
        "{out}"
    );
    let unlimited = line(&out, "without it:");
    assert_eq!(
        number_after(unlimited, "max concurrency observed:"),
        100.0,
        "{out}"
    );
    assert!(
        out.contains("Semaphore { permits: 0, waiters: 95 }"),
        "{out}"
    );
}

#[test]
fn lock_counter_is_100() {
    let out = run_example("lock_counter", FAST);
    line(&out, "with Lock: counter = 100 (expected 100)");
    let lost = number_after(line(&out, "without a lock:"), "counter =");
    assert!(lost < 100.0, "without the lock, updates are lost:\n{out}");
}

#[test]
fn dos_and_donts_shows_the_cost_of_blocking() {
    let total = |out: &str, label: &str| number_after(line(out, label), "total");
    let gap = |out: &str, label: &str| number_after(line(out, label), "longest gap");
    let blocking = "blocking: std::thread::sleep";
    let out = timing_claim("dos_and_donts", TIMED, |out| {
        // Ideally a third of the blocking time; claimed: under two thirds.
        for label in [
            "async: tinyloop::sleep().await",
            "to_thread: blocking on a worker",
        ] {
            faster(total(out, label), total(out, blocking), 2.0 / 3.0, label)?;
        }
        Ok(())
    });
    // Three blocking 100 ms sleeps in a row take at least 300 ms, and stall the heartbeat
    // as long (it started its tick before they began).
    assert!(total(&out, blocking) >= 0.3, "{out}");
    assert!(gap(&out, blocking) >= 0.3, "{out}");
    line(&out, "without .await: waited");
    assert!(
        line(&out, "without .await:").ends_with("send_reminder ran 0 times"),
        "{out}"
    );
    line(&out, "with .await: send_reminder ran 1 time");
    line(&out, "cleaning up resources...");
    line(&out, "worker ended: cancelled");
}

#[test]
fn mini_loop_runs_three_tasks_in_the_time_of_one() {
    let total = |out: &str| number_after(line(out, "mini_loop total:"), "mini_loop total:");
    // Three 200 ms sleeps at once take about 200 ms; one after another they would take
    // 600 ms. Claimed: under two thirds of that.
    let out = timing_claim("mini_loop", TIMED, |out| {
        faster(total(out), 0.6, 2.0 / 3.0, "three concurrent 200 ms sleeps")
    });
    line(
        &out,
        "results: [\"Task A result\", \"Task B result\", \"Task C result\"]",
    );
    assert!(total(&out) >= 0.2, "the sleeps took their 200 ms:\n{out}");
}

/// The `| scenario | sequential | concurrent | speed-up |` row for `scenario`, as numbers.
#[cfg(feature = "hyper")]
fn table_row(out: &str, scenario: &str) -> (f64, f64) {
    let row = out
        .lines()
        .find(|l| l.starts_with(&format!("| {scenario} ")))
        .unwrap_or_else(|| panic!("no table row {scenario:?} in:\n{out}"));
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    (number_after(cells[2], ""), number_after(cells[3], ""))
}

#[cfg(feature = "hyper")]
#[test]
fn api_client_speed_ups_are_real() {
    let args = ["--latency-ms", "100", "--requests", "10"];
    let out = timing_claim("api_client", &args, |out| {
        // Ideally 5x faster (5 calls at once, or 10 through a limit of 5); claimed: 2.5x.
        for row in ["5 API calls", "10 API calls"] {
            let (seq, con) = table_row(out, row);
            faster(con, seq, 1.0 / 2.5, &format!("{row}, concurrently"))?;
        }
        // Ideally ~1.3x (only the fan-outs overlap); claimed: faster at all.
        let (seq, con) = table_row(out, "mixed: 3 retrievals + LLM + 3 tools + summary");
        faster(con, seq, 1.0, "the mixed pipeline, concurrently")
    });
    let (seq, con) = table_row(&out, "1 API call");
    assert!(
        seq >= 0.1 && con >= 0.1,
        "one call takes the mock's 100 ms:\n{out}"
    );

    // The flaky server's story is fixed by its hash: retries after a 500 and after a timeout,
    // one prompt that gives up, and a 400 that is never retried.
    assert!(out.contains("ok     [500, 200]"), "{out}");
    assert!(out.contains("ok     [timeout, 200]"), "{out}");
    assert!(out.contains("failed [500, 500, 500]"), "{out}");
    assert!(out.contains("failed [400]"), "{out}");
    assert!(out.contains("over TLS"), "{out}");
    let batch = line(&out, "batch:");
    assert!(batch.starts_with("batch: 9 of 11 ok, 2 failed"), "{out}");
    assert!(
        batch.ends_with("at most 5 requests were in flight (limit 5)"),
        "{out}"
    );
}

#[test]
fn http_client_lesson_reads_chunked_http10_emoji_and_refuses_absurd_lengths() {
    let out = run_example("http_client_lesson", &[]);
    assert!(
        line(&out, "case 1:").contains("next reply on the same connection is intact"),
        "{out}"
    );
    assert!(line(&out, "case 2:").contains("status 500"), "{out}");
    assert!(line(&out, "case 3:").contains("\u{1F600}"), "{out}");
    assert!(
        line(&out, "case 4:").contains("1000000000000 bytes, over"),
        "{out}"
    );
    assert!(line(&out, "self-test passed").contains("4 cases"), "{out}");
}

#[test]
fn echo_server_serves_its_own_clients() {
    let out = run_example("echo_server", &["--self-test"]);
    assert!(
        line(&out, "self-test passed").contains("3 clients echoed"),
        "{out}"
    );
}

#[test]
fn http_server_answers_keep_alive_and_pipelined_requests() {
    let out = run_example("http_server", &["--self-test"]);
    assert!(
        line(&out, "self-test passed").contains("pipelined"),
        "{out}"
    );
}

/// `examples/http_server` running in its own process with short timeouts; killed on drop.
struct HttpServer {
    child: std::process::Child,
    addr: std::net::SocketAddr,
}

impl HttpServer {
    const TIMEOUT: Duration = Duration::from_millis(300);

    fn start() -> HttpServer {
        use std::io::BufRead;
        build_examples();
        let ms = Self::TIMEOUT.as_millis().to_string();
        let mut child = Command::new(examples_dir().join("http_server"))
            .args(["--addr", "127.0.0.1:0", "--header-timeout-ms", &ms])
            .args(["--idle-timeout-ms", &ms])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("http_server starts");
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let addr = first
            .trim()
            .strip_prefix("HTTP server listening on http://")
            .and_then(|a| a.strip_suffix('/'))
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .parse()
            .unwrap();
        HttpServer { child, addr }
    }

    fn connect(&self) -> std::net::TcpStream {
        let s = std::net::TcpStream::connect(self.addr).unwrap();
        // Only so that a broken server fails the test instead of hanging it.
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s
    }

    /// Sends `bytes` (the server may hang up before taking them all), half-closes, and
    /// returns everything the server answered up to its close.
    fn exchange(&self, bytes: &[u8]) -> String {
        use std::io::Write;
        let mut s = self.connect();
        let _ = s.write_all(bytes);
        let _ = s.shutdown(std::net::Shutdown::Write);
        read_until_closed(&mut s)
    }

    fn resident_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        number_after(line(&status, "VmRSS:"), "VmRSS:") as u64
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads until the peer closes (or resets) the connection.
fn read_until_closed(s: &mut std::net::TcpStream) -> String {
    use std::io::Read;
    let mut got = Vec::new();
    let mut buf = [0; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                panic!("the server kept the connection open for 30 s")
            }
            Err(_) => break, // reset: whatever arrived before it counts
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[test]
fn http_server_survives_hostile_clients() {
    let server = HttpServer::start();
    let ok = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    assert!(server
        .exchange(ok.as_bytes())
        .starts_with("HTTP/1.1 200 OK"));
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "absurd Content-Length",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000000\r\n\r\nabc".to_vec(),
            "HTTP/1.1 413 ",
        ),
        (
            "endless request line",
            [b"GET /".as_slice(), &[b'a'; 200_000]].concat(),
            "HTTP/1.1 414 ",
        ),
        (
            "endless header line",
            [b"GET / HTTP/1.1\r\nX-Long: ".as_slice(), &[b'b'; 200_000]].concat(),
            "HTTP/1.1 431 ",
        ),
        (
            "too many headers",
            format!("GET / HTTP/1.1\r\n{}\r\n", "X-H: v\r\n".repeat(1000)).into_bytes(),
            "HTTP/1.1 431 ",
        ),
        (
            "garbage (a TLS hello)",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\xff\xfe\r\n\r\n".to_vec(),
            "HTTP/1.1 400 ",
        ),
        (
            "a signed Content-Length",
            b"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\nhello".to_vec(),
            "HTTP/1.1 400 ",
        ),
        (
            "two different Content-Lengths",
            b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!".to_vec(),
            "HTTP/1.1 400 ",
        ),
        (
            "a chunked body",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
                .to_vec(),
            "HTTP/1.1 411 ",
        ),
        (
            "an unknown transfer coding",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n".to_vec(),
            "HTTP/1.1 501 ",
        ),
        (
            "a request line that never ends (EOF)",
            b"GET / HTTP/1.1\r\nHost:".to_vec(),
            "",
        ),
    ];
    for (what, bytes, expect) in &cases {
        let got = server.exchange(bytes);
        assert!(
            got.starts_with(expect),
            "{what}: expected {expect:?}, got {got:?}"
        );
        if expect.is_empty() {
            assert_eq!(got, "", "{what}: closed without an answer");
        }
    }

    // Slowloris: the head trickles in one byte every 20 ms and would never end.
    let mut slow = server.connect();
    let mut writer = slow.try_clone().unwrap();
    let start = std::time::Instant::now();
    let trickle = std::thread::spawn(move || {
        use std::io::Write;
        let _ = writer.write_all(b"GET / HTTP/1.1\r\n");
        for _ in 0..1500 {
            // 30 s at most; stops as soon as the server has hung up.
            if writer.write_all(b"X").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let answer = read_until_closed(&mut slow);
    let took = start.elapsed();
    assert!(answer.starts_with("HTTP/1.1 408 "), "slowloris: {answer:?}");
    assert!(
        took >= HttpServer::TIMEOUT,
        "closed after {took:?}, before the deadline"
    );
    trickle.join().unwrap();

    // Idle keep-alive: one request, then silence; the server hangs up after the idle timeout.
    let mut idle = server.connect();
    std::io::Write::write_all(&mut idle, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let start = std::time::Instant::now();
    let answer = read_until_closed(&mut idle);
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer:?}");
    assert!(
        start.elapsed() >= HttpServer::TIMEOUT,
        "closed before the idle timeout"
    );

    // A client that pipelines requests for ever and never reads the answers: the server must
    // stop reading once its answers back up, not buffer them without end.
    let mut flood = server.connect();
    flood
        .set_write_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let burst = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(1000);
    let mut sent = 0;
    for _ in 0..2000 {
        // Up to 56 MB of requests, about 200 MB of answers if the server kept them all.
        match std::io::Write::write_all(&mut flood, &burst) {
            Ok(()) => sent += burst.len(),
            Err(_) => break, // the server stopped reading: backpressure reached us
        }
    }
    let rss = server.resident_kib();
    assert!(
        rss < 64 * 1024,
        "after {sent} bytes of unread pipelining the server holds {rss} KiB"
    );
    drop(flood);

    // Still serving, and not bloated by what it was sent (well over a megabyte of junk).
    assert!(server
        .exchange(ok.as_bytes())
        .starts_with("HTTP/1.1 200 OK"));
    let rss = server.resident_kib();
    assert!(
        rss < 64 * 1024,
        "the server holds {rss} KiB after the attacks"
    );
}

#[test]
fn timeline_draws_the_three_tutorial_tasks() {
    let out = run_example("timeline", &[]);
    for task in ["A", "B", "C"] {
        assert!(
            out.lines().any(|l| l.trim_start().starts_with(task)),
            "no row for task {task} in:\n{out}"
        );
    }
}

#[test]
fn lost_update_is_found_by_a_seed_replayed_and_fixed_by_the_lock() {
    let out = run_example("lost_update", &["--seeds", "50"]);
    line(
        &out,
        "FIFO order: the racy server counts 100 of 100 requests, test passes",
    );
    let found = line(&out, "sim::explore: seed ");
    let seed = number_after(found, "sim::explore: seed ") as u64;
    let message = line(&out, "lost update: req-");
    line(&out, &format!("replay: TINYLOOP_SEED={seed} "));
    // The timeline is cut down to the two handlers the message names.
    let racers: Vec<&str> = message
        .split_whitespace()
        .filter(|w| w.starts_with("req-"))
        .collect();
    assert_eq!(racers.len(), 2, "{message}");
    for racer in &racers {
        line(&out, &format!("{racer} "));
    }
    let rows = out.lines().filter(|l| l.starts_with("req-")).count();
    assert_eq!(rows, 2, "only the racers' rows:\n{out}");
    line(&out, "with the Lock: 50 of 50 seeds pass");

    // The replay line replays: the same seed, the same race.
    let replayed = Command::new(examples_dir().join("lost_update"))
        .env("TINYLOOP_SEED", seed.to_string())
        .output()
        .expect("the example runs again");
    assert!(replayed.status.success());
    let replayed = String::from_utf8_lossy(&replayed.stdout);
    line(
        &replayed,
        &format!("sim::explore: seed {seed} fails (found in 1 run)"),
    );
    assert_eq!(line(&replayed, "lost update: req-"), message);
}
