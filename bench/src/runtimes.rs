//! The four runtimes, each started the way its users start a single-threaded loop, so that
//! a workload's versions read alike:
//!
//! | tinyloop              | tokio                      | smol                              | futures          |
//! |-----------------------|----------------------------|-----------------------------------|------------------|
//! | `on_tinyloop(body)`   | `on_tokio(body)`           | `on_smol(body)`                   | `on_futures(body)` |
//! | `tinyloop::spawn`     | `tokio::task::spawn_local` | `smol_spawn`                      | `futures_spawn`  |
//! | `tinyloop::sleep`     | `tokio::time::sleep`       | `async_io::Timer::after`          | (none)           |
//! | `tinyloop::timeout`   | `tokio::time::timeout`     | `smol_timeout` (`Timer` + `or`)   | (none)           |
//! | `tinyloop::yield_now` | `tokio::task::yield_now`   | `futures_lite::future::yield_now` | the same as smol |
//!
//! tokio runs a current-thread runtime with every driver enabled (what
//! `#[tokio::main(flavor = "current_thread")]` builds) and a `LocalSet`, so tasks need not be
//! `Send`. smol runs a thread-local `async_executor::LocalExecutor` driven by
//! `async_io::block_on`, which also drives async-io's reactor and timers on this thread.
//! futures runs a `futures_executor::LocalPool`: an executor only, with no timers and no I/O,
//! so it takes part only in the workloads made of tasks, wake-ups and sync primitives, and
//! there it uses the same runtime-neutral primitives as smol's side (async-channel,
//! async-lock, futures-lite's `yield_now`). A task's handle is the ecosystem's
//! `RemoteHandle` (`spawn_local_with_handle`), which is how futures' users await a task.
//!
//! Each `on_*` runs the workload's body as a spawned task, not as the future handed to
//! `block_on`: runtimes treat that root future differently from tasks (tokio's `LocalSet`
//! polls it between every batch of tasks), and a task is what user code runs in.

use std::future::Future;
use std::time::Duration;

use std::cell::RefCell;

use async_executor::{LocalExecutor, Task};
use futures_executor::{LocalPool, LocalSpawner};
use futures_lite::FutureExt;
use futures_util::future::RemoteHandle;
use futures_util::task::LocalSpawnExt;

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

thread_local! {
    static FUTURES: RefCell<Option<LocalSpawner>> = const { RefCell::new(None) };
}

/// Runs `body` as a task on a fresh futures `LocalPool` and returns its output.
pub fn on_futures<F>(body: F) -> F::Output
where
    F: Future + 'static,
{
    let mut pool = LocalPool::new();
    FUTURES.with(|s| *s.borrow_mut() = Some(pool.spawner()));
    let handle = futures_spawn(body);
    pool.run_until(handle)
}

/// Spawns `fut` on this thread's `LocalPool` and returns the handle that awaits its output;
/// it must be called from inside `on_futures`.
pub fn futures_spawn<F>(fut: F) -> RemoteHandle<F::Output>
where
    F: Future + 'static,
{
    FUTURES.with(|s| {
        s.borrow()
            .as_ref()
            .expect("futures_spawn is called inside on_futures")
            .spawn_local_with_handle(fut)
            .expect("the LocalPool is running")
    })
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
