//! `timeout` and `timeout_at` (asyncio's `test_waitfor.py` and `test_timeouts.py`).

mod util;

use std::future::{pending, poll_fn, Future};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use tinyloop::{sleep, spawn, timeout, timeout_at, yield_now, TimeoutError};
use util::{counted, drop_flag, ms, panic_text, race, since, timer_count, vloop, vrun, Either};

#[test]
fn an_inner_future_ready_at_once_wins_even_with_a_zero_deadline() {
    vrun(async {
        assert_eq!(timeout(Duration::ZERO, async { 5 }).await, Ok(5));
        let start = tinyloop::now();
        assert_eq!(timeout_at(start, async { 6 }).await, Ok(6));
        sleep(ms(10)).await;
        // A deadline 10 ms in the past.
        assert_eq!(timeout_at(start, async { 7 }).await, Ok(7));
        let (fut, probe) = counted(async { 8 });
        assert_eq!(timeout(Duration::ZERO, fut).await, Ok(8));
        assert_eq!(probe.polls(), 1);
    });
}

#[test]
fn a_zero_deadline_with_a_pending_inner_times_out_without_moving_the_clock() {
    vrun(async {
        let start = tinyloop::now();
        assert_eq!(
            timeout(Duration::ZERO, pending::<()>()).await,
            Err(TimeoutError)
        );
        assert_eq!(since(start), Duration::ZERO);
    });
}

#[test]
fn expiry_drops_the_inner_future_before_returning_the_error() {
    vrun(async {
        let start = tinyloop::now();
        let (guard, watch) = drop_flag();
        let inner = async move {
            let _g = guard;
            pending::<u8>().await
        };
        let mut t = pin!(timeout(ms(10), inner));
        // Poll by hand so we look at the drop flag while the Timeout itself is still alive.
        let (result, dropped_when_ready) = poll_fn(|cx| match t.as_mut().poll(cx) {
            Poll::Ready(r) => Poll::Ready((r, watch.is_dropped())),
            Poll::Pending => {
                assert!(!watch.is_dropped());
                Poll::Pending
            }
        })
        .await;
        assert_eq!(result, Err(TimeoutError));
        assert!(
            dropped_when_ready,
            "the inner future was dropped before Err was returned"
        );
        assert_eq!(since(start), ms(10), "it expired exactly at the deadline");
    });
}

#[test]
fn an_inner_future_that_finishes_first_wins() {
    let lp = vloop();
    lp.block_on(async {
        let start = tinyloop::now();
        let r = timeout(ms(100), async {
            sleep(ms(40)).await;
            "inner"
        })
        .await;
        assert_eq!(r, Ok("inner"));
        assert_eq!(since(start), ms(40));
        assert_eq!(timer_count(&lp), 0, "the timeout's timer left the wheel");
        // Nothing fires at 100 ms any more: the clock goes straight to the next sleep.
        sleep(ms(500)).await;
        assert_eq!(since(start), ms(540));
    });
}

#[test]
fn inner_and_deadline_due_in_the_same_turn_the_inner_wins() {
    vrun(async {
        let r = timeout(ms(50), async {
            sleep(ms(50)).await;
            1
        })
        .await;
        assert_eq!(r, Ok(1), "timeout polls the inner future first");
    });
}

#[test]
fn timeout_at_uses_the_absolute_deadline() {
    vrun(async {
        let start = tinyloop::now();
        let t = timeout_at(start + ms(300), sleep(ms(1000)));
        assert_eq!(t.deadline(), start + ms(300));
        assert_eq!(t.await, Err(TimeoutError));
        assert_eq!(since(start), ms(300));

        let start = tinyloop::now();
        let r = timeout_at(start + ms(300), async {
            sleep(ms(200)).await;
            2
        })
        .await;
        assert_eq!(r, Ok(2));
        assert_eq!(since(start), ms(200));
    });
}

#[test]
fn timeout_deadline_is_now_plus_d() {
    vrun(async {
        sleep(ms(3)).await;
        let t = timeout(ms(70), pending::<()>());
        assert_eq!(t.deadline(), tinyloop::now() + ms(70));
    });
}

