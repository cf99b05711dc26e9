//! Collects the runs' figures and prints them as a table of medians, as aligned text or as
//! markdown.

use crate::workloads::Sample;
use crate::{Runtime, Workload};

/// Everything measured for one workload at one size.
#[derive(Debug)]
pub struct CaseResult {
    pub workload: &'static Workload,
    pub size: usize,
    /// The samples of each runtime, indexed like `Runtime::ALL`.
    samples: [Vec<Sample>; 4],
    /// The runtimes that were asked for, even if every run failed.
    ran: [bool; 4],
    pub not_built: bool,
    pub errors: Vec<String>,
}

impl CaseResult {
    pub fn new(workload: &'static Workload, size: usize) -> CaseResult {
        CaseResult {
            workload,
            size,
            samples: Default::default(),
            ran: [false; 4],
            not_built: false,
            errors: Vec::new(),
        }
    }

    pub fn record(&mut self, runtime: Runtime, outcome: Result<Sample, String>) {
        let i = index(runtime);
        self.ran[i] = true;
        match outcome {
            Ok(sample) => self.samples[i].push(sample),
            Err(problem) => self.errors.push(format!(
                "{} {} on {}: {problem}",
                self.workload.name,
                count(self.size),
                runtime.name()
            )),
        }
    }

    /// The median of `runtime`'s runs for metric `m`, if it has any.
    pub fn median(&self, runtime: Runtime, m: usize) -> Option<f64> {
        self.cell(runtime, m).median()
    }

    /// What to show in the cell of `runtime` for metric `m`.
    fn cell(&self, runtime: Runtime, m: usize) -> Cell {
        let i = index(runtime);
        if runtime == Runtime::Tinyloop && self.not_built {
            return Cell::NotBuilt;
        }
        if runtime == Runtime::Futures && self.workload.futures.is_none() {
            return Cell::NotApplicable;
        }
        if !self.ran[i] {
            return Cell::NotRun;
        }
        let mut figures: Vec<f64> = self.samples[i].iter().map(|s| s[m]).collect();
        if figures.is_empty() {
            return Cell::Failed;
        }
        figures.sort_by(f64::total_cmp);
        let mid = figures.len() / 2;
        let median = if figures.len() % 2 == 1 {
            figures[mid]
        } else {
            (figures[mid - 1] + figures[mid]) / 2.0
        };
        let spread = (figures[figures.len() - 1] - figures[0]) / 2.0;
        Cell::Median { median, spread }
    }
}

fn index(runtime: Runtime) -> usize {
    Runtime::ALL
        .iter()
        .position(|&r| r == runtime)
        .expect("every runtime is in ALL")
}

#[derive(Debug, Clone, Copy)]
enum Cell {
    Median {
        median: f64,
        spread: f64,
    },
    NotBuilt,
    /// The runtime has no way to run the workload (futures' `LocalPool` has no timers or I/O).
    NotApplicable,
    NotRun,
    Failed,
}

impl Cell {
    fn median(self) -> Option<f64> {
        match self {
            Cell::Median { median, .. } => Some(median),
            _ => None,
        }
    }

    fn show(self, with_spread: bool) -> String {
        match self {
            Cell::Median { median, spread } if with_spread && median > 0.0 => {
                format!("{} ±{:.0}%", figure(median), 100.0 * spread / median)
            }
            Cell::Median { median, .. } => figure(median),
            Cell::NotBuilt => "not built".into(),
            Cell::NotApplicable => "—".into(),
            Cell::NotRun => "-".into(),
            Cell::Failed => "failed".into(),
        }
    }
}

const COLUMNS: [&str; 10] = [
    "workload",
    "size",
    "unit",
    "tinyloop",
    "tokio",
    "smol",
    "futures",
    "/tokio",
    "/best peer",
    "first",
];

/// The table's rows: one per workload, size and metric.
fn rows(results: &[CaseResult], with_spread: bool) -> Vec<[String; 10]> {
    let mut rows = Vec::new();
    for result in results {
        let w = result.workload;
        for (m, metric) in w.metrics.iter().enumerate() {
            let [tl, tk, sm, fu] = Runtime::ALL.map(|rt| result.cell(rt, m));
            // The best peer is the lowest median among the others; lower is better in
            // every metric.
            let best_peer = [tk, sm, fu]
                .into_iter()
                .filter_map(Cell::median)
                .min_by(f64::total_cmp);
            let first = match (tl.median(), best_peer) {
                (Some(tl), Some(best)) if tl < best => "✓",
                _ => "",
            };
            rows.push([
                w.name.to_string(),
                format!("{} {}", count(result.size), w.counts),
                metric.unit.to_string(),
                tl.show(with_spread),
                tk.show(with_spread),
                sm.show(with_spread),
                fu.show(with_spread),
                ratio(tl.median(), tk.median()),
                ratio(tl.median(), best_peer),
                first.to_string(),
            ]);
        }
    }
    rows
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "-".into(),
    }
}

