//! The event trace: the ASCII timeline of a known program has the expected shape, and the
//! Chrome trace JSON parses and holds the expected events.

use std::time::Duration;

use serde_json::Value;
use tinyloop::Loop;

fn traced(virtual_time: bool) -> Loop {
    Loop::builder()
        .virtual_time(virtual_time)
        .trace(true)
        .build()
        .unwrap()
}

/// The tutorial's program: tasks A, B and C each wait one second, concurrently.
fn abc(lp: &Loop) {
    lp.block_on(async {
        let tasks: Vec<_> = ["A", "B", "C"]
            .into_iter()
            .map(|name| tinyloop::spawn_named(name, tinyloop::sleep(Duration::from_secs(1))))
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
}

fn row<'a>(timeline: &'a str, name: &str) -> &'a str {
    timeline
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no row {name} in:\n{timeline}"))
}

#[test]
fn the_timeline_of_a_b_and_c_shows_three_overlapping_waits() {
    let lp = traced(true);
    abc(&lp);
    let timeline = lp.trace_snapshot().unwrap().timeline_with_columns(41);
    // Rows: main, then A, B, C in spawn order.
    let names: Vec<&str> = timeline
        .lines()
        .skip(1)
        .take(4)
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(names, ["main", "A", "B", "C"], "{timeline}");
    for name in ["A", "B", "C"] {
        let line = row(&timeline, name);
        // name, two spaces, 41 cells, two spaces, summary
        let cells: String = line.chars().skip(6).take(41).collect();
        let expected = format!("█─sleep 1 s{}█", "─".repeat(41 - 12));
        assert_eq!(cells, expected, "row {name}:\n{timeline}");
        assert!(line.ends_with("done after 2 polls"), "{line}");
    }
    let main: String = row(&timeline, "main").chars().skip(6).take(41).collect();
    assert!(main.starts_with("█─await A─"), "{timeline}");
    assert!(main.ends_with('█'), "{timeline}");
    assert!(timeline.contains("virtual clock, 0 s to 1 s"), "{timeline}");
    let axis = timeline.lines().rev().nth(1).unwrap().trim();
    assert!(axis.starts_with("0 s") && axis.ends_with("1 s"), "{axis}");
}

#[test]
fn a_blocking_poll_makes_the_others_wait_their_turn() {
    let lp = traced(false);
    lp.block_on(async {
        // 200 ms: the hog's share of the 41-cell timeline stays above 10 cells unless the
        // rest of this microseconds-long program is paused for over 600 ms.
        let hog = tinyloop::spawn_named("hog", async {
            std::thread::sleep(Duration::from_millis(200));
        });
        let victim = tinyloop::spawn_named("victim", async {});
        hog.await.unwrap();
        victim.await.unwrap();
    });
    let timeline = lp.trace_snapshot().unwrap().timeline();
    let hog = row(&timeline, "hog");
    assert!(
        hog.matches('█').count() > 10,
        "the hog ran long:\n{timeline}"
    );
    let victim = row(&timeline, "victim");
    assert!(
        victim.matches('░').count() > 10,
        "the victim was ready but had to wait:\n{timeline}"
    );
}

fn parse(json: &str) -> Vec<Value> {
    let v: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}:\n{json}"));
    v["traceEvents"].as_array().unwrap().clone()
}

fn tid_of(events: &[Value], name: &str) -> u64 {
    events
        .iter()
        .find(|e| e["name"] == "thread_name" && e["args"]["name"] == name)
        .unwrap_or_else(|| panic!("no thread {name}"))["tid"]
        .as_u64()
        .unwrap()
}