#[test]
fn timeout_max_never_fires_and_never_panics() {
    let lp = vloop();
    lp.block_on(async {
        let start = tinyloop::now();
        let won = race(timeout(Duration::MAX, pending::<()>()), sleep(ms(10))).await;
        assert_eq!(won, Either::Right(()));
        assert_eq!(since(start), ms(10));
        assert_eq!(timer_count(&lp), 0);
        assert_eq!(timeout(Duration::MAX, async { 3 }).await, Ok(3));
    });
}

#[test]
fn nested_timeouts_the_shorter_fires() {
    vrun(async {
        let start = tinyloop::now();
        let r = timeout(ms(10), timeout(ms(20), pending::<()>())).await;
        assert_eq!(r, Err(TimeoutError), "the outer one fired");
        assert_eq!(since(start), ms(10));

        let start = tinyloop::now();
        let r = timeout(ms(20), timeout(ms(10), pending::<()>())).await;
        assert_eq!(r, Ok(Err(TimeoutError)), "the inner one fired");
        assert_eq!(since(start), ms(10));
    });
}

#[test]
fn a_timed_out_task_handle_keeps_the_task_running() {
    // Timing out an await of a `Task` drops the handle, which detaches the task.
    vrun(async {
        let done = std::rc::Rc::new(std::cell::Cell::new(false));
        let d = std::rc::Rc::clone(&done);
        let t = spawn(async move {
            sleep(ms(50)).await;
            d.set(true);
        });
        assert_eq!(timeout(ms(10), t).await, Err(TimeoutError));
        assert!(!done.get());
        sleep(ms(50)).await;
        assert!(done.get(), "the detached task finished");
    });
}

#[test]
fn a_timeout_in_a_cancelled_task_leaves_the_wheel() {
    let lp = vloop();
    lp.block_on(async {
        let t = spawn(timeout(ms(1000), pending::<()>()));
        yield_now().await;
        assert_eq!(timer_count(&lp), 1);
        t.cancel();
        yield_now().await;
        assert_eq!(timer_count(&lp), 0);
    });
}

#[test]
fn timeout_error_display_reads_as_a_sentence() {
    let text = TimeoutError.to_string();
    assert!(text.contains("deadline"), "{text}");
    assert!(text.split_whitespace().count() >= 5, "{text}");
}

#[test]
fn zero_and_max_durations_together_neither_panic_nor_fire_early() {
    vloop().block_on(async {
        let start = tinyloop::now();
        sleep(Duration::ZERO).await;
        assert_eq!(
            tinyloop::now(),
            start,
            "a zero sleep does not move the clock"
        );
        let r = tinyloop::timeout(Duration::MAX, sleep(ms(3))).await;
        assert_eq!(r, Ok(()));
        let r = tinyloop::timeout(Duration::ZERO, std::future::pending::<()>()).await;
        let text = r.unwrap_err().to_string();
        assert!(text.contains("deadline passed"), "{text}");
    });
}

#[test]
fn a_timeout_polled_after_completion_panics_with_a_message() {
    vloop().block_on(async {
        let mut t = Box::pin(timeout(ms(5), async { 1 }));
        assert_eq!(t.as_mut().await, Ok(1));
        let text = panic_text(|| {
            let waker = std::task::Waker::noop();
            let _ = t.as_mut().poll(&mut std::task::Context::from_waker(waker));
        });
        assert!(
            text.contains("Timeout") && text.contains("after it completed"),
            "{text}"
        );
    });
}

// ----- lazy arming: a timeout whose task is already woken does not arm its timer yet ---------

/// Pending for ever, waking its own task on every poll: the task is always woken during
/// its poll, so a `timeout` around it never arms its timer and must check the deadline itself.
fn wakes_itself_forever(polls: std::rc::Rc<std::cell::Cell<usize>>) -> impl Future<Output = ()> {
    poll_fn(move |cx| {
        polls.set(polls.get() + 1);
        cx.waker().wake_by_ref();
        Poll::Pending
    })
}

#[test]
fn a_timeout_around_a_future_that_wakes_itself_forever_still_fires() {
    // Real time: the loop always has a task ready, so a virtual clock would never move.
    let elapsed = util::within(Duration::from_secs(20), || {
        tinyloop::run(async {
            let polls = std::rc::Rc::new(std::cell::Cell::new(0));
            let start = tinyloop::now();
            let r = timeout(ms(30), wakes_itself_forever(polls.clone())).await;
            assert_eq!(r, Err(TimeoutError));
            assert!(polls.get() > 1, "the inner future kept being polled");
            since(start)
        })
    });
    assert!(elapsed >= ms(30), "never early: {elapsed:?}");
}

