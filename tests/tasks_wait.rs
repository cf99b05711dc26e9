//! `wait` and `wait_timeout` (asyncio's `test_tasks.py`, the wait tests).

use std::future::Future;
use std::time::Duration;

use tinyloop::{now, sleep, spawn, wait, wait_timeout, JoinError, Loop, ReturnWhen, Task};

fn block_on<F: Future>(fut: F) -> F::Output {
    Loop::builder()
        .virtual_time(true)
        .build()
        .unwrap()
        .block_on(fut)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A task that sleeps `n` ms and returns `n`.
fn nap(n: u64) -> Task<u64> {
    spawn(async move {
        sleep(ms(n)).await;
        n
    })
}

async fn outputs<T: 'static>(tasks: Vec<Task<T>>) -> Vec<Result<T, JoinError>> {
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await);
    }
    out
}

#[test]
fn all_completed_waits_for_every_task() {
    block_on(async {
        let start = now();
        let (done, pending) = wait([nap(30), nap(10), nap(20)], ReturnWhen::AllCompleted).await;
        assert_eq!(now() - start, ms(30));
        assert!(pending.is_empty());
        // Outputs stay in the tasks, in input order.
        assert_eq!(outputs(done).await, vec![Ok(30), Ok(10), Ok(20)]);
    });
}

#[test]
fn first_completed_returns_early_and_the_rest_keep_running() {
    block_on(async {
        let start = now();
        let (done, pending) = wait([nap(30), nap(10), nap(20)], ReturnWhen::FirstCompleted).await;
        assert_eq!(now() - start, ms(10));
        assert!(done.iter().all(|t| t.is_done()));
        assert_eq!(outputs(done).await, vec![Ok(10)]);
        assert_eq!(pending.len(), 2);
        assert!(pending.iter().all(|t| !t.is_done()));
        // Still running: they finish at their own time.
        assert_eq!(outputs(pending).await, vec![Ok(30), Ok(20)]);
        assert_eq!(now() - start, ms(30));
    });
}

#[test]
fn first_completed_returns_every_task_done_on_that_tick() {
    block_on(async {
        let (done, pending) = wait(
            [nap(20), nap(10), nap(30), nap(10), nap(10)],
            ReturnWhen::FirstCompleted,
        )
        .await;
        assert_eq!(outputs(done).await, vec![Ok(10), Ok(10), Ok(10)]);
        assert_eq!(pending.len(), 2);
    });
}

#[test]
fn first_completed_counts_tasks_that_had_already_finished() {
    block_on(async {
        let quick = spawn(async { 1 });
        sleep(ms(1)).await;
        let (done, pending) = wait([nap(10), quick], ReturnWhen::FirstCompleted).await;
        assert_eq!((done.len(), pending.len()), (1, 1));
        assert_eq!(outputs(done).await, vec![Ok(1)]);
    });
}

#[test]
fn first_exception_returns_on_the_first_err() {
    block_on(async {
        let start = now();
        let failing = |n: u64, r: Result<u64, String>| {
            spawn(async move {
                sleep(ms(n)).await;
                r
            })
        };
        let tasks = [
            failing(10, Ok(1)),
            failing(20, Err("bad".into())),
            failing(30, Ok(3)),
        ];
        let (done, pending) = wait(tasks, ReturnWhen::FirstException).await;
        assert_eq!(now() - start, ms(20));
        assert_eq!(outputs(done).await, vec![Ok(Ok(1)), Ok(Err("bad".into()))]);
        assert_eq!(outputs(pending).await, vec![Ok(Ok(3))]);
    });
}

#[test]
fn first_exception_returns_on_a_panic_or_a_cancellation() {
    block_on(async {
        let start = now();
        let panicking = spawn(async {
            sleep(ms(10)).await;
            panic!("boom");
        });
        let (done, pending) = wait([nap(50), panicking], ReturnWhen::FirstException).await;
        assert_eq!(now() - start, ms(10));
        assert_eq!(
            outputs(done).await,
            vec![Err(JoinError::Panicked("boom".into()))]
        );
        assert_eq!(pending.len(), 1);

        let start = now();
        let doomed = nap(100);
        // The cancellation lands on the loop's next turn, while `wait` is waiting.
        doomed.cancel();
        let (done, pending) = wait([nap(50), doomed], ReturnWhen::FirstException).await;
        assert_eq!(now(), start);
        assert_eq!(outputs(done).await, vec![Err(JoinError::Cancelled)]);
        assert_eq!(pending.len(), 1);
    });
}