#[test]
fn the_chrome_trace_parses_and_has_the_expected_events() {
    let lp = traced(true);
    abc(&lp);
    let json = lp.trace_snapshot().unwrap().chrome_json();
    let root: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(root["otherData"]["clock"], "virtual");
    assert_eq!(root["otherData"]["dropped_events"], 0);
    let events = parse(&json);
    for name in ["A", "B", "C"] {
        let tid = tid_of(&events, name);
        let on = |ph: &str, ev: &str| -> Vec<&Value> {
            events
                .iter()
                .filter(|e| e["tid"] == tid && e["ph"] == ph && e["name"] == ev)
                .collect()
        };
        let polls = on("X", "poll");
        assert_eq!(polls.len(), 2, "{name}");
        assert_eq!(polls[0]["ts"].as_f64(), Some(0.0));
        assert_eq!(polls[0]["args"]["outcome"], "pending");
        assert_eq!(polls[0]["args"]["waits_on"], "sleep 1 s");
        assert_eq!(polls[1]["ts"].as_f64(), Some(1_000_000.0), "1 s in µs");
        assert_eq!(polls[1]["args"]["outcome"], "ready");
        let spawn = on("i", "spawn");
        assert_eq!(spawn[0]["args"]["by"], "main");
        assert!(spawn[0]["args"]["at"]
            .as_str()
            .unwrap()
            .starts_with(file!()));
        let wakes = on("i", "wake");
        assert_eq!(wakes.len(), 1, "{name}");
        assert_eq!(wakes[0]["args"]["by"], "a timer");
        assert_eq!(on("i", "done")[0]["args"]["outcome"], "ready");
    }
    let main = tid_of(&events, "main");
    let main_wakes: Vec<&Value> = events
        .iter()
        .filter(|e| e["tid"] == main && e["name"] == "wake")
        .collect();
    assert_eq!(
        main_wakes.last().unwrap()["args"]["by"],
        "A",
        "A's end wakes main"
    );
    assert!(events
        .iter()
        .any(|e| e["name"] == "timers fired" && e["args"]["woke"] == 3));
}

#[test]
fn wakes_from_threads_and_cancellations_are_recorded() {
    let lp = traced(false);
    lp.block_on(async {
        // The thread finishes only once main waits for it: otherwise main's first poll could
        // find the result already there (a thread may run to its end before that poll, as
        // under valgrind) and nothing would wake main at all.
        let (go, wait_for_go) = std::sync::mpsc::channel::<()>();
        let release = tinyloop::spawn(async move { go.send(()).unwrap() });
        tinyloop::to_thread(move || wait_for_go.recv().unwrap())
            .await
            .unwrap();
        release.await.unwrap();
        let doomed = tinyloop::spawn_named("doomed", std::future::pending::<()>());
        tinyloop::yield_now().await;
        doomed.cancel();
        assert!(doomed.await.unwrap_err().is_cancelled());
    });
    let events = parse(&lp.trace_snapshot().unwrap().chrome_json());
    let main = tid_of(&events, "main");
    assert!(events
        .iter()
        .any(|e| e["tid"] == main && e["name"] == "wake" && e["args"]["by"] == "another thread"));
    let doomed = tid_of(&events, "doomed");
    let on_doomed = |name: &str| {
        events
            .iter()
            .find(|e| e["tid"] == doomed && e["name"] == name)
            .unwrap_or_else(|| panic!("no {name} event"))
    };
    assert_eq!(on_doomed("cancel")["args"]["by"], "main");
    assert_eq!(on_doomed("done")["args"]["outcome"], "cancelled");
}

#[test]
fn inside_the_loop_the_running_trace_is_read() {
    traced(true).block_on(async {
        let t = tinyloop::spawn_named("napper", tinyloop::sleep(Duration::from_millis(500)));
        tinyloop::sleep(Duration::from_secs(1)).await;
        t.await.unwrap();
        let timeline = tinyloop::trace::timeline();
        assert!(
            row(&timeline, "napper").contains("done after 2 polls"),
            "{timeline}"
        );
        assert!(
            row(&timeline, "main").contains("not finished"),
            "main is still running:\n{timeline}"
        );
        parse(&tinyloop::trace::chrome_json());
    });
}

#[test]
fn without_trace_there_is_nothing_to_draw() {
    let lp = Loop::builder().virtual_time(true).build().unwrap();
    assert!(lp.trace_snapshot().is_none());
    lp.block_on(async {
        assert!(tinyloop::trace::snapshot().is_none());
        assert!(tinyloop::trace::timeline().starts_with("no trace"));
        assert!(parse(&tinyloop::trace::chrome_json()).is_empty());
    });
    assert!(parse(&tinyloop::trace::chrome_json()).is_empty());
}
