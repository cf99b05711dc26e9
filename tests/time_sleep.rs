//! `sleep` and `sleep_until` (asyncio's `test_tasks.py` sleep tests), and the timer wheel
//! seen from outside: every timer fires exactly at its deadline rounded up to the
//! millisecond, never earlier, whatever wheel level it lands on.

mod util;

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use tinyloop::{sleep, sleep_until, spawn, timeout, yield_now, Loop};
use util::{counted, ms, race, since, timer_count, vloop, vrun, Either};

#[test]
fn sleep_advances_virtual_time_exactly() {
    vrun(async {
        let start = tinyloop::now();
        sleep(ms(1500)).await;
        assert_eq!(since(start), ms(1500));
        sleep(Duration::from_secs(3600)).await;
        assert_eq!(since(start), ms(1500) + Duration::from_secs(3600));
    });
}

#[test]
fn sleeps_complete_in_deadline_order() {
    vrun(async {
        let start = tinyloop::now();
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut tasks = Vec::new();
        for d in [30u64, 10, 1500, 20, 1, 999] {
            let log = Rc::clone(&log);
            tasks.push(spawn(async move {
                sleep(ms(d)).await;
                log.borrow_mut().push((d, since(start)));
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let expected: Vec<(u64, Duration)> = [1u64, 10, 20, 30, 999, 1500]
            .iter()
            .map(|&d| (d, ms(d)))
            .collect();
        assert_eq!(*log.borrow(), expected);
    });
}

#[test]
fn sleep_zero_yields_exactly_once() {
    vrun(async {
        let start = tinyloop::now();
        let log = Rc::new(RefCell::new(Vec::new()));
        let l = Rc::clone(&log);
        let a = spawn(async move {
            l.borrow_mut().push("a before");
            let (fut, probe) = counted(sleep(Duration::ZERO));
            fut.await;
            l.borrow_mut().push("a after");
            probe.polls()
        });
        let l = Rc::clone(&log);
        let b = spawn(async move { l.borrow_mut().push("b") });
        assert_eq!(a.await, Ok(2), "pending once, then ready");
        b.await.unwrap();
        assert_eq!(*log.borrow(), vec!["a before", "b", "a after"]);
        assert_eq!(since(start), Duration::ZERO);
    });
}

#[test]
fn sleep_max_never_fires_and_never_panics() {
    let lp = vloop();
    lp.block_on(async {
        let start = tinyloop::now();
        let won = race(sleep(Duration::MAX), sleep(ms(10))).await;
        assert_eq!(won, Either::Right(()));
        assert_eq!(since(start), ms(10));
        assert_eq!(timer_count(&lp), 0, "the losing sleep left the wheel");

        // Still waiting after a long while, next to other timers.
        let forever = spawn(sleep(Duration::MAX));
        sleep(Duration::from_secs(86_400 * 365)).await;
        assert!(!forever.is_done(), "a year later it still has not fired");
        forever.cancel();
        let deadline = sleep(Duration::MAX).deadline();
        assert!(deadline > tinyloop::now() + Duration::from_secs(86_400 * 365 * 10));
    });
}

#[test]
fn sleep_max_in_real_time_never_fires_and_never_panics() {
    tinyloop::run(async {
        let won = race(sleep(Duration::MAX), sleep(ms(2))).await;
        assert_eq!(won, Either::Right(()));
        let won = race(
            timeout(Duration::MAX, std::future::pending::<()>()),
            sleep(ms(2)),
        )
        .await;
        assert_eq!(won, Either::Right(()));
    });
}

/// Durations around the wheel's level boundaries (64 slots of 1 ms per level).
fn boundary_durations() -> Vec<u64> {
    let mut out = vec![0, 1, 2];
    for level in 1..=5u32 {
        let b = 64u64.pow(level);
        out.extend([b - 1, b, b + 1]);
    }
    out.extend([262_143, 262_144, 2 * 4096 + 5, 3 * 64 * 64 * 64 + 17]);
    out.sort_unstable();
    out.dedup();
    out
}

/// Arms one timer per boundary duration at once, from a clock that has already moved
/// `offset` ms, and checks each fires exactly at its deadline, in order.
fn boundary_timers_fire_exactly(offset: Duration) {
    let lp = vloop();
    lp.block_on(async {
        sleep(offset).await;
        let start = tinyloop::now();
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut tasks = Vec::new();
        for d in boundary_durations() {
            let log = Rc::clone(&log);
            tasks.push(spawn(async move {
                sleep(ms(d)).await;
                log.borrow_mut().push((d, since(start)));
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        for &(d, fired) in log.borrow().iter() {
            assert_eq!(fired, ms(d), "a {d} ms timer (clock offset {offset:?})");
        }
        let order: Vec<u64> = log.borrow().iter().map(|&(d, _)| d).collect();
        assert_eq!(order, boundary_durations(), "fired in deadline order");
        assert_eq!(timer_count(&lp), 0);
    });
}

#[test]
fn timers_at_wheel_level_boundaries_fire_exactly_on_time() {
    for offset in [0, 1, 37, 63, 64, 4095, 4096, 262_143 + 7, 16_777_216 - 1] {
        boundary_timers_fire_exactly(ms(offset));
    }
}

#[test]
fn each_boundary_timer_alone_fires_exactly_on_time() {
    // One timer at a time: the loop jumps straight to it, so a wheel that cascades late or
    // early shows up as a wrong `now()`.
    for d in boundary_durations() {
        vrun(async move {
            let start = tinyloop::now();
            sleep(ms(d)).await;
            assert_eq!(since(start), ms(d), "a lone {d} ms timer");
        });
    }
}

#[test]
fn timers_beyond_the_wheels_range_fire_exactly_on_time() {
    // 64^6 ms is about 2.2 years: past the top level a wheel must park and re-file timers,
    // never fire them early. From 25 years on (`NEVER_TICK`) a timer is never armed at all.
    let b6 = 64u64.pow(6);
    let year = 365 * 86_400_000u64;
    for d in [b6 - 1, b6, b6 + 1, 3 * b6 + 5, 10 * year, 24 * year] {
        vrun(async move {
            let start = tinyloop::now();
            sleep(ms(d)).await;
            assert_eq!(since(start), ms(d), "a lone {d} ms timer");
        });
    }
    // And next to a nearer timer, which must still come first.
    vrun(async move {
        let start = tinyloop::now();
        let far = spawn(async move {
            sleep(ms(10 * year)).await;
            since(start)
        });
        sleep(ms(b6 + 3)).await;
        assert_eq!(since(start), ms(b6 + 3));
        assert_eq!(far.await, Ok(ms(10 * year)));
    });
}

#[test]
fn sub_millisecond_deadlines_round_up_never_down() {
    vrun(async {
        // The loop's clock starts on a whole millisecond; keep it there between cases.
        for micros in [1u64, 500, 999, 1000, 1001, 1500, 63_999, 64_001, 4_095_500] {
            let start = tinyloop::now();
            let d = Duration::from_micros(micros);
            sleep(d).await;
            let fired = since(start);
            assert!(fired >= d, "{micros} us fired early at {fired:?}");
            assert_eq!(fired, ms(micros.div_ceil(1000)), "{micros} us");
        }
    });
}

#[test]
fn a_dropped_sleep_leaves_the_wheel() {
    let lp = vloop();
    lp.block_on(async {
        assert_eq!(timer_count(&lp), 0);
        let mut a = Box::pin(sleep(ms(1000)));
        let mut b = Box::pin(sleep(ms(2000)));
        // Arm them with one poll each.
        poll_fn(|cx| {
            assert!(a.as_mut().poll(cx).is_pending());
            assert!(b.as_mut().poll(cx).is_pending());
            Poll::Ready(())
        })
        .await;
        assert_eq!(timer_count(&lp), 2);
        drop(a);
        assert_eq!(timer_count(&lp), 1);
        drop(b);
        assert_eq!(timer_count(&lp), 0);
        // An unpolled sleep never entered the wheel.
        let c = sleep(ms(5));
        assert_eq!(timer_count(&lp), 0);
        drop(c);
        // With nothing armed, the clock does not move.
        let start = tinyloop::now();
        yield_now().await;
        assert_eq!(since(start), Duration::ZERO);
    });
}

#[test]
fn many_dropped_sleeps_do_not_delay_the_clock() {
    let lp = vloop();
    lp.block_on(async {
        let start = tinyloop::now();
        for i in 1..=500u64 {
            let _ = race(sleep(ms(i * 7)), yield_now()).await;
        }
        assert_eq!(timer_count(&lp), 0);
        sleep(ms(3)).await;
        assert_eq!(
            since(start),
            ms(3),
            "no ghost timer made the clock stop early"
        );
    });
}

#[test]
fn a_sleep_that_outlives_its_loop_drops_quietly() {
    let lp = vloop();
    let armed = lp.block_on(async {
        let mut s = Box::pin(sleep(ms(3_600_000)));
        let _ = race(s.as_mut(), yield_now()).await;
        Some(s)
    });
    assert_eq!(timer_count(&lp), 1);
    drop(lp);
    drop(armed); // disarms against a loop that is gone: no panic
    let unpolled = vloop().block_on(async { Some(sleep(ms(5))) });
    drop(unpolled);
}

#[test]
fn sleep_until_wakes_at_the_instant() {
    vrun(async {
        let start = tinyloop::now();
        sleep_until(start + ms(250)).await;
        assert_eq!(since(start), ms(250));
        // A past deadline yields once and completes without moving the clock.
        let (fut, probe) = counted(sleep_until(start));
        fut.await;
        assert_eq!(probe.polls(), 2);
        assert_eq!(since(start), ms(250));
        let s = sleep_until(start + ms(400));
        assert_eq!(s.deadline(), start + ms(400));
        assert!(!s.is_elapsed());
        s.await;
        assert_eq!(since(start), ms(400));
    });
}

#[test]
fn sleep_reset_moves_the_deadline() {
    vrun(async {
        let start = tinyloop::now();
        let mut s = Box::pin(sleep(ms(100)));
        let _ = race(s.as_mut(), yield_now()).await;
        s.as_mut().reset(start + ms(30));
        s.as_mut().await;
        assert_eq!(since(start), ms(30));
        assert!(s.is_elapsed());
        s.as_mut().reset(start + ms(50));
        assert!(!s.is_elapsed());
        s.as_mut().await;
        assert_eq!(since(start), ms(50));
    });
}

#[test]
fn sleeps_never_fire_early_in_real_time() {
    let lp = Loop::new();
    lp.block_on(async {
        for d in [
            ms(15),
            Duration::from_micros(1500),
            Duration::from_micros(2700),
            ms(1),
        ] {
            let t0 = Instant::now();
            let loop_t0 = tinyloop::now();
            sleep(d).await;
            assert!(t0.elapsed() >= d, "{d:?} fired after {:?}", t0.elapsed());
            assert!(since(loop_t0) >= d);
        }
        // Several at once, from tasks.
        let t0 = Instant::now();
        let tasks: Vec<_> = [3u64, 1, 2]
            .into_iter()
            .map(|n| {
                spawn(async move {
                    sleep(ms(n)).await;
                    (n, t0.elapsed())
                })
            })
            .collect();
        for t in tasks {
            let (n, elapsed) = t.await.unwrap();
            assert!(elapsed >= ms(n), "{n} ms fired after {elapsed:?}");
        }
    });
}

// ----- Model test: random timers against a sorted list -------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random sleeps (some cancelled at random times) fire at exactly their deadline, and in
    /// deadline order; cancelled ones never fire.
    #[test]
    fn random_timers_fire_exactly_and_in_order(
        timers in prop::collection::vec((0u64..300_000, prop::option::of(0u64..300_000)), 1..40),
        pre in 0u64..5000,
    ) {
        let lp = vloop();
        let log = lp.block_on(async {
            sleep(ms(pre)).await;
            let start = tinyloop::now();
            let log = Rc::new(RefCell::new(Vec::new()));
            let mut handles = Vec::new();
            for (i, &(d, cancel_at)) in timers.iter().enumerate() {
                let log = Rc::clone(&log);
                let t = spawn(async move {
                    sleep(ms(d)).await;
                    log.borrow_mut().push((i, since(start)));
                });
                if let Some(c) = cancel_at {
                    let cancel_at = start + ms(c);
                    drop(spawn(async move {
                        sleep_until(cancel_at).await;
                        t.cancel();
                    }));
                } else {
                    handles.push(t);
                }
            }
            for t in handles {
                let _ = t.await;
            }
            sleep(ms(300_001)).await;
            let out = log.borrow().clone();
            out
        });
        let mut last = Duration::ZERO;
        for &(i, fired) in &log {
            let (d, cancel_at) = timers[i];
            prop_assert_eq!(fired, ms(d), "timer {} fired at the wrong time", i);
            prop_assert!(fired >= last, "out of order");
            last = fired;
            if let Some(c) = cancel_at {
                // A cancel at the same tick may land either side of the wake-up.
                prop_assert!(c >= d, "timer {} fired after its cancel at {}", i, c);
            }
        }
        for (i, &(d, cancel_at)) in timers.iter().enumerate() {
            let fired = log.iter().any(|&(j, _)| j == i);
            match cancel_at {
                None => prop_assert!(fired, "timer {} never fired", i),
                Some(c) if c < d => prop_assert!(!fired, "cancelled timer {} fired", i),
                Some(_) => {}
            }
        }
        prop_assert_eq!(timer_count(&lp), 0);
    }
}

/// A task waits on a shared `Sleep`; `reset` is called by someone else.
fn shared_sleep(d: Duration) -> Rc<RefCell<std::pin::Pin<Box<tinyloop::Sleep>>>> {
    Rc::new(RefCell::new(Box::pin(sleep(d))))
}

fn await_shared(s: &Rc<RefCell<std::pin::Pin<Box<tinyloop::Sleep>>>>) -> impl Future<Output = ()> {
    let s = Rc::clone(s);
    poll_fn(move |cx| s.borrow_mut().as_mut().poll(cx))
}

#[test]
fn sleep_reset_from_another_task_still_wakes_the_sleeper() {
    vrun(async {
        let start = tinyloop::now();
        for new in [ms(50), ms(500)] {
            // Earlier and later than the first deadline (200 ms).
            let s = shared_sleep(ms(200));
            let sleeper = spawn(await_shared(&s));
            sleep(ms(10)).await; // the sleeper waits in the wheel now
            let at = tinyloop::now();
            s.borrow_mut().as_mut().reset(at + new);
            sleeper.await.unwrap();
            assert_eq!(tinyloop::now() - at, new, "woken at the new deadline");
        }
        assert!(since(start) >= ms(570));
    });
}

#[test]
fn sleep_reset_from_a_callback_still_wakes_the_sleeper() {
    vrun(async {
        let s = shared_sleep(ms(200));
        let sleeper = spawn(await_shared(&s));
        let start = tinyloop::now();
        let s2 = Rc::clone(&s);
        tinyloop::call_later(ms(20), move || {
            let at = tinyloop::now() + ms(80);
            s2.borrow_mut().as_mut().reset(at);
        });
        sleeper.await.unwrap();
        assert_eq!(since(start), ms(100));
    });
}

#[test]
fn a_fired_sleep_reset_from_another_task_waits_again() {
    vrun(async {
        let s = shared_sleep(ms(10));
        await_shared(&s).await;
        let at = tinyloop::now();
        s.borrow_mut().as_mut().reset(at + ms(30));
        let sleeper = spawn(await_shared(&s));
        sleeper.await.unwrap();
        assert_eq!(tinyloop::now() - at, ms(30));
    });
}
