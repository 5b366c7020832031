//! The CPU work of requests (decoding bodies, compressing, parsing source maps, resolving
//! stack frames): one thread per core, at a lower scheduling priority than the rest of the
//! process, one job per thread at a time.
//!
//! Why a lower priority: every capture request ends waiting for its group commit, which
//! one writer thread runs for all of them. Under load the decoding filled both cores and
//! the writer waited for a core about as long as it ran (`/proc/<pid>/task/*/schedstat`
//! on `/e/` at 64 clients: ~0.36 s waiting per ~0.27 s running), so every request waited
//! longer. At nice 5 the decoding yields to the writer when it is ready to run and still
//! takes every cycle the writer leaves. Lowering a thread's own priority needs no
//! privilege.
//!
//! Why turns in front of the pool: a job waits for its turn here, where a request that
//! ends (its deadline, a client gone) takes its job with it; queued in the pool, the job
//! would still run.

use std::num::NonZeroUsize;

use tokio::sync::{Semaphore, oneshot};

/// The nice value of the pool's threads (higher runs later; the process runs at 0).
const NICE: i32 = 5;

pub(crate) struct CpuPool {
    turns: Semaphore,
    threads: rayon::ThreadPool,
}

impl CpuPool {
    /// A pool of one thread per core.
    pub(crate) fn new() -> std::io::Result<CpuPool> {
        let cores = std::thread::available_parallelism().map_or(2, NonZeroUsize::get);
        let threads = rayon::ThreadPoolBuilder::new()
            .num_threads(cores)
            .thread_name(|i| format!("tether-cpu-{i}"))
            .start_handler(|_| {
                if let Err(e) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), NICE) {
                    tracing::warn!(error = %e, "cannot lower the priority of a CPU thread");
                }
            })
            // A panicking job fails its request (its result never comes), not the process.
            .panic_handler(|_| tracing::error!("a CPU job panicked"))
            .build()
            .map_err(std::io::Error::other)?;
        Ok(CpuPool { turns: Semaphore::new(cores), threads })
    }

    /// Runs `work` when a thread is free; `None` if it panicked.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let _turn = self.turns.acquire().await.ok()?;
        let (done, result) = oneshot::channel();
        self.threads.spawn(move || {
            // The requester may be gone; the work is done either way.
            let _ = done.send(work());
        });
        result.await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_runs_at_a_lower_priority_and_a_panic_fails_only_its_job() {
        let pool = CpuPool::new().unwrap();
        let nice = pool.run(|| rustix::process::getpriority_process(None)).await.unwrap().unwrap();
        assert_eq!(nice, NICE, "the pool's threads run at nice {NICE}");
        assert_eq!(pool.run(|| -> u32 { panic!("a bad job") }).await, None);
        assert_eq!(pool.run(|| 2 + 2).await, Some(4), "the pool still works");
    }
}
