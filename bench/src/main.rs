//! tinyloop-bench: runs the same workloads on tinyloop, on tokio's current-thread runtime
//! (with a `LocalSet`), on smol's `LocalExecutor` and on futures' `LocalPool`, and prints a
//! table of medians with tinyloop's ratio to tokio and to the best of the other three.
//!
//! ```text
//! cargo run --release -p tinyloop-bench -- [WORKLOAD...] [--runs N] [--scale small|full]
//!     [--runtime tinyloop,tokio,smol,futures] [--series [--plot FILE]] [--markdown] [--list]
//! ```
//!
//! # How a run works
//!
//! The parent process never runs a workload itself. For every workload × runtime × run it
//! starts itself again as `tinyloop-bench --child WORKLOAD RUNTIME SIZE`; the child builds the
//! runtime, measures inside it, prints its figures on one line and exits. A fresh process per
//! run means RSS and allocator state start clean, and one runtime's memory never shows up in
//! another's figures. Runs are interleaved (run 1 on every runtime, then run 2, ...) and the
//! order of runtimes rotates from run to run, so a burst of noise from a neighbour on the
//! machine lands on all of them alike; the median of the runs is reported.
//!
//! # Adding a workload
//!
//! Write `src/workloads/NAME.rs` with functions `tinyloop`, `tokio`, `smol` (and `futures`
//! when the workload needs no timers and no I/O) taking the size and returning one figure per
//! metric, and add a row to [`WORKLOADS`] below.

mod machine;
mod measure;
mod plot;
mod report;
mod runtimes;
mod workloads;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use workloads::{
    as_completed, gather, idle_memory, idle_tcp, pingpong, semaphore, spawn, tcp_echo, timeout,
    timeout_many, timers, yield_now, Sample,
};

/// One figure a workload reports; its name is the unit, e.g. `ns/task`.
#[derive(Debug)]
pub struct Metric {
    pub unit: &'static str,
}

/// A workload's versions and how to size it.
#[derive(Debug)]
pub struct Workload {
    pub name: &'static str,
    /// What one unit of `size` is, e.g. `tasks`.
    pub counts: &'static str,
    pub metrics: &'static [Metric],
    /// Size under `--scale full` (the default) and `--scale small`.
    pub full: usize,
    pub small: usize,
    /// Also measured at every size of [`SERIES`] under `--series`.
    pub series: bool,
    /// False while the tinyloop side waits behind a cargo feature.
    pub tinyloop_built: bool,
    pub tinyloop: fn(usize) -> Sample,
    pub tokio: fn(usize) -> Sample,
    pub smol: fn(usize) -> Sample,
    /// `None` where the workload needs timers or I/O, which futures' `LocalPool` lacks.
    pub futures: Option<fn(usize) -> Sample>,
}

/// Sizes of the scaling series: per-operation cost should stay flat across them.
const SERIES: [usize; 4] = [1_000, 10_000, 100_000, 1_000_000];