#[test]
fn first_exception_without_a_failure_waits_for_all() {
    block_on(async {
        let start = now();
        let (done, pending) = wait([nap(10), nap(20)], ReturnWhen::FirstException).await;
        assert_eq!(now() - start, ms(20));
        assert_eq!((done.len(), pending.len()), (2, 0));
    });
}

#[test]
fn accepts_the_usual_output_types() {
    block_on(async {
        macro_rules! check {
            ($($value:expr),*) => {$(
                let (done, _) = wait([spawn(async { $value })], ReturnWhen::FirstException).await;
                assert_eq!(done.len(), 1);
            )*};
        }
        check!(
            (),
            1u8,
            2i16,
            3u32,
            4i64,
            5u128,
            6usize,
            -7isize,
            true,
            String::new(),
            "str"
        );
        check!(Ok::<u8, ()>(1), Err::<(), u8>(2));
    });
}

/// A task that sleeps `n` ms and returns `value`.
fn after<T: 'static>(n: u64, value: T) -> Task<T> {
    spawn(async move {
        sleep(ms(n)).await;
        value
    })
}

#[derive(Debug, PartialEq)]
struct Reply {
    code: u16,
}

/// An enum of the user's whose second variant sits where `Result`'s `Err` does.
#[derive(Debug, PartialEq)]
enum Verdict {
    Pass,
    Fail,
}

#[test]
fn accepts_tuples_options_and_user_types() {
    block_on(async {
        // None of these is a failure: only a panic or a cancellation would stop the wait.
        let start = now();
        let (done, pending) = wait(
            [after(10, (1, "a")), after(20, (2, "b"))],
            ReturnWhen::FirstException,
        )
        .await;
        assert_eq!((now() - start, done.len(), pending.len()), (ms(20), 2, 0));
        assert_eq!(outputs(done).await, vec![Ok((1, "a")), Ok((2, "b"))]);

        let (done, _) = wait(
            [after(10, None), after(20, Some(2))],
            ReturnWhen::FirstException,
        )
        .await;
        assert_eq!(outputs(done).await, vec![Ok(None), Ok(Some(2))]);

        let (done, _) = wait(
            [
                after(10, Reply { code: 500 }),
                after(20, Reply { code: 200 }),
            ],
            ReturnWhen::FirstException,
        )
        .await;
        assert_eq!(done.len(), 2);

        let start = now();
        let (done, _) = wait(
            [after(10, Verdict::Fail), after(20, Verdict::Pass)],
            ReturnWhen::FirstException,
        )
        .await;
        assert_eq!(
            now() - start,
            ms(20),
            "an enum that is not a Result never fails"
        );
        assert_eq!(
            outputs(done).await,
            vec![Ok(Verdict::Fail), Ok(Verdict::Pass)]
        );

        // FirstCompleted and wait_timeout take them too.
        let (done, pending) = wait(
            [after(10, Some(1)), after(20, None)],
            ReturnWhen::FirstCompleted,
        )
        .await;
        assert_eq!((done.len(), pending.len()), (1, 1));
        let (done, pending) = wait_timeout(
            [after(10, (1,)), after(30, (2,))],
            ReturnWhen::AllCompleted,
            ms(20),
        )
        .await;
        assert_eq!((done.len(), pending.len()), (1, 1));

        // A panic still counts for a non-Result output.
        let start = now();
        let boom = spawn(async {
            sleep(ms(10)).await;
            panic!("boom");
        });
        let (done, pending) = wait([after(50, Some(1)), boom], ReturnWhen::FirstException).await;
        assert_eq!((now() - start, done.len(), pending.len()), (ms(10), 1, 1));
    });
}