#[test]
fn a_passed_deadline_fires_by_the_second_poll_even_while_the_task_wakes_itself() {
    // The second poll, as a timer armed at the first would: the first put-off skips the
    // clock read, the second reads it.
    let lp = vloop();
    lp.block_on(async {
        sleep(ms(10)).await;
        let start = tinyloop::now();
        let polls = std::rc::Rc::new(std::cell::Cell::new(0));
        let r = timeout_at(start - ms(5), wakes_itself_forever(polls.clone())).await;
        assert_eq!(r, Err(TimeoutError));
        assert_eq!(polls.get(), 2);
        assert_eq!(since(start), Duration::ZERO);
        assert_eq!(timer_count(&lp), 0);
    });
}

#[test]
fn a_timeout_is_armed_only_at_the_first_poll_where_its_task_is_not_woken() {
    let lp = vloop();
    lp.block_on(async {
        let start = tinyloop::now();
        let t = spawn(timeout(ms(10), async {
            yield_now().await; // wakes its own task: the timer waits
            pending::<()>().await // never ready: now the timer is armed
        }));
        yield_now().await; // the task's first poll
        assert_eq!(timer_count(&lp), 0, "not armed while the task was woken");
        yield_now().await; // its second poll
        assert_eq!(timer_count(&lp), 1, "armed once the task waits");
        assert_eq!(t.await, Ok(Err(TimeoutError)));
        assert_eq!(since(start), ms(10), "exactly at the deadline");
        assert_eq!(timer_count(&lp), 0);
    });
}

#[test]
fn a_future_that_wakes_itself_once_then_waits_for_ever_times_out_exactly() {
    vrun(async {
        // In the main future (its own wake-up bookkeeping), and with several self-wakes.
        let start = tinyloop::now();
        let r = timeout(ms(10), async {
            for _ in 0..3 {
                yield_now().await;
            }
            pending::<()>().await
        })
        .await;
        assert_eq!(r, Err(TimeoutError));
        assert_eq!(since(start), ms(10));

        // Self-wakes between short sleeps: armed at the first sleep, fires exactly.
        let start = tinyloop::now();
        let r = timeout(ms(10), async {
            loop {
                yield_now().await;
                sleep(ms(3)).await;
            }
        })
        .await;
        assert_eq!(r, Err(TimeoutError));
        assert_eq!(since(start), ms(10));
    });
}

#[test]
fn a_timeout_around_a_future_woken_from_another_thread() {
    // Finishes first: the other thread opens the gate.
    util::within(Duration::from_secs(20), || {
        tinyloop::run(async {
            let gate = std::sync::Arc::new(util::Gate::new());
            let opener = std::sync::Arc::clone(&gate);
            let thread = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(5));
                opener.open();
            });
            assert_eq!(timeout(Duration::from_secs(10), gate.wait()).await, Ok(()));
            thread.join().unwrap();
        })
    });
    // Times out exactly, though another thread wakes the inner future after every poll (the
    // loop sees such a wake only when it takes it in, so it arms the timer at once).
    util::within(Duration::from_secs(20), || {
        let lp = vloop();
        lp.block_on(async {
            let (tx, rx) = std::sync::mpsc::channel::<std::task::Waker>();
            let waker_thread = std::thread::spawn(move || {
                for waker in rx {
                    waker.wake();
                }
            });
            let start = tinyloop::now();
            let r = timeout(
                ms(10),
                poll_fn(|cx| {
                    tx.send(cx.waker().clone()).unwrap();
                    Poll::<()>::Pending
                }),
            )
            .await;
            assert_eq!(r, Err(TimeoutError));
            assert_eq!(since(start), ms(10));
            drop(tx);
            waker_thread.join().unwrap();
        });
    });
}

