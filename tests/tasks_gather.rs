//! `gather`, `try_gather` and their macros (asyncio's `test_tasks.py`, the gather tests).

mod util;
use util::{ms, panic_text, poll_once, vloop, vrun as block_on, DropCount};

use std::cell::Cell;
use std::future::Future;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tinyloop::{gather, now, sleep, timeout, try_gather, yield_now, Loop};

/// Counts its drops into a shared cell.
/// Wraps a future and counts how often it is polled.
struct CountPolls<F> {
    inner: Pin<Box<F>>,
    polls: Rc<Cell<usize>>,
}

impl<F: Future> Future for CountPolls<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.set(self.polls.get() + 1);
        self.inner.as_mut().poll(cx)
    }
}

fn counted<F: Future>(polls: &Rc<Cell<usize>>, fut: F) -> CountPolls<F> {
    CountPolls {
        inner: Box::pin(fut),
        polls: Rc::clone(polls),
    }
}

#[test]
fn results_come_back_in_input_order() {
    block_on(async {
        let start = now();
        let naps = [30, 10, 20, 0].map(|n| async move {
            sleep(ms(n)).await;
            n
        });
        assert_eq!(gather(naps).await, vec![30, 10, 20, 0]);
        // Concurrent, not one after the other.
        assert_eq!(now() - start, ms(30));
    });
}

#[test]
fn an_empty_gather_completes_at_once() {
    block_on(async {
        let none: Vec<std::future::Ready<u8>> = Vec::new();
        assert_eq!(gather(none).await, Vec::<u8>::new());
        let none: Vec<std::future::Ready<Result<u8, ()>>> = Vec::new();
        assert_eq!(try_gather(none).await, Ok(vec![]));
    });
}

#[test]
fn dropping_a_gather_drops_every_child() {
    block_on(async {
        let drops = Rc::new(Cell::new(0));
        let children: Vec<_> = (0..10u64)
            .map(|i| {
                let guard = DropCount(Rc::clone(&drops));
                async move {
                    let _guard = guard;
                    sleep(ms(10 * i)).await;
                }
            })
            .collect();
        // Children 0..=4 finish (and are dropped) before the deadline; the rest are dropped
        // with the gather.
        assert!(timeout(ms(45), gather(children)).await.is_err());
        assert_eq!(drops.get(), 10);
    });
}

#[test]
fn a_finished_child_is_dropped_at_once() {
    block_on(async {
        let drops = Rc::new(Cell::new(0));
        let guard = DropCount(Rc::clone(&drops));
        let observer = Rc::clone(&drops);
        let quick = async move {
            let _guard = guard;
            0usize
        };
        let slow = async move {
            sleep(ms(5)).await;
            observer.get()
        };
        let out = gather([
            Box::pin(quick) as Pin<Box<dyn Future<Output = usize>>>,
            Box::pin(slow),
        ])
        .await;
        assert_eq!(
            out,
            vec![0, 1],
            "the quick child was gone before the slow one finished"
        );
    });
}

#[test]
fn try_gather_returns_the_first_error_and_drops_the_rest() {
    block_on(async {
        let drops = Rc::new(Cell::new(0));
        let children: Vec<_> = [
            (50, Ok(1)),
            (20, Err("second")),
            (10, Err("first")),
            (5, Ok(4)),
        ]
        .into_iter()
        .map(|(n, r)| {
            let guard = DropCount(Rc::clone(&drops));
            async move {
                let _guard = guard;
                sleep(ms(n)).await;
                r
            }
        })
        .collect();
        let start = now();
        assert_eq!(try_gather(children).await, Err("first"));
        assert_eq!(now() - start, ms(10));
        // Every child, finished or not, was dropped before the error came back.
        assert_eq!(drops.get(), 4);
    });
}

#[test]
fn try_gather_collects_every_success_in_input_order() {
    block_on(async {
        let children = [3u64, 1, 2].map(|n| async move {
            sleep(ms(n)).await;
            Ok::<_, String>(n)
        });
        assert_eq!(try_gather(children).await, Ok(vec![3, 1, 2]));
    });
}

