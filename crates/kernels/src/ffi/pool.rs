//! The rayon pool on wasm threads, and how every exported call runs on it.
//!
//! Start-up (toolchain doc §5, "variant B"): the runtime starts N JS workers;
//! each instantiates the module on the shared memory, sets its own stack and
//! TLS block, then calls `lc_worker_park_and_run`, which waits for a rayon
//! `ThreadBuilder`. Once all N are parked the controller calls `lc_pool_build`,
//! whose spawn handler hands one builder to each parked worker.
//!
//! Calls (`run`): the controller (Node's main thread, or the browser's compute
//! worker) does not enter the pool through rayon's own blocking latch. It
//! spawns the job onto the pool and waits on `DONE` itself, re-checking
//! `FAULT` after every wake-up. A worker that traps cannot release rayon's
//! latch, but its JS wrapper sets `FAULT` and notifies `DONE`
//! (ts/sdk/src/runtime/worker.ts), so the controller returns `WorkerFault`
//! instead of waiting forever.

use crate::error::KernelError;

/// Work (multiply-adds, roughly) below which `run_sized` stays on the calling
/// thread: handing a call to the pool and waiting for it costs ~20-30 µs in
/// wasm, more than a call this small takes (an MNIST forward at batch 1-4).
const INLINE_MAX_WORK: f64 = 2.0e5;

#[cfg(feature = "threads")]
mod threaded {
    use super::*;
    use crate::error::ErrorCode;
    use rayon::ThreadBuilder;
    use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
    use std::sync::{Condvar, Mutex};

    static PARKED: Mutex<Vec<ThreadBuilder>> = Mutex::new(Vec::new());
    static PARKED_CV: Condvar = Condvar::new();
    static POOL_THREADS: AtomicUsize = AtomicUsize::new(0);
    static BUSY: AtomicBool = AtomicBool::new(false);
    pub(super) static DONE: AtomicI32 = AtomicI32::new(0);
    pub(super) static FAULT: AtomicI32 = AtomicI32::new(0);

    /// Runs on a worker: waits for a thread builder, then serves the pool.
    /// Returns only if the pool is dropped (it never is).
    #[no_mangle]
    pub extern "C" fn lc_worker_park_and_run() {
        let builder = {
            let mut parked = PARKED.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if let Some(b) = parked.pop() {
                    break b;
                }
                parked = PARKED_CV.wait(parked).unwrap_or_else(|e| e.into_inner());
            }
        };
        builder.run();
    }

    /// Builds the global pool with `n` threads; all `n` workers must already be
    /// parked in `lc_worker_park_and_run`. Returns 0 or `PoolError`.
    #[no_mangle]
    pub extern "C" fn lc_pool_build(n: u32) -> i32 {
        if n == 0 {
            return crate::ffi::fail(KernelError { code: ErrorCode::PoolError, message: "pool: need at least 1 thread, got 0".into() });
        }
        let built = rayon::ThreadPoolBuilder::new()
            .num_threads(n as usize)
            .spawn_handler(|builder| {
                PARKED.lock().unwrap_or_else(|e| e.into_inner()).push(builder);
                PARKED_CV.notify_one();
                Ok(())
            })
            .build_global();
        match built {
            Ok(()) => {
                POOL_THREADS.store(n as usize, Ordering::Release);
                0
            }
            Err(e) => crate::ffi::fail(KernelError { code: ErrorCode::PoolError, message: format!("pool: {e}") }),
        }
    }

    /// Address of the word a trapped worker sets (read by the runtime's worker wrapper).
    #[no_mangle]
    pub extern "C" fn lc_fault_flag_ptr() -> usize {
        FAULT.as_ptr() as usize
    }

    /// Address of the word the controller waits on during a call.
    #[no_mangle]
    pub extern "C" fn lc_done_flag_ptr() -> usize {
        DONE.as_ptr() as usize
    }

    pub fn num_threads() -> usize {
        POOL_THREADS.load(Ordering::Acquire).max(1)
    }

    pub fn run<R: Send>(f: impl FnOnce() -> R + Send) -> Result<R, KernelError> {
        run_where(false, f)
    }

    /// Like `run`, but a call of less than `INLINE_MAX_WORK` runs on the
    /// calling thread (its kernels then see no pool and run serially: the
    /// same bits, since no split depends on the thread count).
    pub fn run_sized<R: Send>(work: f64, f: impl FnOnce() -> R + Send) -> Result<R, KernelError> {
        run_where(work < INLINE_MAX_WORK, f)
    }

    fn run_where<R: Send>(inline: bool, f: impl FnOnce() -> R + Send) -> Result<R, KernelError> {
        if FAULT.load(Ordering::Acquire) != 0 {
            return Err(KernelError { code: ErrorCode::WorkerFault, message: "a pool worker trapped earlier; the engine must be recreated".into() });
        }
        if BUSY.swap(true, Ordering::AcqRel) {
            return Err(KernelError { code: ErrorCode::Busy, message: "another call is still running".into() });
        }
        let out = if inline || POOL_THREADS.load(Ordering::Acquire) == 0 || rayon::current_thread_index().is_some() {
            Ok(f())
        } else {
            run_on_pool(f)
        };
        BUSY.store(false, Ordering::Release);
        out
    }

    fn run_on_pool<R: Send>(f: impl FnOnce() -> R + Send) -> Result<R, KernelError> {
        let mut result: Option<R> = None;
        let slot = &mut result as *mut Option<R> as usize;
        let job: Box<dyn FnOnce() + Send + '_> = Box::new(move || {
            // SAFETY: `result` outlives the job: we wait for DONE below.
            unsafe { *(slot as *mut Option<R>) = Some(f()) };
        });
        // SAFETY: the controller does not return before the job has finished
        // (DONE), except after a worker fault, when the engine is abandoned and
        // the job's borrows point at memory that stays allocated.
        let job: Box<dyn FnOnce() + Send + 'static> = unsafe { std::mem::transmute(job) };
        DONE.store(0, Ordering::Release);
        rayon::spawn(move || {
            job();
            DONE.store(1, Ordering::Release);
            // SAFETY: DONE is a valid, aligned i32 in shared memory.
            unsafe { core::arch::wasm32::memory_atomic_notify(DONE.as_ptr(), u32::MAX) };
        });
        loop {
            if DONE.load(Ordering::Acquire) == 1 {
                return Ok(result.take().expect("job finished without a result"));
            }
            if FAULT.load(Ordering::Acquire) != 0 {
                return Err(KernelError { code: ErrorCode::WorkerFault, message: "a pool worker trapped while running this call".into() });
            }
            // SAFETY: as above. Returns on notify, or at once if DONE != 0.
            unsafe { core::arch::wasm32::memory_atomic_wait32(DONE.as_ptr(), 0, -1) };
        }
    }
}

#[cfg(feature = "threads")]
pub use threaded::*;

#[cfg(not(feature = "threads"))]
pub fn num_threads() -> usize {
    1
}

/// Single-threaded build: runs inline.
#[cfg(not(feature = "threads"))]
pub fn run<R>(f: impl FnOnce() -> R) -> Result<R, KernelError> {
    Ok(f())
}

/// Single-threaded build: runs inline.
#[cfg(not(feature = "threads"))]
pub fn run_sized<R>(work: f64, f: impl FnOnce() -> R) -> Result<R, KernelError> {
    let _ = (work, INLINE_MAX_WORK);
    Ok(f())
}
