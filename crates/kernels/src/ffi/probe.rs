//! `lc_probe_threads`: evidence that every pool thread has a private stack and
//! TLS block (used by the runtime's tests; cheap enough to keep exported).

use super::memory::check_f32_range;
use super::{pool, status};
use std::cell::Cell;
use std::sync::Barrier;

thread_local! {
    static MARK: Cell<u32> = const { Cell::new(0) };
}

/// Fields written per thread, as u32: pool index, address of a stack local,
/// address of a thread-local, the thread-local's value read back after every
/// thread wrote its own.
pub const RECORD: usize = 4;

/// Runs on every pool thread at once and writes `RECORD` u32 per thread to
/// `out_ptr` (room for `cap` threads). Returns the thread count written, or a
/// negated error code.
#[no_mangle]
pub extern "C" fn lc_probe_threads(out_ptr: usize, cap: usize) -> i32 {
    let n = pool::num_threads();
    if n > cap {
        return -status(Err(crate::error::KernelError::geometry(format!("probe: room for {cap} threads, pool has {n}"))));
    }
    if let Err(e) = check_f32_range(out_ptr, n * RECORD, "probe: out") {
        return -status(Err(e));
    }
    let barrier = Barrier::new(n);
    let records = pool::run(|| {
        rayon::broadcast(|ctx| {
            let index = ctx.index() as u32;
            MARK.with(|m| m.set(0xC0DE_0000 | index));
            let stack_local = 0u8;
            let stack_addr = std::hint::black_box(&stack_local) as *const u8 as u32;
            let tls_addr = MARK.with(|m| m as *const Cell<u32> as u32);
            barrier.wait();
            let read_back = MARK.with(|m| m.get());
            [index, stack_addr, tls_addr, read_back]
        })
    });
    match records {
        Ok(records) => {
            // SAFETY: range checked above (u32 and f32 have the same size).
            let out = unsafe { std::slice::from_raw_parts_mut(out_ptr as *mut u32, n * RECORD) };
            for (dst, rec) in out.chunks_mut(RECORD).zip(&records) {
                dst.copy_from_slice(rec);
            }
            n as i32
        }
        Err(e) => -status(Err(e)),
    }
}
