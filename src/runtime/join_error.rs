//! Why a task gave no value. The loop produces these (`runtime/core.rs` records a task's
//! cancellation or panic), so the type lives down here with it; `crate::task` re-exports it as
//! the public `tinyloop::JoinError` (asyncio's `CancelledError`, or the exception raised).

/// Why a task produced no value: asyncio's `CancelledError`, or the exception it raised.
///
/// ```
/// use tinyloop::JoinError;
///
/// tinyloop::run(async {
///     match tinyloop::spawn(async { panic!("bad input") }).await {
///         Ok(()) => unreachable!(),
///         Err(JoinError::Cancelled) => println!("cancelled"),
///         Err(JoinError::Panicked(msg)) => assert_eq!(msg, "bad input"),
///     }
/// });
/// ```
///
#[doc(alias = "CancelledError")]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    /// The task was cancelled (its future was dropped) before it finished.
    #[error("the task was cancelled before it finished")]
    Cancelled,
    /// The task panicked; the panic's message is kept.
    #[error("the task panicked: {0}")]
    Panicked(String),
}

impl JoinError {
    /// True for [`JoinError::Cancelled`].
    pub fn is_cancelled(&self) -> bool {
        matches!(self, JoinError::Cancelled)
    }

    /// True for [`JoinError::Panicked`].
    pub fn is_panic(&self) -> bool {
        matches!(self, JoinError::Panicked(_))
    }
}
