//! The task dump and `TaskInfo::waiting_on`: every task with its id, name, state, polls,
//! what it waits on and where it was spawned (asyncio's `all_tasks()` and task reprs).

use std::time::Duration;

use tinyloop::{Loop, TaskState};

fn vloop() -> Loop {
    Loop::builder().virtual_time(true).build().unwrap()
}

/// The dump's line for the task named `name`.
fn line_of<'a>(dump: &'a str, name: &str) -> &'a str {
    dump.lines()
        .find(|l| l.split_whitespace().nth(1) == Some(name))
        .unwrap_or_else(|| panic!("no line for {name} in:\n{dump}"))
}

#[test]
fn the_dump_lists_names_states_polls_waits_and_spawn_locations() {
    vloop().block_on(async {
        let sleeper = tinyloop::spawn_named("sleeper", async {
            tinyloop::sleep(Duration::from_millis(1200)).await;
        });
        let sleeper_line = line!() - 3;
        let joiner = tinyloop::spawn_named("joiner", async move {
            sleeper.await.unwrap();
        });
        tinyloop::yield_now().await; // sleeper and joiner run once
        let _fresh = tinyloop::spawn_named("fresh", async {});

        let dump = tinyloop::dump_tasks();
        let sleeper = line_of(&dump, "sleeper");
        assert!(sleeper.contains("waiting"), "{sleeper}");
        assert!(sleeper.contains("sleep until +1.2 s"), "{sleeper}");
        assert!(
            sleeper.contains(&format!("{}:{sleeper_line}:", file!())),
            "{sleeper}"
        );
        let joiner_line = line_of(&dump, "joiner");
        assert!(joiner_line.contains("task #1 'sleeper'"), "{joiner_line}");
        let main = line_of(&dump, "main");
        assert!(main.contains("running"), "{main}");
        let fresh = line_of(&dump, "fresh");
        assert!(fresh.contains("scheduled"), "{fresh}");
        assert!(dump.contains("1 timer armed"), "{dump}");

        // The same data as values.
        let infos = tinyloop::all_tasks();
        let sleeper = infos.iter().find(|t| t.name == "sleeper").unwrap();
        assert_eq!(sleeper.state, TaskState::Waiting);
        assert_eq!(sleeper.polls, 1);
        assert_eq!(sleeper.waiting_on.as_deref(), Some("sleep until +1.2 s"));
        let fresh = infos.iter().find(|t| t.name == "fresh").unwrap();
        assert_eq!(
            fresh.waiting_on, None,
            "a task that has not run waits on nothing"
        );

        // Time passes: the deadline draws nearer.
        tinyloop::sleep(Duration::from_millis(200)).await;
        let dump = tinyloop::dump_tasks();
        assert!(
            line_of(&dump, "sleeper").contains("sleep until +1 s"),
            "{dump}"
        );
        joiner.await.unwrap();
    });
}

#[test]
fn a_primitive_with_a_timeout_shows_both() {
    vloop().block_on(async {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let t = tinyloop::spawn_named("bounded", async move {
            let work = tinyloop::to_thread(move || rx.recv().unwrap());
            let _ = tinyloop::timeout(Duration::from_secs(2), work).await;
        });
        tinyloop::yield_now().await;
        let info = tinyloop::all_tasks()
            .into_iter()
            .find(|i| i.name == "bounded")
            .unwrap();
        let wait = info
            .waiting_on
            .expect("the task waits on to_thread and a timer");
        assert!(wait.starts_with("to_thread (deadline +"), "{wait}");
        tx.send(()).unwrap();
        t.await.unwrap();
    });
}

#[test]
fn to_thread_is_named_and_a_waiting_note_goes_stale_after_the_next_poll() {
    vloop().block_on(async {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let worker = tinyloop::spawn_named("offloader", async move {
            tinyloop::to_thread(move || rx.recv().unwrap())
                .await
                .unwrap();
            // From here on it waits on something the loop cannot name.
            std::future::pending::<()>().await;
        });
        tinyloop::yield_now().await;
        let waits = |name: &str| {
            tinyloop::all_tasks()
                .into_iter()
                .find(|i| i.name == name)
                .and_then(|i| i.waiting_on)
        };
        assert_eq!(waits("offloader").as_deref(), Some("to_thread"));
        tx.send(()).unwrap();
        while tinyloop::all_tasks()[0].polls < 2 {
            tinyloop::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(waits("offloader"), None);
        worker.cancel();
    });
}

#[test]
fn outside_a_loop_the_dump_says_so() {
    assert!(tinyloop::dump_tasks().contains("no loop is running"));
}

#[test]
fn a_sleep_for_ever_is_still_a_sleep() {
    // (Not a deadlock: a timer is pending, however far away; see tests/debug_deadlock.rs.)
    let report = vloop().block_on(async {
        let _forever = tinyloop::spawn_named("forever", tinyloop::sleep(Duration::MAX));
        tinyloop::yield_now().await;
        tinyloop::yield_now().await;
        tinyloop::dump_tasks()
    });
    let line = line_of(&report, "forever");
    assert!(
        line.contains("sleep until more than 49 days after the loop's start"),
        "{report}"
    );
}
