//! `lc_first_nonfinite`: the input check of inference (`crate::finite`).

use super::memory::{check_f32_range, f32_slice};
use super::{pool, status};
use crate::finite::first_nonfinite;

/// Writes to `out_ptr` (one i32) the index of the first NaN or infinite value
/// among the `len` f32 at `ptr`, or -1 when all are finite. Returns 0 or an
/// `ErrorCode` (message via `lc_last_error_*`).
#[no_mangle]
pub extern "C" fn lc_first_nonfinite(ptr: usize, len: usize, out_ptr: usize) -> i32 {
    let checked = check_f32_range(ptr, len, "first_nonfinite: x").and_then(|()| check_f32_range(out_ptr, 1, "first_nonfinite: out"));
    if let Err(e) = checked {
        return status(Err(e));
    }
    // SAFETY: both ranges were checked; x is only read.
    let x = unsafe { f32_slice(ptr, len) };
    // One compare-add per value: small inputs (a batch of a few images) are
    // scanned on the calling thread rather than paying a pool round trip.
    status(pool::run_sized(len as f64, || first_nonfinite(x)).map(|found| {
        // Indices fit in i32: linear memory holds fewer than 2^31 f32.
        let index = found.map_or(-1, |i| i as i32);
        // SAFETY: out_ptr was checked for 4 bytes.
        unsafe { core::ptr::write_unaligned(out_ptr as *mut i32, index) };
    }))
}
