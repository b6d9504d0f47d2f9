//! The C ABI that the TypeScript runtime (ts/sdk/src/runtime) calls.
//!
//! Every export validates its arguments once, reports failure as an
//! [`ErrorCode`] with a message readable through `lc_last_error_*`, and runs
//! its work through [`pool::run`] so that, in the threaded build, the work
//! executes on the rayon pool and a worker trap becomes `WorkerFault` instead
//! of a hang. Nothing here panics on bad input.

pub(crate) mod allocator;
pub mod memory;
pub mod panic;
pub mod pool;

mod conv;
mod gemm;
mod image;
mod stain;
mod model;
mod info;
#[cfg(feature = "threads")]
mod probe;
mod scan;
#[cfg(feature = "selftest")]
mod selftest;

use crate::error::{ErrorCode, KernelError};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;

static LAST_ERROR: Mutex<String> = Mutex::new(String::new());
/// Code of the last failed call: what a call that returns a handle or an
/// address (0 on failure) failed with.
static LAST_CODE: AtomicI32 = AtomicI32::new(ErrorCode::Ok as i32);

/// Records `err` for `lc_last_error_*` and returns its code as an i32.
pub(crate) fn fail(err: KernelError) -> i32 {
    let code = err.code as i32;
    if let Ok(mut last) = LAST_ERROR.lock() {
        *last = err.message;
    }
    LAST_CODE.store(code, Ordering::Relaxed);
    code
}

/// Turns a kernel call's outcome into the i32 the ABI returns.
pub(crate) fn status(r: Result<(), KernelError>) -> i32 {
    match r {
        Ok(()) => ErrorCode::Ok as i32,
        Err(e) => fail(e),
    }
}

/// Address of the UTF-8 message of the last failed call (valid until the next call).
#[no_mangle]
pub extern "C" fn lc_last_error_ptr() -> usize {
    LAST_ERROR.lock().map(|s| s.as_ptr() as usize).unwrap_or(0)
}

/// Length in bytes of the last error message.
#[no_mangle]
pub extern "C" fn lc_last_error_len() -> usize {
    LAST_ERROR.lock().map(|s| s.len()).unwrap_or(0)
}

/// `ErrorCode` of the last failed call (e.g. `OutOfMemory` when
/// `lc_model_new` returned 0 because a buffer could not be allocated).
#[no_mangle]
pub extern "C" fn lc_last_error_code() -> i32 {
    LAST_CODE.load(Ordering::Relaxed)
}
