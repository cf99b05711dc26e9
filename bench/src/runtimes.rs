//! The three runtimes, each started the way its users start a single-threaded loop, so that
//! a workload's three versions read alike:
//!
//! | tinyloop              | tokio                      | smol                              |
//! |-----------------------|----------------------------|-----------------------------------|
//! | `on_tinyloop(body)`   | `on_tokio(body)`           | `on_smol(body)`                   |
//! | `tinyloop::spawn`     | `tokio::task::spawn_local` | `smol_spawn`                      |
//! | `tinyloop::sleep`     | `tokio::time::sleep`       | `async_io::Timer::after`          |
//! | `tinyloop::timeout`   | `tokio::time::timeout`     | `smol_timeout` (`Timer` + `or`)   |
//! | `tinyloop::yield_now` | `tokio::task::yield_now`   | `futures_lite::future::yield_now` |
//!
//! tokio runs a current-thread runtime with every driver enabled (what
//! `#[tokio::main(flavor = "current_thread")]` builds) and a `LocalSet`, so tasks need not be
//! `Send`. smol runs a thread-local `async_executor::LocalExecutor` driven by
//! `async_io::block_on`, which also drives async-io's reactor and timers on this thread.
//!
//! Each `on_*` runs the workload's body as a spawned task, not as the future handed to
//! `block_on`: runtimes treat that root future differently from tasks (tokio's `LocalSet`
//! polls it between every batch of tasks), and a task is what user code runs in.

use std::future::Future;
use std::time::Duration;

use async_executor::{LocalExecutor, Task};
use futures_lite::FutureExt;

/// Runs `body` as a task on a fresh tinyloop loop and returns its output.
pub fn on_tinyloop<F>(body: F) -> F::Output
where
    F: Future + 'static,
{
    tinyloop::run(async {
        tinyloop::spawn(body)
            .await
            .expect("the benchmark task failed")
    })
}

/// Runs `body` as a task on a fresh tokio current-thread runtime, inside a `LocalSet`.
pub fn on_tokio<F>(body: F) -> F::Output
where
    F: Future + 'static,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("building a tokio current-thread runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        tokio::task::spawn_local(body)
            .await
            .expect("the benchmark task failed")
    })
}

thread_local! {
    static SMOL: LocalExecutor<'static> = const { LocalExecutor::new() };
}

/// Runs `body` as a task on this thread's smol `LocalExecutor`.
pub fn on_smol<F>(body: F) -> F::Output
where
    F: Future + 'static,
{
    SMOL.with(|ex| async_io::block_on(ex.run(ex.spawn(body))))
}

/// Spawns `fut` on this thread's smol `LocalExecutor`; like tokio's `spawn_local`, it must be
/// called from inside `on_smol`.
pub fn smol_spawn<F>(fut: F) -> Task<F::Output>
where
    F: Future + 'static,
{
    SMOL.with(|ex| ex.spawn(fut))
}

/// smol has no `timeout`; its users race the future against a `Timer`, as here.
pub async fn smol_timeout<F: Future>(limit: Duration, fut: F) -> Result<F::Output, TimedOut> {
    let work = async { Ok(fut.await) };
    let alarm = async {
        async_io::Timer::after(limit).await;
        Err(TimedOut)
    };
    work.or(alarm).await
}

/// The error of `smol_timeout`.
#[derive(Debug)]
pub struct TimedOut;
