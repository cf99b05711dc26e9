//! Virtual time: the loop's clock jumps to the next timer whenever nothing else can run, so
//! timer tests are exact and instant (tokio's `time::pause`, CPython's `TestLoop`).

mod util;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use tinyloop::{call_later, sleep, spawn, yield_now, Loop};
use util::{ms, since, vloop, vrun};

#[test]
fn an_hour_long_sleep_completes_at_once_and_now_reads_an_hour_later() {
    vrun(async {
        let start = tinyloop::now();
        sleep(Duration::from_secs(3600)).await;
        assert_eq!(since(start), Duration::from_secs(3600));
    });
}

#[test]
fn the_clock_does_not_move_while_tasks_are_ready() {
    vrun(async {
        let start = tinyloop::now();
        let log = Rc::new(RefCell::new(Vec::new()));
        let l = Rc::clone(&log);
        let busy = spawn(async move {
            for _ in 0..100 {
                assert_eq!(
                    since(start),
                    Duration::ZERO,
                    "no jump while a task is ready"
                );
                yield_now().await;
            }
            l.borrow_mut().push("busy done");
        });
        let l = Rc::clone(&log);
        let sleeper = spawn(async move {
            sleep(ms(1)).await;
            l.borrow_mut().push("sleeper woke");
            since(start)
        });
        busy.await.unwrap();
        assert_eq!(sleeper.await, Ok(ms(1)));
        assert_eq!(*log.borrow(), vec!["busy done", "sleeper woke"]);
    });
}

#[test]
fn the_clock_jumps_timer_to_timer_not_past_them() {
    vrun(async {
        let start = tinyloop::now();
        let seen = Rc::new(RefCell::new(Vec::new()));
        for d in [5u64, 7, 1000, 86_400_000] {
            let s = Rc::clone(&seen);
            call_later(ms(d), move || s.borrow_mut().push(since(start)));
        }
        sleep(ms(86_400_000)).await;
        assert_eq!(*seen.borrow(), vec![ms(5), ms(7), ms(1000), ms(86_400_000)]);
    });
}

#[test]
fn virtual_time_persists_across_block_on_calls() {
    let lp = vloop();
    let start = lp.block_on(async {
        let start = tinyloop::now();
        sleep(ms(1000)).await;
        start
    });
    let elapsed = lp.block_on(async move {
        sleep(ms(500)).await;
        since(start)
    });
    assert_eq!(elapsed, ms(1500));
}

#[test]
fn two_virtual_loops_keep_their_own_clocks() {
    let a = vloop();
    let b = vloop();
    let a_start = a.block_on(async { tinyloop::now() });
    let b_start = b.block_on(async { tinyloop::now() });
    a.block_on(async { sleep(ms(5000)).await });
    assert_eq!(b.block_on(async move { since(b_start) }), Duration::ZERO);
    assert_eq!(a.block_on(async move { since(a_start) }), ms(5000));
}

#[test]
fn a_real_time_loop_does_not_jump() {
    let lp = Loop::new();
    lp.block_on(async {
        let start = tinyloop::now();
        let real = std::time::Instant::now();
        sleep(ms(5)).await;
        // Real time passed at least as much as the loop's clock says; no jump ahead of it.
        assert!(since(start) >= ms(5));
        assert!(real.elapsed() >= ms(5));
    });
    assert!(format!("{lp:?}").contains("virtual_time: false"), "{lp:?}");
    assert!(format!("{:?}", vloop()).contains("virtual_time: true"));
}

#[test]
fn loop_debug_shows_its_state() {
    let lp = vloop();
    let t = lp.spawn(async { sleep(ms(10)).await });
    lp.block_on(yield_now());
    let text = format!("{lp:?}");
    assert!(text.contains("tasks"), "{text}");
    assert_eq!(util::timer_count(&lp), 1, "{text}");
    lp.block_on(t).unwrap();
    assert_eq!(util::timer_count(&lp), 0);
}