#[test]
fn dropping_a_timeout_unarmed_or_armed_leaves_nothing_in_the_wheel() {
    let lp = vloop();
    lp.block_on(async {
        let polls = std::rc::Rc::new(std::cell::Cell::new(0));

        // Unarmed, in a task that is cancelled.
        let t = spawn(timeout(ms(1000), wakes_itself_forever(polls.clone())));
        yield_now().await;
        yield_now().await;
        assert!(polls.get() >= 2, "put off more than once");
        assert_eq!(timer_count(&lp), 0);
        t.cancel();
        yield_now().await;
        assert_eq!(timer_count(&lp), 0);

        // Armed after a put-off, in a task that is cancelled.
        let t = spawn(timeout(ms(1000), async {
            yield_now().await;
            pending::<()>().await
        }));
        yield_now().await;
        yield_now().await;
        assert_eq!(timer_count(&lp), 1);
        t.cancel();
        yield_now().await;
        assert_eq!(timer_count(&lp), 0);

        // Unarmed and then armed, polled by hand in the main future and dropped.
        let mut t = Box::pin(timeout(ms(1000), wakes_itself_forever(polls.clone())));
        poll_fn(|cx| {
            assert!(t.as_mut().poll(cx).is_pending());
            Poll::Ready(())
        })
        .await;
        assert_eq!(timer_count(&lp), 0, "the main future was woken: not armed");
        drop(t);
        assert_eq!(timer_count(&lp), 0);
        // A fresh poll of the main future: the wake above was for the one that just ended.
        yield_now().await;
        let mut t = Box::pin(timeout(ms(1000), pending::<()>()));
        poll_fn(|cx| {
            assert!(t.as_mut().poll(cx).is_pending());
            Poll::Ready(())
        })
        .await;
        assert_eq!(timer_count(&lp), 1, "nothing woke the main future: armed");
        drop(t);
        assert_eq!(timer_count(&lp), 0);
    });
}

#[test]
fn a_timeout_polled_with_another_waker_arms_at_once() {
    // A waker that is not the task's own (a `gather` child's, a hand-made one) says nothing
    // about whether this timeout is polled again: it arms as before.
    let lp = vloop();
    lp.block_on(async {
        let polls = std::rc::Rc::new(std::cell::Cell::new(0));
        let mut t = Box::pin(timeout(ms(1000), wakes_itself_forever(polls)));
        let waker = std::task::Waker::noop();
        assert!(t
            .as_mut()
            .poll(&mut std::task::Context::from_waker(waker))
            .is_pending());
        assert_eq!(timer_count(&lp), 1);
        drop(t);
        assert_eq!(timer_count(&lp), 0);
    });
}

// ----- the clock of a `timeout` starts when it first waits, as asyncio's `wait_for` -------

#[test]
fn a_timeouts_clock_starts_when_it_first_waits_not_when_it_is_made() {
    vrun(async {
        let start = tinyloop::now();
        let t = timeout(ms(50), pending::<()>());
        sleep(ms(30)).await;
        // Not started yet: its duration from now, and it moves with the clock.
        assert_eq!(t.deadline(), tinyloop::now() + ms(50));
        assert_eq!(t.await, Err(TimeoutError));
        assert_eq!(
            since(start),
            ms(80),
            "50 ms after its first poll, not its creation"
        );
    });
}

#[test]
fn once_a_timeout_waited_its_deadline_stays_put() {
    vrun(async {
        let start = tinyloop::now();
        let mut t = Box::pin(timeout(ms(50), pending::<()>()));
        // One poll with the task not woken: the timer is armed and the clock started.
        poll_fn(|cx| {
            assert!(t.as_mut().poll(cx).is_pending());
            Poll::Ready(())
        })
        .await;
        assert_eq!(t.deadline(), start + ms(50));
        sleep(ms(20)).await;
        assert_eq!(t.deadline(), start + ms(50), "fixed at the first wait");
        assert_eq!(t.await, Err(TimeoutError));
        assert_eq!(since(start), ms(50));
    });
}

#[test]
fn a_timeout_put_off_once_starts_its_clock_a_turn_later_and_still_fires() {
    // The first poll finds the task woken (the inner future yields): no clock read yet. The
    // second waits for good: the clock starts there, the same virtual instant.
    vrun(async {
        let start = tinyloop::now();
        let r = timeout(ms(40), async {
            yield_now().await;
            yield_now().await;
            pending::<()>().await
        })
        .await;
        assert_eq!(r, Err(TimeoutError));
        assert_eq!(since(start), ms(40));
    });
}