#[test]
fn first_exception_sees_err_in_every_shape_of_result() {
    /// The wait stops at 10 ms exactly when the first task's output is an `Err`.
    async fn stops_early<T: 'static>(first: T, second: T) -> bool {
        let start = now();
        let (_, pending) = wait(
            [after(10, first), after(20, second)],
            ReturnWhen::FirstException,
        )
        .await;
        for task in &pending {
            task.cancel();
        }
        now() - start == ms(10)
    }
    block_on(async {
        use std::num::NonZeroU32;
        // Plain, niche-packed (the tag hides in a pointer or a zero), nested, zero-sized, aliased.
        assert!(stops_early(Err::<u8, u8>(1), Ok(2)).await);
        assert!(!stops_early(Ok::<u8, u8>(1), Ok(2)).await);
        assert!(stops_early(Err::<Box<u8>, ()>(()), Ok(Box::new(2))).await);
        assert!(!stops_early(Ok::<Box<u8>, ()>(Box::new(1)), Ok(Box::new(2))).await);
        assert!(stops_early(Err::<(), NonZeroU32>(NonZeroU32::MIN), Ok(())).await);
        assert!(!stops_early(Ok::<(), NonZeroU32>(()), Ok(())).await);
        assert!(stops_early(Err::<(), ()>(()), Ok(())).await);
        assert!(stops_early(Err::<Result<(), u8>, u8>(1), Ok(Ok(()))).await);
        // An Ok holding an Err is an Ok.
        assert!(!stops_early(Ok::<Result<(), u8>, u8>(Err(1)), Ok(Ok(()))).await);
        let io: std::io::Result<(u8, String)> = Err(std::io::ErrorKind::Other.into());
        assert!(stops_early(io, Ok((1, String::new()))).await);
        let boxed: Result<Vec<u8>, Box<dyn std::error::Error>> = Err("bad".into());
        assert!(stops_early(boxed, Ok(vec![])).await);
        // Not a Result, though its variant sits where Err's does.
        assert!(!stops_early(Some(1u8), None).await);
        assert!(!stops_early(Verdict::Fail, Verdict::Pass).await);
    });
}

#[test]
fn an_empty_input_returns_at_once() {
    block_on(async {
        let start = now();
        let none: Vec<Task<u8>> = Vec::new();
        let (done, pending) = wait(none, ReturnWhen::FirstCompleted).await;
        assert!(done.is_empty() && pending.is_empty());
        let (done, pending) =
            wait_timeout(Vec::<Task<u8>>::new(), ReturnWhen::AllCompleted, ms(50)).await;
        assert!(done.is_empty() && pending.is_empty());
        assert_eq!(now(), start);
    });
}

#[test]
fn wait_timeout_returns_what_is_done_so_far() {
    block_on(async {
        let start = now();
        let (done, pending) = wait_timeout(
            [nap(30), nap(10), nap(20), nap(40)],
            ReturnWhen::AllCompleted,
            ms(25),
        )
        .await;
        assert_eq!(now() - start, ms(25));
        assert_eq!(outputs(done).await, vec![Ok(10), Ok(20)]);
        // The pending ones were not cancelled.
        assert_eq!(outputs(pending).await, vec![Ok(30), Ok(40)]);
    });
}

#[test]
fn wait_timeout_returns_early_when_the_condition_holds() {
    block_on(async {
        let start = now();
        let (done, pending) =
            wait_timeout([nap(30), nap(10)], ReturnWhen::FirstCompleted, ms(25)).await;
        assert_eq!(now() - start, ms(10));
        assert_eq!((done.len(), pending.len()), (1, 1));
    });
}

#[test]
fn wait_timeout_of_zero_still_reports_finished_tasks() {
    block_on(async {
        let finished = spawn(async { 0 });
        sleep(ms(1)).await;
        let (done, pending) = wait_timeout(
            [finished, nap(10)],
            ReturnWhen::AllCompleted,
            Duration::ZERO,
        )
        .await;
        assert_eq!((done.len(), pending.len()), (1, 1));
        assert_eq!(outputs(done).await, vec![Ok(0)]);
    });
}