#[test]
fn gather_macro_returns_a_tuple_of_different_types() {
    block_on(async {
        let start = now();
        let (a, b, c) = tinyloop::gather!(
            async {
                sleep(ms(20)).await;
                1u8
            },
            async {
                sleep(ms(10)).await;
                "two"
            },
            async { String::from("three") },
        )
        .await;
        assert_eq!((a, b, c.as_str()), (1, "two", "three"));
        assert_eq!(now() - start, ms(20));
        let (only,) = tinyloop::gather!(async { 5 }).await;
        assert_eq!(only, 5);
    });
}

#[test]
fn gather_macro_evaluates_its_futures_where_it_is_written() {
    block_on(async {
        let name = String::from("kept");
        // Borrows `name` rather than moving it into the macro's future.
        let (len,) = tinyloop::gather!(async { name.len() }).await;
        assert_eq!((len, name.as_str()), (4, "kept"));
    });
}

#[test]
fn try_gather_macro_first_error_wins_and_the_rest_are_dropped() {
    block_on(async {
        let drops = Rc::new(Cell::new(0));
        let guard = DropCount(Rc::clone(&drops));
        let start = now();
        let r: Result<(u8, &str), String> = tinyloop::try_gather!(
            async move {
                let _guard = guard;
                sleep(ms(100)).await;
                Ok(1)
            },
            async {
                sleep(ms(10)).await;
                Err(String::from("boom"))
            },
        )
        .await;
        assert_eq!(r, Err(String::from("boom")));
        assert_eq!(now() - start, ms(10));
        assert_eq!(drops.get(), 1);

        let ok: Result<(u8, &str), String> =
            tinyloop::try_gather!(async { Ok(1) }, async { Ok("two") }).await;
        assert_eq!(ok, Ok((1, "two")));
    });
}

#[test]
fn waking_one_child_polls_only_that_child() {
    // 10,000 children; child 0 wakes itself 1,000 times while the others sleep. Polling every
    // child on every wake-up would take ~10,000,000 polls.
    const N: usize = 10_000;
    const WAKES: usize = 1_000;
    block_on(async {
        let polls = Rc::new(Cell::new(0));
        let mut children: Vec<Pin<Box<dyn Future<Output = ()>>>> = Vec::with_capacity(N);
        children.push(Box::pin(counted(&polls, async {
            for _ in 0..WAKES {
                yield_now().await;
            }
        })));
        for _ in 1..N {
            children.push(Box::pin(counted(&polls, sleep(Duration::from_secs(1)))));
        }
        gather(children).await;
        // N first polls, WAKES more for child 0, and one more per sleeper when its timer fires.
        assert_eq!(polls.get(), N + WAKES + (N - 1));
    });
}

/// Ready once its flag is set; the first poll hands its waker to a thread that sets it.
struct WokenFromThread {
    flag: Arc<AtomicBool>,
    started: bool,
}

impl Future for WokenFromThread {
    type Output = &'static str;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
        if self.flag.load(Ordering::Acquire) {
            return Poll::Ready("woken");
        }
        if !self.started {
            self.started = true;
            let flag = Arc::clone(&self.flag);
            let waker = cx.waker().clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(5));
                flag.store(true, Ordering::Release);
                waker.wake();
            });
        }
        Poll::Pending
    }
}

#[test]
fn a_child_can_be_woken_from_another_thread() {
    let out = Loop::new().block_on(gather((0..3).map(|_| WokenFromThread {
        flag: Arc::new(AtomicBool::new(false)),
        started: false,
    })));
    assert_eq!(out, vec!["woken"; 3]);
}

#[test]
fn a_gather_polled_again_after_it_completed_panics_with_a_message() {
    vloop().block_on(async {
        let mut g = pin!(gather((1..=2).map(|n| async move { n })));
        assert_eq!(g.as_mut().await, vec![1, 2]);
        let text = panic_text(|| poll_once(g.as_mut()));
        assert!(text.contains("polled after it completed"), "{text}");
    });
}
