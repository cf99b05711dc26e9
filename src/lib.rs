//! tinyloop
pub mod sync;
pub use sync::{
    Barrier, BarrierWaitResult, Condition, Event, LifoQueue, Lock, LockGuard, PriorityQueue, Queue,
    QueueShutDown, Semaphore, SemaphorePermit, TaskDoneError, TryGetError, TryPutError,
};
