//! Exports the kernel test suite (crate::selftest) so that
//! tests/wasm/run-selftests.mjs runs it in wasm under Node.

use super::pool;
use crate::selftest;

#[no_mangle]
pub extern "C" fn lc_selftest_count() -> u32 {
    selftest::all().len() as u32
}

/// Copies case `i`'s name (UTF-8) to `out_ptr` (capacity `cap`); returns its length.
#[no_mangle]
pub extern "C" fn lc_selftest_name(i: u32, out_ptr: usize, cap: usize) -> usize {
    let Some(case) = selftest::all().get(i as usize).copied() else { return 0 };
    let n = case.name.len().min(cap);
    // SAFETY: the runner passes a buffer of `cap` bytes it allocated.
    unsafe { std::ptr::copy_nonoverlapping(case.name.as_ptr(), out_ptr as *mut u8, n) };
    n
}

/// Runs case `i` on the pool. Returns 0 when it passed; a failed assertion
/// traps (panic = abort) after the panic hook recorded the message.
#[no_mangle]
pub extern "C" fn lc_selftest_run(i: u32) -> i32 {
    let Some(case) = selftest::all().get(i as usize).copied() else { return -1 };
    match pool::run(case.run) {
        Ok(()) => 0,
        Err(e) => super::fail(e),
    }
}

/// Panics inside a pool job (on a worker thread when the pool has one), so the
/// runtime's tests can check that a worker trap becomes an error, not a hang.
#[no_mangle]
pub extern "C" fn lc_selftest_trap_in_pool() -> i32 {
    match pool::run(|| {
        #[cfg(feature = "threads")]
        rayon::broadcast(|ctx| {
            if ctx.index() == ctx.num_threads() - 1 {
                panic!("deliberate trap on pool thread {}", ctx.index());
            }
        });
        #[cfg(not(feature = "threads"))]
        panic!("deliberate trap");
    }) {
        Ok(()) => 0,
        Err(e) => super::fail(e),
    }
}