/// The report as aligned plain text; each median carries ± half the range of its runs.
pub fn text(header: &[String], results: &[CaseResult]) -> String {
    let rows = rows(results, true);
    let mut widths = COLUMNS.map(|c| c.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String; 10]| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i < 3 {
                out += &format!("{cell:<w$}  ");
            } else {
                out += &format!("{cell:>w$}  ");
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = String::new();
    for h in header {
        out += h;
        out += "\n";
    }
    out += "\n";
    out += &line(&COLUMNS.map(String::from));
    for row in &rows {
        out += &line(row);
    }
    out += &errors(results);
    out
}

/// The report as markdown: the header as a paragraph, then a table of medians.
pub fn markdown(header: &[String], results: &[CaseResult]) -> String {
    let mut out = String::new();
    for h in header {
        out += &format!("{h}  \n");
    }
    out += "\n| ";
    out += &COLUMNS.join(" | ");
    out += " |\n|";
    for i in 0..COLUMNS.len() {
        out += if i < 3 { " --- |" } else { " ---: |" };
    }
    out += "\n";
    for row in rows(results, false) {
        out += "| ";
        out += &row.join(" | ");
        out += " |\n";
    }
    out += &errors(results);
    out
}

fn errors(results: &[CaseResult]) -> String {
    let mut out = String::new();
    for result in results {
        for problem in &result.errors {
            out += &format!("\nfailed: {problem}");
        }
    }
    if !out.is_empty() {
        out += "\n";
    }
    out
}

/// A figure with about three significant digits and no exponent.
pub fn figure(x: f64) -> String {
    if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// A count the way people say it: 1M, 100k, 2k, 50.
pub fn count(n: usize) -> String {
    if n >= 1_000_000 && n.is_multiple_of(1_000_000) {
        format!("{}M", n / 1_000_000)
    } else if n >= 1_000 && n.is_multiple_of(1_000) {
        format!("{}k", n / 1_000)
    } else {
        n.to_string()
    }
}

/// One run's figures with their units, for progress lines.
pub fn sample(workload: &Workload, sample: &Sample) -> String {
    let parts: Vec<String> = workload
        .metrics
        .iter()
        .zip(sample)
        .map(|(metric, x)| format!("{} {}", figure(*x), metric.unit))
        .collect();
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WORKLOADS;

    fn workload(name: &str) -> &'static Workload {
        WORKLOADS
            .iter()
            .find(|w| w.name == name)
            .expect("a registered workload")
    }

    fn result(name: &str, medians: [Option<f64>; 4]) -> CaseResult {
        let mut result = CaseResult::new(workload(name), 1_000);
        for (rt, median) in Runtime::ALL.into_iter().zip(medians) {
            if let Some(x) = median {
                let figures = vec![x; result.workload.metrics.len()];
                result.record(rt, Ok(figures));
            }
        }
        result
    }

    #[test]
    fn best_peer_is_the_lowest_of_tokio_smol_and_futures() {
        let rows = rows(
            &[result(
                "spawn",
                [Some(300.0), Some(600.0), Some(400.0), Some(200.0)],
            )],
            false,
        );
        let row = &rows[0];
        assert_eq!(row[7], "0.50×", "/tokio");
        assert_eq!(row[8], "1.50×", "/best peer is futures here");
        assert_eq!(row[9], "", "tinyloop is not first");
    }

    #[test]
    fn first_is_marked_only_when_tinyloop_beats_every_peer() {
        let ahead = rows(
            &[result(
                "spawn",
                [Some(100.0), Some(600.0), Some(400.0), Some(200.0)],
            )],
            false,
        );
        assert_eq!(ahead[0][8], "0.50×");
        assert_eq!(ahead[0][9], "✓");
        let tied = rows(
            &[result(
                "spawn",
                [Some(200.0), Some(600.0), Some(400.0), Some(200.0)],
            )],
            false,
        );
        assert_eq!(tied[0][9], "", "a tie is not first");
    }

    #[test]
    fn futures_reads_a_dash_where_it_cannot_run() {
        let rows = rows(
            &[result(
                "timers",
                [Some(500.0), Some(1000.0), Some(800.0), None],
            )],
            false,
        );
        assert_eq!(rows.len(), 2, "one row per metric");
        for row in &rows {
            assert_eq!(row[6], "—");
        }
        assert_eq!(
            rows[0][8], "0.62×",
            "the best peer ignores the missing column"
        );
        assert_eq!(rows[0][9], "✓");
    }
}