/// Every workload, in the order they are reported.
const WORKLOADS: &[Workload] = &[
    Workload {
        name: "spawn",
        counts: "tasks",
        metrics: &[Metric { unit: "ns/task" }],
        full: 1_000_000,
        small: 100_000,
        series: true,
        tinyloop_built: true,
        tinyloop: spawn::tinyloop,
        tokio: spawn::tokio,
        smol: spawn::smol,
        futures: Some(spawn::futures),
    },
    Workload {
        name: "yield",
        counts: "tasks × 1k yields",
        metrics: &[Metric { unit: "ns/yield" }],
        full: 1_000,
        small: 100,
        series: false,
        tinyloop_built: true,
        tinyloop: yield_now::tinyloop,
        tokio: yield_now::tokio,
        smol: yield_now::smol,
        futures: Some(yield_now::futures),
    },
    Workload {
        name: "timers",
        counts: "timers",
        metrics: &[
            Metric {
                unit: "CPU ns/timer",
            },
            Metric {
                unit: "wall ms (ideal 100)",
            },
        ],
        full: 100_000,
        small: 10_000,
        series: true,
        tinyloop_built: true,
        tinyloop: timers::tinyloop,
        tokio: timers::tokio,
        smol: timers::smol,
        futures: None,
    },
    Workload {
        name: "timeout",
        counts: "timeouts",
        metrics: &[Metric { unit: "ns/timeout" }],
        full: 1_000_000,
        small: 100_000,
        series: true,
        tinyloop_built: true,
        tinyloop: timeout::tinyloop,
        tokio: timeout::tokio,
        smol: timeout::smol,
        futures: None,
    },
    Workload {
        name: "timeout-many",
        counts: "timeouts at once",
        metrics: &[Metric { unit: "ns/timeout" }],
        full: 100_000,
        small: 10_000,
        series: false,
        tinyloop_built: cfg!(feature = "gather"),
        tinyloop: timeout_many::tinyloop,
        tokio: timeout_many::tokio,
        smol: timeout_many::smol,
        futures: None,
    },
    Workload {
        name: "idle-memory",
        counts: "sleeping tasks",
        metrics: &[Metric { unit: "bytes/task" }],
        full: 1_000_000,
        small: 100_000,
        series: true,
        tinyloop_built: true,
        tinyloop: idle_memory::tinyloop,
        tokio: idle_memory::tokio,
        smol: idle_memory::smol,
        futures: None,
    },
    Workload {
        name: "tcp-echo",
        counts: "round trips × 50 conns",
        metrics: &[Metric {
            unit: "ns/round trip",
        }],
        full: 2_000,
        small: 200,
        series: false,
        tinyloop_built: cfg!(feature = "net"),
        tinyloop: tcp_echo::tinyloop,
        tokio: tcp_echo::tokio,
        smol: tcp_echo::smol,
        futures: None,
    },
    Workload {
        name: "idle-tcp",
        counts: "connections",
        metrics: &[Metric {
            unit: "bytes/connection",
        }],
        full: 10_000,
        small: 1_000,
        series: false,
        tinyloop_built: cfg!(feature = "net"),
        tinyloop: idle_tcp::tinyloop,
        tokio: idle_tcp::tokio,
        smol: idle_tcp::smol,
        futures: None,
    },
    Workload {
        name: "pingpong",
        counts: "round trips",
        metrics: &[Metric {
            unit: "ns/round trip",
        }],
        full: 200_000,
        small: 20_000,
        series: false,
        tinyloop_built: cfg!(feature = "sync"),
        tinyloop: pingpong::tinyloop,
        tokio: pingpong::tokio,
        smol: pingpong::smol,
        futures: Some(pingpong::futures),
    },
    Workload {
        name: "semaphore",
        counts: "tasks",
        metrics: &[Metric { unit: "ns/task" }],
        full: 100_000,
        small: 10_000,
        series: false,
        tinyloop_built: cfg!(feature = "sync"),
        tinyloop: semaphore::tinyloop,
        tokio: semaphore::tokio,
        smol: semaphore::smol,
        futures: Some(semaphore::futures),
    },
    Workload {
        name: "gather",
        counts: "futures",
        metrics: &[Metric { unit: "ns/future" }],
        full: 100_000,
        small: 10_000,
        series: false,
        tinyloop_built: cfg!(feature = "gather"),
        tinyloop: gather::tinyloop,
        tokio: gather::tokio,
        smol: gather::smol,
        futures: Some(gather::futures),
    },
    Workload {
        name: "as-completed",
        counts: "timers",
        metrics: &[
            Metric {
                unit: "CPU ns/timer",
            },
            Metric {
                unit: "wall ms (ideal 100)",
            },
        ],
        full: 100_000,
        small: 10_000,
        series: false,
        tinyloop_built: cfg!(feature = "gather"),
        tinyloop: as_completed::tinyloop,
        tokio: as_completed::tokio,
        smol: as_completed::smol,
        futures: None,
    },
];

/// The runtimes compared, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    Tinyloop,
    Tokio,
    Smol,
    Futures,
}

impl Runtime {
    pub const ALL: [Runtime; 4] = [
        Runtime::Tinyloop,
        Runtime::Tokio,
        Runtime::Smol,
        Runtime::Futures,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Runtime::Tinyloop => "tinyloop",
            Runtime::Tokio => "tokio",
            Runtime::Smol => "smol",
            Runtime::Futures => "futures",
        }
    }

    fn parse(name: &str) -> Option<Runtime> {
        Runtime::ALL.into_iter().find(|rt| rt.name() == name)
    }

    /// The workload's version for this runtime; `None` if the runtime cannot run it.
    fn runner(self, workload: &Workload) -> Option<fn(usize) -> Sample> {
        match self {
            Runtime::Tinyloop => Some(workload.tinyloop),
            Runtime::Tokio => Some(workload.tokio),
            Runtime::Smol => Some(workload.smol),
            Runtime::Futures => workload.futures,
        }
    }
}

const USAGE: &str = "\
usage: tinyloop-bench [WORKLOAD...] [options]

Runs each workload on tinyloop, tokio (current-thread + LocalSet), smol (LocalExecutor) and
futures (LocalPool; only workloads without timers or I/O), each run in a fresh process, and
prints the median of the runs, tinyloop's ratio to tokio and to the best of the others.
Without WORKLOAD names it runs every workload whose tinyloop side is built.

