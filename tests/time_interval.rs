//! `interval`: a periodic timer whose schedule does not drift (asyncio has none; this is the
//! `while True: await asyncio.sleep(p)` loop done right).

mod util;

use std::time::Duration;

use tinyloop::{interval, sleep};
use util::{counted, ms, panic_text, since, timer_count, vloop, vrun};

#[test]
fn the_first_tick_completes_at_once() {
    vrun(async {
        sleep(ms(3)).await;
        let start = tinyloop::now();
        let mut iv = interval(ms(10));
        let (tick, probe) = counted(iv.tick());
        let at = tick.await;
        assert_eq!(probe.polls(), 1, "ready on the first poll");
        assert_eq!(at, start);
        assert_eq!(since(start), Duration::ZERO);
        assert_eq!(iv.period(), ms(10));
    });
}

#[test]
fn ticks_come_exactly_one_period_apart() {
    vrun(async {
        let start = tinyloop::now();
        let mut iv = interval(ms(250));
        for k in 0..6u32 {
            let at = iv.tick().await;
            assert_eq!(at, start + ms(250) * k, "tick {k} is scheduled on the grid");
            assert_eq!(since(start), ms(250) * k, "tick {k} fires on time");
        }
    });
}

#[test]
fn time_spent_between_ticks_does_not_cause_drift() {
    vrun(async {
        let start = tinyloop::now();
        let mut iv = interval(ms(10));
        iv.tick().await;
        for k in 1..=5u32 {
            sleep(ms(3)).await; // work shorter than a period
            let at = iv.tick().await;
            assert_eq!(at, start + ms(10) * k);
            assert_eq!(since(start), ms(10) * k);
        }
    });
}

#[test]
fn missed_ticks_are_skipped_when_behind() {
    vrun(async {
        let start = tinyloop::now();
        let mut iv = interval(ms(10));
        assert_eq!(iv.tick().await, start);
        assert_eq!(iv.tick().await, start + ms(10));
        // Fall behind by three and a half periods.
        sleep(ms(35)).await;
        let late = iv.tick().await;
        assert_eq!(since(start), ms(45), "the late tick completes at once");
        assert!(late <= tinyloop::now());
        assert_eq!(late, start + ms(20), "it reports the tick it stands for");
        // No burst: the ticks at 30 and 40 ms are skipped; the grid resumes at 50 ms.
        let next = iv.tick().await;
        assert_eq!(next, start + ms(50));
        assert_eq!(since(start), ms(50));
        let next = iv.tick().await;
        assert_eq!(next, start + ms(60));
        assert_eq!(since(start), ms(60));
    });
}

#[test]
fn falling_behind_exactly_on_a_tick_does_not_burst() {
    vrun(async {
        let start = tinyloop::now();
        let mut iv = interval(ms(10));
        iv.tick().await;
        iv.tick().await; // 10 ms
        sleep(ms(20)).await; // now 30 ms: ticks 20 and 30 are both due
        iv.tick().await;
        assert_eq!(since(start), ms(30));
        let at = iv.tick().await;
        assert!(
            since(start) >= ms(30) && at > start + ms(20),
            "at most one catch-up tick, at {at:?} ({:?} in)",
            since(start)
        );
        let at2 = iv.tick().await;
        assert_eq!(at2 - at, ms(10), "then back on the grid");
    });
}

#[test]
fn sub_millisecond_periods_stay_on_the_grid() {
    vrun(async {
        let start = tinyloop::now();
        let period = Duration::from_micros(1500);
        let mut iv = interval(period);
        for k in 0..8u32 {
            let at = iv.tick().await;
            assert_eq!(at, start + period * k);
            let now = tinyloop::now();
            assert!(now >= at, "never early");
            assert!(
                now - at < ms(1),
                "fires on the millisecond after its deadline"
            );
        }
    });
}

#[test]
fn a_dropped_interval_leaves_the_wheel() {
    let lp = vloop();
    lp.block_on(async {
        let mut iv = interval(ms(100));
        iv.tick().await;
        let _ = util::race(iv.tick(), sleep(ms(10))).await;
        drop(iv);
        assert_eq!(timer_count(&lp), 0);
    });
}

#[test]
fn interval_with_a_zero_period_panics_with_the_fix() {
    vloop().block_on(async {
        let text = panic_text(|| drop(interval(std::time::Duration::ZERO)));
        assert!(
            text.contains("interval") && text.contains("period"),
            "{text}"
        );
    });
}
