//! The loop's event trace, drawn: an ASCII timeline with one row per task, and the Chrome
//! trace event format that Perfetto (<https://ui.perfetto.dev>) and `chrome://tracing` open.
//!
//! asyncio has nothing built in for this (tools like `viztracer` trace it from outside).
//! Build the loop with [`LoopBuilder::trace`](crate::LoopBuilder::trace) and the loop records
//! every spawn, poll, wake (and who woke whom), timer, I/O readiness, cancellation and
//! completion in a bounded ring (`runtime/observe/trace.rs` describes the recorder). Then:
//!
//! * inside the loop: [`timeline`], [`chrome_json`] or [`snapshot`];
//! * after `block_on` returns: [`Loop::trace_snapshot`](crate::Loop::trace_snapshot).
//!
//! The timeline of three tasks that each sleep one second (`examples/timeline.rs`, the
//! tutorial's tasks A, B and C):
//!
//! ```text
//! main  █─await A───────────────────────────────────────────────────█  done after 2 polls
//! A     █─sleep 1 s─────────────────────────────────────────────────█  done after 2 polls
//! B     █─sleep 1 s─────────────────────────────────────────────────█  done after 2 polls
//! C     █─sleep 1 s─────────────────────────────────────────────────█  done after 2 polls
//!       ├──────────────┼──────────────┼──────────────┼──────────────┤
//!       0 s            0.25 s         0.5 s          0.75 s       1 s
//! ```
//!
//! All three wait at the same time: the whole run takes one second, not three. `█` is a
//! poll (the task runs), `░` a task that was woken and waits for its turn in the ready
//! queue, `─` a task waiting for a wake-up, labelled with what it waits on.
//!
//! ```
//! use std::time::Duration;
//!
//! let lp = tinyloop::Loop::builder().virtual_time(true).trace(true).build().unwrap();
//! lp.block_on(async {
//!     let a = tinyloop::spawn_named("A", tinyloop::sleep(Duration::from_secs(1)));
//!     a.await.unwrap();
//! });
//! let trace = lp.trace_snapshot().unwrap();
//! assert!(trace.timeline().contains("sleep 1 s"));
//! assert!(trace.chrome_json().starts_with('{'));
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::runtime::context;
use crate::runtime::core::Core;
use crate::runtime::observe::dump::{fmt_duration, fmt_in_unit_with, unit_for};
use crate::runtime::observe::trace::{By, Event, Label, Outcome, What, CALLBACKS, MAIN};

/// Columns of the timeline's time axis unless asked otherwise.
const DEFAULT_COLUMNS: usize = 61;

/// A copy of a loop's event trace, to render.
#[derive(Clone, Debug)]
pub struct Trace {
    events: Vec<Event>,
    dropped: u64,
    virtual_time: bool,
}

/// The running loop's trace so far; `None` outside a loop or when it was built without
/// [`LoopBuilder::trace`](crate::LoopBuilder::trace).
pub fn snapshot() -> Option<Trace> {
    context::try_with_core(|core| Trace::of(core)).flatten()
}

/// The running loop's trace as an ASCII timeline (see [`Trace::timeline`]); a sentence
/// saying why not, outside a loop or with tracing off.
pub fn timeline() -> String {
    match snapshot() {
        Some(trace) => trace.timeline(),
        None => NO_TRACE.to_string() + "\n",
    }
}

/// The running loop's trace in the Chrome trace event format (see [`Trace::chrome_json`]);
/// an empty trace outside a loop or with tracing off.
pub fn chrome_json() -> String {
    match snapshot() {
        Some(trace) => trace.chrome_json(),
        None => format!(
            "{{\"traceEvents\":[],\"otherData\":{{\"note\":{}}}}}",
            json_str(NO_TRACE)
        ),
    }
}

const NO_TRACE: &str = "no trace: no tinyloop loop is running on this thread, or it was \
                        built without LoopBuilder::trace(true)";

