//! `Queue::stream()` (and LifoQueue's, PriorityQueue's): `async for item in queue`. The stream
//! is `get` over and over, so it keeps `get`'s order, fairness and cancel-safety, and ends
//! once the queue is shut down and drained.

#[path = "util/sync.rs"]
mod sync_util;
mod util;

use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use futures_core::Stream;
use sync_util::{run_virtual, waiting};
use tinyloop::{sleep, spawn, timeout, yield_now, LifoQueue, PriorityQueue, Queue};
use util::ms;

/// `StreamExt::next`, without the `futures` crate.
async fn next<S: Stream + Unpin>(stream: &mut S) -> Option<S::Item> {
    poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await
}

/// Polls a stream once by hand, outside any loop.
fn poll_once<S: Stream + Unpin>(stream: &mut S) -> Poll<Option<S::Item>> {
    Pin::new(stream).poll_next(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn yields_every_item_in_order_then_ends_after_shutdown_and_drain() {
    run_virtual(async {
        let queue = Queue::new(2);
        let producer = spawn({
            let queue = queue.clone();
            async move {
                for n in 1..=10 {
                    queue.put(n).await.unwrap();
                    sleep(ms(1)).await;
                }
                queue.shutdown();
            }
        });
        let mut items = queue.stream();
        let mut seen = Vec::new();
        while let Some(n) = next(&mut items).await {
            seen.push(n);
        }
        assert_eq!(seen, (1..=10).collect::<Vec<_>>());
        producer.await.unwrap();
        // Ended for good.
        assert_eq!(next(&mut items).await, None);
        assert_eq!(next(&mut queue.stream()).await, None);
    });
}

#[test]
fn items_queued_before_shutdown_still_come_out_in_each_queues_order() {
    run_virtual(async {
        let (fifo, lifo, prio) = (Queue::new(0), LifoQueue::new(0), PriorityQueue::new(0));
        for n in [3, 1, 2] {
            fifo.try_put(n).unwrap();
            lifo.try_put(n).unwrap();
            prio.try_put(n).unwrap();
        }
        fifo.shutdown();
        lifo.shutdown();
        prio.shutdown();
        async fn drain(mut s: impl Stream<Item = i32> + Unpin) -> Vec<i32> {
            let mut out = Vec::new();
            while let Some(n) = next(&mut s).await {
                out.push(n);
            }
            out
        }
        assert_eq!(drain(fifo.stream()).await, [3, 1, 2]);
        assert_eq!(drain(lifo.stream()).await, [2, 1, 3]);
        assert_eq!(drain(prio.stream()).await, [1, 2, 3]);
    });
}

#[test]
fn a_waiting_stream_ends_when_the_queue_is_shut_down() {
    let queue = Queue::<u8>::unbounded();
    let mut items = queue.stream();
    assert!(poll_once(&mut items).is_pending());
    queue.shutdown();
    assert_eq!(poll_once(&mut items), Poll::Ready(None));

    let queue = Queue::unbounded();
    let mut items = queue.stream();
    queue.try_put(1).unwrap();
    queue.try_put(2).unwrap();
    assert_eq!(queue.shutdown_immediate(), [1, 2]);
    assert_eq!(poll_once(&mut items), Poll::Ready(None));
}

#[test]
fn dropping_a_stream_after_an_item_was_handed_to_it_passes_the_item_on() {
    let queue = Queue::unbounded();
    let mut items = queue.stream();
    assert!(poll_once(&mut items).is_pending()); // waits, first in line
    let mut getter = waiting(queue.get());
    queue.try_put("item").unwrap(); // handed to the stream's get...
    drop(items); // ...which is dropped before it runs
    assert_eq!(getter.wakes(), 1);
    assert_eq!(getter.ready(), Ok("item"));
}

#[test]
fn dropping_a_stream_after_an_item_was_handed_to_it_puts_it_back_in_front() {
    let queue = Queue::unbounded();
    let mut items = queue.stream();
    assert!(poll_once(&mut items).is_pending());
    queue.try_put(1).unwrap(); // handed to the stream
    queue.try_put(2).unwrap(); // queued
    drop(items);
    assert_eq!((queue.try_get(), queue.try_get()), (Ok(1), Ok(2)));
}

#[test]
fn a_stream_task_cancelled_mid_wait_loses_nothing() {
    run_virtual(async {
        let queue = Queue::unbounded();
        let reader = spawn({
            let mut items = queue.stream();
            async move { next(&mut items).await }
        });
        yield_now().await; // the reader waits in its stream
        queue.put("first").await.unwrap(); // handed to the reader...
        reader.cancel(); // ...which is cancelled in the same turn, stream and all
        assert!(reader.await.unwrap_err().is_cancelled());
        assert_eq!(queue.get().await, Ok("first"));
    });
}

#[test]
fn a_timed_out_next_keeps_the_streams_place_and_loses_nothing() {
    run_virtual(async {
        let queue = Queue::unbounded();
        let mut items = queue.stream();
        assert!(timeout(ms(5), next(&mut items)).await.is_err());
        queue.put(7).await.unwrap();
        assert_eq!(next(&mut items).await, Some(7));
    });
}

#[test]
fn streams_and_gets_are_served_in_arrival_order() {
    let queue = Queue::unbounded();
    let mut first = queue.stream();
    assert!(poll_once(&mut first).is_pending());
    let mut second = waiting(queue.get());
    let mut third = queue.stream();
    assert!(poll_once(&mut third).is_pending());
    for n in 1..=3 {
        queue.try_put(n).unwrap();
    }
    assert_eq!(poll_once(&mut first), Poll::Ready(Some(1)));
    assert_eq!(second.ready(), Ok(2));
    assert_eq!(poll_once(&mut third), Poll::Ready(Some(3)));
}

#[test]
fn the_stream_owns_its_handle_and_can_move_into_a_task() {
    run_virtual(async {
        let queue = Queue::new(1);
        let consumer = spawn({
            let items = queue.stream(); // made here, consumed in the task
            async move {
                let mut items = items;
                let mut sum = 0;
                while let Some(n) = next(&mut items).await {
                    sum += n;
                }
                sum
            }
        });
        for n in 1..=4 {
            queue.put(n).await.unwrap();
        }
        queue.shutdown();
        drop(queue); // the stream keeps the queue alive until it is drained
        assert_eq!(consumer.await.unwrap(), 10);
    });
}