options:
  --runs N            runs per workload and runtime (default 5)
  --scale small|full  workload sizes (default full; small is about a tenth)
  --runtime LIST      comma-separated subset of tinyloop,tokio,smol,futures
  --series            run the scaling series (1k, 10k, 100k, 1M) of spawn, timers, timeout
                      and idle-memory
  --plot FILE         with --series: also draw the series as an SVG chart in FILE
  --markdown          print the report as markdown, ready to paste in a README
  --list              list the workloads and exit";

/// A child is killed if it has not finished by then; a hang is reported, not waited out.
const CHILD_TIME_LIMIT: Duration = Duration::from_secs(300);

#[derive(Debug)]
struct Options {
    workloads: Vec<&'static Workload>,
    runs: usize,
    small: bool,
    runtimes: Vec<Runtime>,
    series: bool,
    plot: Option<String>,
    markdown: bool,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--child") => return child(&args[1..]),
        Some("--hold-connections") if args.len() == 3 => {
            idle_tcp::hold_connections(&args[1], args[2].parse().unwrap_or(0));
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if args.iter().any(|a| a == "--list") {
        list();
        return ExitCode::SUCCESS;
    }
    let options = match parse(&args) {
        Ok(options) => options,
        Err(problem) => {
            eprintln!("tinyloop-bench: {problem}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build; its figures mean little. Use --release.");
    }
    let cases = cases(&options);
    let results: Vec<report::CaseResult> = run_all(&cases, &options);
    let header = header(&options);
    if options.markdown {
        print!("{}", report::markdown(&header, &results));
    } else {
        print!("{}", report::text(&header, &results));
    }
    if let Some(file) = &options.plot {
        match plot::series(file, &results) {
            Ok(()) => eprintln!("wrote the scaling series chart to {file}"),
            Err(problem) => {
                eprintln!("tinyloop-bench: cannot draw {file}: {problem}");
                return ExitCode::FAILURE;
            }
        }
    }
    if results.iter().any(|r| !r.errors.is_empty()) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        workloads: Vec::new(),
        runs: 5,
        small: false,
        runtimes: Runtime::ALL.to_vec(),
        series: false,
        plot: None,
        markdown: false,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = |what: &str| {
            inline
                .clone()
                .or_else(|| args.next().cloned())
                .ok_or_else(|| format!("{flag} needs {what}"))
        };
        match flag {
            "--runs" => {
                options.runs = value("a number")?
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or("--runs needs a number of at least 1")?;
            }
            "--scale" => {
                options.small = match value("small or full")?.as_str() {
                    "small" => true,
                    "full" => false,
                    other => return Err(format!("--scale is small or full, not {other:?}")),
                };
            }
            "--runtime" | "--runtimes" => {
                options.runtimes = value("a list of runtimes")?
                    .split(',')
                    .map(|name| {
                        Runtime::parse(name.trim()).ok_or_else(|| {
                            format!(
                                "unknown runtime {name:?}: pick from tinyloop, tokio, smol, futures"
                            )
                        })
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--series" => options.series = true,
            "--plot" => options.plot = Some(value("a file name")?),
            "--markdown" => options.markdown = true,
            _ if flag.starts_with('-') => return Err(format!("unknown option {arg:?}")),
            name => match WORKLOADS.iter().find(|w| w.name == name) {
                Some(workload) => options.workloads.push(workload),
                None => {
                    let known: Vec<_> = WORKLOADS.iter().map(|w| w.name).collect();
                    return Err(format!(
                        "unknown workload {name:?}: pick from {}",
                        known.join(", ")
                    ));
                }
            },
        }
    }
    if options.plot.is_some() && !options.series {
        return Err("--plot draws the scaling series: add --series".into());
    }
    if options.workloads.is_empty() {
        options.workloads = WORKLOADS
            .iter()
            .filter(|w| w.tinyloop_built && (w.series || !options.series))
            .collect();
    }
    Ok(options)
}

fn list() {
    for w in WORKLOADS {
        let units: Vec<_> = w.metrics.iter().map(|m| m.unit).collect();
        let note = if w.tinyloop_built {
            ""
        } else {
            "  [tinyloop side not built]"
        };
        println!(
            "{:<13} {:>5} {:<24} -> {}{note}",
            w.name,
            report::count(w.full),
            w.counts,
            units.join(", ")
        );
    }
}

/// The (workload, size) pairs to measure.
fn cases(options: &Options) -> Vec<(&'static Workload, usize)> {
    let mut cases = Vec::new();
    for &w in &options.workloads {
        if options.series {
            if w.series {
                cases.extend(SERIES.iter().map(|&size| (w, size)));
            } else {
                eprintln!("note: {} has no scaling series; skipped", w.name);
            }
        } else {
            cases.push((w, if options.small { w.small } else { w.full }));
        }
    }
    cases
}

fn run_all(cases: &[(&'static Workload, usize)], options: &Options) -> Vec<report::CaseResult> {
    let mut results = Vec::new();
    for &(workload, size) in cases {
        let mut result = report::CaseResult::new(workload, size);
        for run in 0..options.runs {
            for i in 0..options.runtimes.len() {
                let runtime = options.runtimes[(run + i) % options.runtimes.len()];
                if runtime == Runtime::Tinyloop && !workload.tinyloop_built {
                    result.not_built = true;
                    continue;
                }
                if runtime.runner(workload).is_none() {
                    continue;
                }
                let outcome = run_child(workload, runtime, size);
                let shown = match &outcome {
                    Ok(sample) => report::sample(workload, sample),
                    Err(problem) => format!("FAILED: {problem}"),
                };
                eprintln!(
                    "{} {} {} run {}/{}: {shown}",
                    workload.name,
                    report::count(size),
                    runtime.name(),
                    run + 1,
                    options.runs
                );
                result.record(runtime, outcome);
            }
        }
        results.push(result);
    }
    results
}

/// Runs one workload once on one runtime, in a fresh copy of this program.
fn run_child(workload: &Workload, runtime: Runtime, size: usize) -> Result<Sample, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let mut child = Command::new(exe)
        .args(["--child", workload.name, runtime.name(), &size.to_string()])
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start a child process: {e}"))?;
    // Drain stderr on a thread so a chatty child cannot block on a full pipe.
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let stderr_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if started.elapsed() > CHILD_TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("no result after {CHILD_TIME_LIMIT:?}; killed"));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut line = String::new();
    if let Some(stdout) = child.stdout.take() {
        let _ = BufReader::new(stdout).read_line(&mut line);
    }
    let stderr_text = stderr_reader.join().unwrap_or_default();
    if !status.success() {
        return Err(format!("{status}: {}", failure_message(&stderr_text)));
    }
    let sample: Sample = line
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("child printed {line:?}: {e}"))?;
    if sample.len() != workload.metrics.len() {
        return Err(format!(
            "child printed {line:?}, expected {} figures",
            workload.metrics.len()
        ));
    }
    Ok(sample)
}

/// The gist of a failed child's stderr: its panic message, or else its last line.
fn failure_message(stderr: &str) -> String {
    let mut lines = stderr.lines().skip_while(|l| !l.contains("panicked at"));
    if let Some(location) = lines.next() {
        let message: Vec<&str> = lines
            .take_while(|l| !l.starts_with("note:") && !l.starts_with("stack backtrace:"))
            .collect();
        return format!("{} ({})", message.join(" "), location.trim());
    }
    stderr
        .lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or("no message")
        .to_string()
}

/// The child side: `--child WORKLOAD RUNTIME SIZE`. Prints the figures on one line.
fn child(args: &[String]) -> ExitCode {
    let [name, runtime, size] = args else {
        eprintln!("--child needs WORKLOAD RUNTIME SIZE");
        return ExitCode::from(2);
    };
    let workload = WORKLOADS.iter().find(|w| w.name == name.as_str());
    let runtime = Runtime::parse(runtime);
    let size = size.parse::<usize>().ok();
    let (Some(workload), Some(runtime), Some(size)) = (workload, runtime, size) else {
        eprintln!("--child: bad arguments {args:?}");
        return ExitCode::from(2);
    };
    let Some(runner) = runtime.runner(workload) else {
        eprintln!(
            "--child: {} does not run on {}",
            workload.name,
            runtime.name()
        );
        return ExitCode::from(2);
    };
    let sample = runner(size);
    let figures: Vec<String> = sample.iter().map(|x| x.to_string()).collect();
    println!("{}", figures.join(" "));
    // Leave at once, skipping thread-local destructors (smol's executor still holds the
    // tasks a workload detached): nothing after the figures is measured.
    std::process::exit(0)
}

fn header(options: &Options) -> Vec<String> {
    let sizes = if options.series {
        "scaling series".to_string()
    } else if options.small {
        "scale small".to_string()
    } else {
        "scale full".to_string()
    };
    let mut lines = vec![format!(
        "tinyloop-bench: median of {} runs, each in a fresh process; {sizes}; \
         lower is better; ratios are tinyloop's, to tokio and to the best of tokio, smol \
         and futures; ✓ marks rows where tinyloop is first",
        options.runs
    )];
    lines.extend(machine::describe());
    lines
}