impl Trace {
    pub(crate) fn of(core: &Core) -> Option<Trace> {
        let tracer = core.observe.trace.as_ref()?;
        let (events, dropped) = tracer.snapshot();
        Some(Trace {
            events,
            dropped,
            virtual_time: core.clock.is_virtual(),
        })
    }

    /// Number of events kept.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// How many of the oldest events the ring dropped to stay within its bound.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The trace as an ASCII timeline, the tutorial's event-loop diagram: one row per task
    /// (the main future first, callbacks last), `█` where it ran, `░` where it was ready
    /// and waited for its turn, `─` where it waited for a wake-up, labelled with what it
    /// waited on, over a time axis in the loop's time.
    pub fn timeline(&self) -> String {
        self.timeline_with_columns(DEFAULT_COLUMNS)
    }

    /// [`timeline`](Self::timeline) with `columns` columns for the time axis (at least 9).
    pub fn timeline_with_columns(&self, columns: usize) -> String {
        render_timeline(self, columns.max(9))
    }

    /// The trace in the Chrome trace event format (JSON), which Perfetto and
    /// `chrome://tracing` open: each task is a thread, each poll a complete ("X") slice
    /// whose `args` say how it ended and what the task then waited on, and spawns, wakes
    /// (with who woke), cancellations and completions are instant ("i") events; timer and
    /// I/O turns are process-wide instants. Timestamps are microseconds of loop time.
    pub fn chrome_json(&self) -> String {
        render_chrome_json(self)
    }
}

// ----- reading the events back into rows --------------------------------------------------

#[derive(Debug, Default)]
struct Row {
    name: Option<String>,
    /// When it was spawned (or first seen).
    born: Option<u64>,
    ended: Option<(u64, Outcome)>,
    polls: Vec<Span>,
    /// Woken at, until its next poll starts.
    woken: Option<u64>,
    ready: Vec<(u64, u64)>,
    polling: Option<u64>,
}

#[derive(Debug)]
struct Span {
    start: u64,
    end: u64,
    outcome: Outcome,
    label: Option<Label>,
}

struct Rows {
    rows: BTreeMap<u64, Row>,
    first: u64,
    last: u64,
}

fn read_rows(events: &[Event]) -> Rows {
    let mut rows: BTreeMap<u64, Row> = BTreeMap::new();
    let first = events.first().map_or(0, |e| e.at);
    let last = events.last().map_or(0, |e| e.at);
    for e in events {
        let at = e.at;
        let task = match &e.what {
            What::Spawn { task, .. }
            | What::PollStart { task }
            | What::PollEnd { task, .. }
            | What::Wake { task, .. }
            | What::Done { task, .. } => *task,
            What::Cancel { .. } | What::TimersFired { .. } | What::IoReady { .. } => continue,
        };
        let row = rows.entry(task).or_default();
        row.born.get_or_insert(at);
        match &e.what {
            What::Spawn { name, .. } => {
                row.born = Some(at);
                row.woken = Some(at); // ready from the start, until its first poll
                row.name = name.as_ref().map(|n| n.to_string());
            }
            What::PollStart { .. } => {
                if let Some(woken) = row.woken.take() {
                    row.ready.push((woken, at));
                }
                row.polling = Some(at);
            }
            What::PollEnd {
                outcome, waits_on, ..
            } => {
                let start = row.polling.take().unwrap_or(at);
                row.polls.push(Span {
                    start,
                    end: at,
                    outcome: *outcome,
                    label: *waits_on,
                });
            }
            What::Wake { .. } => {
                row.woken.get_or_insert(at);
            }
            What::Done { outcome, .. } => {
                row.ended = Some((at, *outcome));
                row.woken = None;
            }
            What::Cancel { .. } | What::TimersFired { .. } | What::IoReady { .. } => {}
        }
    }
    // A poll still running when the snapshot was taken (the caller's own) runs to the end.
    for row in rows.values_mut() {
        if let Some(start) = row.polling.take() {
            row.polls.push(Span {
                start,
                end: last,
                outcome: Outcome::Pending,
                label: None,
            });
        }
    }
    Rows { rows, first, last }
}

