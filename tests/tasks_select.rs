//! `select`, `select_all`, `shield`, and `timeout` racing its inner future.

mod util;
use util::{ms, vrun as block_on, DropCount};

use std::cell::Cell;
use std::future::{pending, ready, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use tinyloop::{now, select, select_all, shield, sleep, timeout, yield_now, Either, JoinError};

#[test]
fn select_polls_a_first() {
    block_on(async {
        assert_eq!(select(ready(1), ready("b")).await, Either::Left(1));
        let order = Rc::new(Cell::new(Vec::new()));
        let log = |name: &'static str| {
            let order = Rc::clone(&order);
            async move {
                let mut v = order.take();
                v.push(name);
                order.set(v);
                pending::<()>().await
            }
        };
        let out = select(select(log("a"), log("b")), sleep(ms(1))).await;
        assert_eq!(out, Either::Right(()));
        assert_eq!(order.take(), vec!["a", "b"]);
    });
}

#[test]
fn select_returns_the_first_to_finish_and_drops_the_loser() {
    block_on(async {
        let drops = Rc::new(Cell::new(0));
        let guard = DropCount(Rc::clone(&drops));
        let start = now();
        let out = select(
            async move {
                let _guard = guard;
                sleep(ms(50)).await;
                "slow"
            },
            async {
                sleep(ms(10)).await;
                7
            },
        )
        .await;
        assert_eq!(out, Either::Right(7));
        assert_eq!(now() - start, ms(10));
        assert_eq!(
            drops.get(),
            1,
            "the loser was dropped before select returned"
        );
    });
}

#[test]
fn either_helpers() {
    let l: Either<u8, &str> = Either::Left(1);
    let r: Either<u8, &str> = Either::Right("r");
    assert!(l.is_left() && !l.is_right() && r.is_right());
    assert_eq!((l.left(), l.right(), r.right()), (Some(1), None, Some("r")));
    assert_eq!(Either::<u8, u8>::Right(3).into_inner(), 3);
}

type BoxFut = Pin<Box<dyn Future<Output = u64>>>;

fn nap(n: u64) -> BoxFut {
    Box::pin(async move {
        sleep(ms(n)).await;
        n
    })
}

#[test]
fn select_all_returns_output_index_and_the_rest_in_order() {
    block_on(async {
        let (out, index, rest) = select_all(vec![nap(30), nap(10), nap(20)]).await;
        assert_eq!((out, index, rest.len()), (10, 1, 2));
        // The rest keep their progress and order; race them again.
        let (out, index, rest) = select_all(rest).await;
        assert_eq!((out, index, rest.len()), (20, 1, 1));
        let (out, index, rest) = select_all(rest).await;
        assert_eq!((out, index, rest.len()), (30, 0, 0));
    });
}

#[test]
fn select_all_breaks_ties_by_input_order() {
    block_on(async {
        let futs: Vec<BoxFut> = vec![nap(5), Box::pin(ready(1)), Box::pin(ready(2))];
        let (out, index, rest) = select_all(futs).await;
        assert_eq!((out, index, rest.len()), (1, 1, 2));
    });
}

#[test]
#[should_panic(expected = "`select_all` was given no futures")]
fn select_all_of_nothing_panics() {
    drop(select_all(Vec::<BoxFut>::new()));
}

#[test]
fn a_shielded_future_survives_the_drop_of_its_shield() {
    block_on(async {
        let finished = Rc::new(Cell::new(false));
        let flag = Rc::clone(&finished);
        let guarded = shield(async move {
            sleep(ms(50)).await;
            flag.set(true);
            "saved"
        });
        assert!(timeout(ms(10), guarded).await.is_err());
        assert!(!finished.get());
        sleep(ms(100)).await;
        assert!(finished.get(), "the shielded work ran to the end");
    });
}

#[test]
fn awaiting_a_shield_gives_the_output_or_the_join_error() {
    block_on(async {
        assert_eq!(shield(async { 5 }).await, Ok(5));
        let s = shield(async {
            sleep(ms(10)).await;
            5
        });
        assert!(!s.is_done());
        assert!(s.cancel());
        assert_eq!(s.await, Err(JoinError::Cancelled));
        let s = shield(async {
            yield_now().await;
            panic!("oops")
        });
        assert_eq!(s.await, Err(JoinError::Panicked("oops".into())));
    });
}

#[test]
fn timeout_lets_an_inner_future_that_is_ready_at_once_win() {
    block_on(async {
        assert_eq!(timeout(Duration::ZERO, async { 5 }).await, Ok(5));
        assert_eq!(timeout(ms(10), async { 6 }).await, Ok(6));
        let start = now();
        assert!(timeout(ms(10), sleep(ms(20))).await.is_err());
        assert_eq!(now() - start, ms(10));
        assert_eq!(
            timeout(ms(20), async {
                sleep(ms(10)).await;
                7
            })
            .await,
            Ok(7)
        );
    });
}
