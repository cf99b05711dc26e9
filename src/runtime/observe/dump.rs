//! The loop in words: what a wait means (`sleep until +1.2 s`, `Queue::get`, `task #3
//! 'worker'`) and the task dump that `dump_tasks`, `TaskInfo::waiting_on` and the deadlock
//! report print. asyncio's counterpart is `Task.__repr__` and `base_tasks._task_repr_info`.
//!
//! The dump is a table, one line per unfinished task (and the main future while `block_on`
//! runs), then a line of the loop's own counters:
//!
//! ```text
//!   id  name     state    polls  waiting on          spawned at
//!    -  main     waiting      1  task #1 'worker'    src/main.rs:4:5
//!    1  worker   waiting      1  Event::wait         src/main.rs:6:18
//!   loop: 0 ready, 0 timers armed, no task waiting on I/O, 0 to_thread calls in flight, ...
//! ```

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::Waiting;
use crate::runtime::core::{display_name, Core};
use crate::runtime::tasks::State;
use crate::runtime::tasks::TaskKey;

impl Core {
    /// A wait in words: `sleep until +1.2 s`, `Queue::get`, `task #3 'worker'`,
    /// `Queue::get (deadline +0.5 s)`.
    pub(crate) fn describe_wait(&self, wait: Waiting) -> String {
        let until = |tick: Option<u64>| match tick {
            Some(tick) => {
                let left = self
                    .clock
                    .instant_of(tick)
                    .saturating_duration_since(self.clock.now());
                format!("+{}", fmt_duration(left))
            }
            None => "more than 49 days after the loop's start".to_string(),
        };
        match wait {
            Waiting::Timer(tick) => format!("sleep until {}", until(tick)),
            Waiting::Task(index) => match self.awaited_key(index) {
                Some(key) => self.describe_task(key),
                None => "a finished task".to_string(),
            },
            Waiting::Label(label, None) => label.to_string(),
            Waiting::Label(label, tick) => format!("{label} (deadline {})", until(tick)),
        }
    }

    /// `task #3 'worker'`, `task #3`, or `a finished task`.
    pub(crate) fn describe_task(&self, key: TaskKey) -> String {
        let found = self.with_meta(key, |m, state, _| {
            let named = m
                .name
                .as_ref()
                .map(|n| format!(" '{n}'"))
                .unwrap_or_default();
            let done = if state == State::Done {
                " (finished)"
            } else {
                ""
            };
            format!("task #{}{named}{done}", m.number)
        });
        found.unwrap_or_else(|| "a finished task".to_string())
    }