fn row_name(task: u64, row: &Row) -> String {
    match task {
        MAIN => "main".to_string(),
        CALLBACKS => "callbacks".to_string(),
        n => row.name.clone().unwrap_or_else(|| format!("Task-{n}")),
    }
}

fn label_text(label: &Label, rows: &Rows) -> String {
    match label {
        Label::Sleep(d) => format!("sleep {}", fmt_duration(*d)),
        Label::Named(name) => (*name).to_string(),
        Label::Task(n) => {
            let name = rows
                .rows
                .get(n)
                .map_or_else(|| format!("Task-{n}"), |row| row_name(*n, row));
            format!("await {name}")
        }
    }
}

// ----- the ASCII timeline -----------------------------------------------------------------

fn render_timeline(trace: &Trace, columns: usize) -> String {
    let rows = read_rows(&trace.events);
    let mut out = String::new();
    if rows.rows.is_empty() {
        out.push_str("(the trace is empty)\n");
        return out;
    }
    let span = (rows.last - rows.first).max(1);
    let col = |t: u64| -> usize {
        let off = u128::from(t.saturating_sub(rows.first));
        (off * (columns as u128 - 1) / u128::from(span)) as usize
    };
    let tasks = rows.rows.keys().filter(|&&t| t != MAIN && t != CALLBACKS);
    let clock = if trace.virtual_time {
        "virtual"
    } else {
        "real"
    };
    let _ = writeln!(
        out,
        "timeline of {} task{} on the loop's {clock} clock, {} to {}, one column = {}",
        tasks.clone().count(),
        if tasks.count() == 1 { "" } else { "s" },
        fmt_duration(Duration::from_nanos(rows.first)),
        fmt_duration(Duration::from_nanos(rows.last)),
        fmt_duration(Duration::from_nanos(span / (columns as u64 - 1)))
    );
    if trace.dropped > 0 {
        let _ = writeln!(
            out,
            "(the {} oldest events were dropped: the ring keeps the latest ones)",
            trace.dropped
        );
    }
    let names: Vec<String> = rows
        .rows
        .iter()
        .map(|(&task, row)| {
            let name = row_name(task, row);
            match name.char_indices().nth(20) {
                Some((cut, _)) => format!("{}…", &name[..cut]),
                None => name,
            }
        })
        .collect();
    let name_width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);

    for ((&task, row), name) in rows.rows.iter().zip(&names) {
        let mut cells = vec![' '; columns];
        if task != CALLBACKS {
            let born = col(row.born.unwrap_or(rows.first));
            let end = col(row_end(row, rows.last));
            for c in &mut cells[born..=end.max(born)] {
                *c = '─';
            }
        }
        for &(from, to) in &row.ready {
            for c in &mut cells[col(from)..=col(to)] {
                *c = '░';
            }
        }
        if let Some(from) = row.woken {
            let to = row_end(row, rows.last);
            for c in &mut cells[col(from)..=col(to.max(from))] {
                *c = '░';
            }
        }
        for p in &row.polls {
            for c in &mut cells[col(p.start)..=col(p.end)] {
                *c = '█';
            }
        }
        // Write what each poll left the task waiting on into the gap that follows it.
        for p in &row.polls {
            let Some(label) = &p.label else { continue };
            let text: Vec<char> = label_text(label, &rows).chars().collect();
            let from = col(p.end) + 2;
            let fits = from + text.len() < columns
                && cells[from - 1..=from + text.len()]
                    .iter()
                    .all(|&c| c == '─');
            if fits {
                cells[from..from + text.len()].copy_from_slice(&text);
            }
        }
        let summary = row_summary(task, row);
        let cells: String = cells.into_iter().collect();
        let _ = writeln!(out, "{name:<name_width$}  {cells}  {summary}");
    }

    // The time axis: five ticks, labelled in the loop's time.
    let ticks: Vec<usize> = (0..=4).map(|k| k * (columns - 1) / 4).collect();
    let mut axis = vec!['─'; columns];
    for (i, &t) in ticks.iter().enumerate() {
        axis[t] = match i {
            0 => '├',
            4 => '┤',
            _ => '┼',
        };
    }
    let unit = unit_for(Duration::from_nanos(rows.last.max(1)));
    let decimals = decimals_for(Duration::from_nanos(span / 4), unit);
    let texts: Vec<Vec<char>> = (0..=4u64)
        .map(|k| {
            let at = Duration::from_nanos(rows.first + span * k / 4);
            fmt_in_unit_with(at, unit, decimals).chars().collect()
        })
        .collect();
    // The last label ends under the last tick; the others start under theirs and give way
    // where they would run into a neighbour.
    let last_start = columns.saturating_sub(texts[4].len());
    let mut labels = vec![' '; columns];
    labels[last_start..last_start + texts[4].len()].copy_from_slice(&texts[4]);
    let mut free_from = 0;
    for (text, &t) in texts.iter().zip(&ticks).take(4) {
        if t < free_from || t + text.len() >= last_start {
            continue;
        }
        labels[t..t + text.len()].copy_from_slice(text);
        free_from = t + text.len() + 1;
    }
    let pad = " ".repeat(name_width + 2);
    let _ = writeln!(out, "{pad}{}", axis.into_iter().collect::<String>());
    let labels: String = labels.into_iter().collect();
    let _ = writeln!(out, "{pad}{}", labels.trim_end());
    let _ = writeln!(
        out,
        "{pad}█ running   ░ ready, waiting for its turn   ─ waiting for a wake-up"
    );
    out
}

