//! `as_completed` (asyncio's `test_tasks.py`, the as_completed tests).

mod util;
use util::{ms, vrun as block_on, DropCount};

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures_core::Stream;
use tinyloop::{as_completed, now, sleep, spawn, timeout, JoinError};

#[test]
fn yields_input_index_and_output_in_completion_order() {
    block_on(async {
        let start = now();
        let naps = [30u64, 10, 20].map(|n| async move {
            sleep(ms(n)).await;
            n * 2
        });
        let mut done = as_completed(naps);
        assert_eq!(done.len(), 3);
        let mut seen = Vec::new();
        while let Some((index, out)) = done.next().await {
            seen.push((index, out, now() - start));
        }
        assert_eq!(
            seen,
            vec![(1, 20, ms(10)), (2, 40, ms(20)), (0, 60, ms(30))]
        );
        assert!(done.is_empty());
        assert_eq!(done.next().await, None);
    });
}

#[test]
fn futures_finishing_together_all_come_out() {
    block_on(async {
        let naps = [10u64, 5, 10, 10].map(|n| sleep(ms(n)));
        let mut done = as_completed(naps);
        let mut seen = Vec::new();
        while let Some((index, ())) = done.next().await {
            seen.push(index);
        }
        assert_eq!(seen[0], 1);
        seen[1..].sort_unstable();
        assert_eq!(seen, vec![1, 0, 2, 3]);
    });
}

/// `StreamExt::next`, without the dependency.
async fn next_item<S: Stream + Unpin>(stream: &mut S) -> Option<S::Item> {
    poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await
}

#[test]
fn is_a_stream() {
    block_on(async {
        let mut done = as_completed([20u64, 10].map(|n| async move {
            sleep(ms(n)).await;
            n
        }));
        assert_eq!(done.size_hint(), (2, Some(2)));
        assert_eq!(next_item(&mut done).await, Some((1, 10)));
        assert_eq!(next_item(&mut done).await, Some((0, 20)));
        assert_eq!(next_item(&mut done).await, None);
    });
}

#[test]
fn works_over_tasks() {
    block_on(async {
        let tasks = vec![
            spawn(async {
                sleep(ms(10)).await;
                "slow"
            }),
            spawn(async { panic!("boom") }),
            spawn(async { "quick" }),
        ];
        let mut done = as_completed(tasks);
        let mut seen = Vec::new();
        while let Some(item) = done.next().await {
            seen.push(item);
        }
        // The two quick tasks finish on the same loop turn, in spawn order.
        assert_eq!(
            seen,
            vec![
                (1, Err(JoinError::Panicked("boom".into()))),
                (2, Ok("quick")),
                (0, Ok("slow")),
            ]
        );
    });
}

#[test]
fn dropping_it_drops_the_unfinished_futures() {
    block_on(async {
        let drops = Rc::new(Cell::new(0));
        let futs: Vec<_> = [5u64, 50, 60]
            .into_iter()
            .map(|n| {
                let guard = DropCount(Rc::clone(&drops));
                async move {
                    let _guard = guard;
                    sleep(ms(n)).await;
                }
            })
            .collect();
        let mut done = as_completed(futs);
        assert_eq!(done.next().await, Some((0, ())));
        assert_eq!(drops.get(), 1);
        // A `next` cancelled half-way loses nothing.
        assert!(timeout(ms(10), done.next()).await.is_err());
        assert_eq!(done.len(), 2);
        drop(done);
        assert_eq!(drops.get(), 3);
    });
}

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

#[test]
fn each_timer_costs_a_constant_number_of_polls() {
    const N: u64 = 10_000;
    block_on(async {
        let polls = Rc::new(Cell::new(0));
        let futs = (0..N).map(|i| CountPolls {
            inner: Box::pin(sleep(ms(i % 1000 + 1))),
            polls: Rc::clone(&polls),
        });
        let mut done = as_completed(futs);
        let mut count = 0;
        while done.next().await.is_some() {
            count += 1;
        }
        assert_eq!(count, N);
        // One poll to start each timer, one when it fires.
        assert_eq!(polls.get() as u64, 2 * N);
    });
}
