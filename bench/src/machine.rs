//! What the figures were measured on: cores, CPU model, kernel, compiler, runtime versions.

/// A few lines that describe the machine and the software, for the top of a report.
pub fn describe() -> Vec<String> {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = cpu_model().unwrap_or_else(|| "unknown CPU".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| format!("Linux {}", s.trim()))
        .unwrap_or_else(|_| std::env::consts::OS.into());
    vec![
        format!("machine: {cores} CPUs (nproc), {cpu}, {kernel}"),
        format!(
            "software: {}; {} (tokio: current-thread runtime + LocalSet; \
             smol: async-executor LocalExecutor on async-io block_on; \
             futures: futures-executor LocalPool)",
            env!("BENCH_RUSTC"),
            env!("BENCH_VERSIONS")
        ),
    ]
}

/// The `model name` line of /proc/cpuinfo.
fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find(|line| line.starts_with("model name"))
        .and_then(|line| line.split_once(':'))
        .map(|(_, model)| model.trim().to_string())
}