/// When a row's life ends: a task that finished in a poll ends with that poll.
fn row_end(row: &Row, last: u64) -> u64 {
    match row.ended {
        Some((t, Outcome::Ready | Outcome::Panicked)) => row.polls.last().map_or(t, |p| p.end),
        Some((t, _)) => t,
        None => last,
    }
}

/// Enough decimals for ticks `step` apart to read differently (at most three).
fn decimals_for(step: Duration, unit: &'static str) -> usize {
    let scale = match unit {
        "s" => 1.0,
        "ms" => 1e3,
        "µs" => 1e6,
        _ => 1e9,
    };
    let step = step.as_secs_f64() * scale;
    if step <= 0.0 {
        return 0;
    }
    (1.0 - step.log10().floor()).clamp(0.0, 3.0) as usize
}

fn row_summary(task: u64, row: &Row) -> String {
    let polls = row.polls.len();
    let polls = format!("{polls} poll{}", if polls == 1 { "" } else { "s" });
    if task == CALLBACKS {
        return format!("{polls} (callbacks run)");
    }
    match row.ended {
        Some((_, Outcome::Ready)) => format!("done after {polls}"),
        Some((_, Outcome::Cancelled)) => format!("cancelled after {polls}"),
        Some((_, Outcome::Panicked)) => format!("panicked after {polls}"),
        Some((_, Outcome::Pending)) | None => format!("not finished, {polls}"),
    }
}

// ----- the Chrome trace event format ------------------------------------------------------

/// The thread id under which callbacks appear (task numbers stay well below it).
const CALLBACKS_TID: u64 = 1 << 40;

fn tid(task: u64) -> u64 {
    if task == CALLBACKS {
        CALLBACKS_TID
    } else {
        task
    }
}

fn by_text(by: By, rows: &Rows) -> String {
    match by {
        By::Loop => "the loop".to_string(),
        By::Timer => "a timer".to_string(),
        By::Io => "I/O readiness".to_string(),
        By::Thread => "another thread".to_string(),
        By::Task(CALLBACKS) => "a callback".to_string(),
        By::Task(n) => rows
            .rows
            .get(&n)
            .map_or_else(|| format!("Task-{n}"), |row| row_name(n, row)),
    }
}

fn outcome_text(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Pending => "pending",
        Outcome::Ready => "ready",
        Outcome::Cancelled => "cancelled",
        Outcome::Panicked => "panicked",
    }
}

/// Nanoseconds as the format's microseconds, exactly.
fn micros(ns: u64) -> String {
    format!("{}.{:03}", ns / 1000, ns % 1000)
}