    /// The task dump: one line per unfinished task (and the main future), then the loop's
    /// own state. Used by `dump_tasks` and by the deadlock report.
    pub(crate) fn dump(&self) -> String {
        let mut rows: Vec<[String; 6]> = Vec::new();
        if let Some((at, state, polls)) = self.main_info() {
            let wait = self.main_wait().map(|w| self.describe_wait(w));
            rows.push([
                "-".into(),
                "main".into(),
                state.into(),
                polls.to_string(),
                wait.unwrap_or_default(),
                at.to_string(),
            ]);
        }
        let mut tasks: Vec<(u64, TaskKey)> = match self.tasks.try_borrow() {
            Ok(tasks) => tasks
                .iter()
                .filter(|(_, s)| s.state != State::Done)
                .map(|(key, s)| (s.meta.number(), key))
                .collect(),
            Err(_) => Vec::new(),
        };
        tasks.sort_unstable();
        for (_, key) in &tasks {
            let row = self.with_meta(*key, |m, state, polls| {
                let state = match state {
                    State::Scheduled => "scheduled",
                    State::Running | State::RunningWoken => "running",
                    State::Idle => "waiting",
                    State::Done => "done",
                };
                [
                    m.number.to_string(),
                    display_name(m),
                    state.to_string(),
                    polls.to_string(),
                    String::new(),
                    m.spawned_at.to_string(),
                ]
            });
            if let Some(mut row) = row {
                row[4] = self.waiting_on(*key).unwrap_or_default();
                rows.push(row);
            }
        }

        let mut out = String::new();
        let clock = if self.clock.is_virtual() {
            "virtual time"
        } else {
            "real time"
        };
        let _ = writeln!(
            out,
            "tinyloop task dump ({} task{} alive, {clock}):",
            tasks.len(),
            if tasks.len() == 1 { "" } else { "s" }
        );
        let header = ["id", "name", "state", "polls", "waiting on", "spawned at"];
        let mut widths = header.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |out: &mut String, cells: [&str; 6]| {
            let _ = write!(out, "  ");
            for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
                let pad = w.saturating_sub(cell.chars().count());
                if i == 0 || i == 3 {
                    let _ = write!(out, "{}{cell}  ", " ".repeat(pad));
                } else if i == 5 {
                    let _ = write!(out, "{cell}");
                } else {
                    let _ = write!(out, "{cell}{}  ", " ".repeat(pad));
                }
            }
            out.push('\n');
        };
        line(&mut out, header);
        for row in &rows {
            line(&mut out, row.each_ref().map(String::as_str));
        }
        let ready = self.ready.try_borrow().map(|r| r.len()).unwrap_or(0);
        let timers = self.timers.try_borrow().map(|t| t.len()).unwrap_or(0);
        let io = self
            .reactor
            .try_borrow()
            .map(|r| r.has_waiters())
            .unwrap_or(false);
        let _ = writeln!(
            out,
            "  loop: {ready} ready, {timers} timer{} armed, {} waiting on I/O, {} to_thread \
             call{} in flight, {} LoopHandle{} alive",
            plural(timers),
            if io { "some tasks" } else { "no task" },
            self.shared
                .thread_work
                .load(std::sync::atomic::Ordering::Acquire),
            plural(
                self.shared
                    .thread_work
                    .load(std::sync::atomic::Ordering::Acquire)
            ),
            self.shared.handles.load(Ordering::Acquire),
            plural(self.shared.handles.load(Ordering::Acquire)),
        );
        out
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `1.2 s`, `250 ms`, `40 µs`: short, for dumps and timelines.
pub(crate) fn fmt_duration(d: Duration) -> String {
    if d.is_zero() {
        return "0 s".to_string();
    }
    fmt_in_unit(d, unit_for(d))
}

/// The unit `fmt_duration` picks for `d`: `s`, `ms`, `µs` or `ns`.
pub(crate) fn unit_for(d: Duration) -> &'static str {
    if d >= Duration::from_secs(1) {
        "s"
    } else if d >= Duration::from_millis(1) {
        "ms"
    } else if d >= Duration::from_micros(1) {
        "µs"
    } else {
        "ns"
    }
}

/// `d` in `unit` (one of `unit_for`'s), with at most three decimals.
pub(crate) fn fmt_in_unit(d: Duration, unit: &'static str) -> String {
    fmt_in_unit_with(d, unit, 3)
}

/// `d` in `unit` with at most `decimals` decimals (trailing zeros dropped).
pub(crate) fn fmt_in_unit_with(d: Duration, unit: &'static str, decimals: usize) -> String {
    let value = match unit {
        "s" => d.as_secs_f64(),
        "ms" => d.as_secs_f64() * 1e3,
        "µs" => d.as_secs_f64() * 1e6,
        _ => d.as_nanos() as f64,
    };
    let mut s = format!("{value:.decimals$}");
    if decimals == 0 {
        return format!("{s} {unit}");
    }
    while s.ends_with('0') {
        s.pop();
    }
    if s.ends_with('.') {
        s.pop();
    }
    format!("{s} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_short() {
        assert_eq!(fmt_duration(Duration::from_millis(1200)), "1.2 s");
        assert_eq!(fmt_duration(Duration::from_secs(3)), "3 s");
        assert_eq!(fmt_duration(Duration::from_millis(250)), "250 ms");
        assert_eq!(fmt_duration(Duration::from_micros(1500)), "1.5 ms");
        assert_eq!(fmt_duration(Duration::from_micros(40)), "40 µs");
        assert_eq!(fmt_duration(Duration::ZERO), "0 s");
    }
}
