//! What a child process measures with: wall clock, process CPU clock, resident memory.
//!
//! Every workload measures inside the running loop, after the runtime is built and before it
//! is torn down, so building and dropping a runtime is never part of a figure.

use std::time::{Duration, Instant};

/// A wall-clock and a CPU-clock reading taken together.
#[derive(Debug, Clone, Copy)]
pub struct Stopwatch {
    wall: Instant,
    cpu: Duration,
}

impl Stopwatch {
    pub fn start() -> Stopwatch {
        Stopwatch {
            wall: Instant::now(),
            cpu: process_cpu_time(),
        }
    }

    /// Wall time since `start`.
    pub fn wall(&self) -> Duration {
        self.wall.elapsed()
    }

    /// CPU time (user + system, all threads of this process) since `start`.
    pub fn cpu(&self) -> Duration {
        process_cpu_time().saturating_sub(self.cpu)
    }
}

/// Nanoseconds per operation.
pub fn ns_per(d: Duration, ops: usize) -> f64 {
    d.as_nanos() as f64 / ops.max(1) as f64
}

/// Milliseconds, as a float.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// CPU time consumed so far by the whole process (`CLOCK_PROCESS_CPUTIME_ID`): it counts the
/// helper threads a runtime may start, and not the time the process sat descheduled while
/// other programs used the cores.
pub fn process_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec and the clock id is a constant Linux knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID) failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Resident set size of this process in bytes (`VmRSS` in /proc/self/status).
pub fn rss_bytes() -> u64 {
    status_field_kib("VmRSS:") * 1024
}

fn status_field_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status")
        .expect("reading /proc/self/status (the memory workloads need Linux)");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} line in /proc/self/status"))
}

/// Raises the soft (and, when allowed, the hard) limit on open files to at least `want`, and
/// returns the soft limit in force afterwards.
pub fn raise_open_file_limit(want: u64) -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return 0;
    }
    if lim.rlim_cur >= want {
        return lim.rlim_cur;
    }
    // Root may raise the hard limit too; anyone may raise the soft one up to the hard one.
    let raised = libc::rlimit {
        rlim_cur: want,
        rlim_max: lim.rlim_max.max(want),
    };
    // SAFETY: `raised` is a valid rlimit.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
        return want;
    }
    let capped = libc::rlimit {
        rlim_cur: lim.rlim_max,
        rlim_max: lim.rlim_max,
    };
    // SAFETY: `capped` is a valid rlimit.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &capped) } == 0 {
        lim.rlim_max
    } else {
        lim.rlim_cur
    }
}