fn render_chrome_json(trace: &Trace) -> String {
    let rows = read_rows(&trace.events);
    let mut items: Vec<String> = vec![format!(
        "{{\"ph\":\"M\",\"pid\":1,\"name\":\"process_name\",\"args\":{{\"name\":\"tinyloop\"}}}}"
    )];
    for (&task, row) in &rows.rows {
        let t = tid(task);
        items.push(format!(
            "{{\"ph\":\"M\",\"pid\":1,\"tid\":{t},\"name\":\"thread_name\",\"args\":{{\"name\":{}}}}}",
            json_str(&row_name(task, row))
        ));
        items.push(format!(
            "{{\"ph\":\"M\",\"pid\":1,\"tid\":{t},\"name\":\"thread_sort_index\",\"args\":{{\"sort_index\":{}}}}}",
            if task == CALLBACKS { CALLBACKS_TID } else { task }
        ));
        for p in &row.polls {
            let waits = match &p.label {
                Some(label) => format!(",\"waits_on\":{}", json_str(&label_text(label, &rows))),
                None => String::new(),
            };
            items.push(format!(
                "{{\"ph\":\"X\",\"pid\":1,\"tid\":{t},\"name\":\"poll\",\"cat\":\"poll\",\"ts\":{},\"dur\":{},\"args\":{{\"outcome\":\"{}\"{waits}}}}}",
                micros(p.start),
                micros(p.end - p.start),
                outcome_text(p.outcome)
            ));
        }
    }
    let instant = |items: &mut Vec<String>, task: u64, name: &str, at: u64, args: String| {
        items.push(format!(
            "{{\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":{},\"name\":\"{name}\",\"cat\":\"{name}\",\"ts\":{},\"args\":{{{args}}}}}",
            tid(task),
            micros(at)
        ));
    };
    for e in &trace.events {
        match &e.what {
            What::Spawn { task, at, by, .. } => instant(
                &mut items,
                *task,
                "spawn",
                e.at,
                format!(
                    "\"by\":{},\"at\":{}",
                    json_str(&by_text(*by, &rows)),
                    json_str(&at.to_string())
                ),
            ),
            What::Wake { task, by } => instant(
                &mut items,
                *task,
                "wake",
                e.at,
                format!("\"by\":{}", json_str(&by_text(*by, &rows))),
            ),
            What::Cancel { task, by } => instant(
                &mut items,
                *task,
                "cancel",
                e.at,
                format!("\"by\":{}", json_str(&by_text(*by, &rows))),
            ),
            What::Done { task, outcome } => instant(
                &mut items,
                *task,
                "done",
                e.at,
                format!("\"outcome\":\"{}\"", outcome_text(*outcome)),
            ),
            What::TimersFired { count } => items.push(format!(
                "{{\"ph\":\"i\",\"s\":\"p\",\"pid\":1,\"tid\":0,\"name\":\"timers fired\",\"cat\":\"timer\",\"ts\":{},\"args\":{{\"woke\":{count}}}}}",
                micros(e.at)
            )),
            What::IoReady { count } => items.push(format!(
                "{{\"ph\":\"i\",\"s\":\"p\",\"pid\":1,\"tid\":0,\"name\":\"I/O ready\",\"cat\":\"io\",\"ts\":{},\"args\":{{\"woke\":{count}}}}}",
                micros(e.at)
            )),
            What::PollStart { .. } | What::PollEnd { .. } => {}
        }
    }
    let mut out = String::from("{\"traceEvents\":[\n");
    out.push_str(&items.join(",\n"));
    let _ = write!(
        out,
        "\n],\"displayTimeUnit\":\"ms\",\"otherData\":{{\"clock\":\"{}\",\"dropped_events\":{}}}}}\n",
        if trace.virtual_time { "virtual" } else { "real" },
        trace.dropped
    );
    out
}

/// `s` as a JSON string literal.
fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_str("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
    }

    #[test]
    fn micros_keep_every_nanosecond() {
        assert_eq!(micros(1_234_567), "1234.567");
        assert_eq!(micros(5), "0.005");
    }
}
