//! `lc_gemm`: C = A·B (+ bias), row-major f32, pointers into linear memory.

use super::memory::{check_disjoint, check_f32_range, f32_slice, f32_slice_mut};
use super::{pool, status};
use crate::gemm::gemm;
use crate::geom::GemmGeom;

/// `c[m×n] = a[m×k] · b[k×n] (+ bias[n])`. `bias_ptr = 0` means no bias.
/// Returns 0 or an `ErrorCode` (message via `lc_last_error_*`).
#[no_mangle]
pub extern "C" fn lc_gemm(m: usize, k: usize, n: usize, a_ptr: usize, b_ptr: usize, bias_ptr: usize, c_ptr: usize) -> i32 {
    let checked = (|| {
        let g = GemmGeom::new(m, k, n)?;
        check_f32_range(a_ptr, g.a_len(), "gemm: a")?;
        check_f32_range(b_ptr, g.b_len(), "gemm: b")?;
        check_f32_range(c_ptr, g.c_len(), "gemm: c")?;
        check_disjoint((c_ptr, g.c_len()), (a_ptr, g.a_len()), "gemm: c and a")?;
        check_disjoint((c_ptr, g.c_len()), (b_ptr, g.b_len()), "gemm: c and b")?;
        if bias_ptr != 0 {
            check_f32_range(bias_ptr, g.n, "gemm: bias")?;
            check_disjoint((c_ptr, g.c_len()), (bias_ptr, g.n), "gemm: c and bias")?;
        }
        Ok(g)
    })();
    let g = match checked {
        Ok(g) => g,
        Err(e) => return status(Err(e)),
    };
    // SAFETY: every range was checked above and c overlaps no input.
    let (a, b, c) = unsafe { (f32_slice(a_ptr, g.a_len()), f32_slice(b_ptr, g.b_len()), f32_slice_mut(c_ptr, g.c_len())) };
    let bias = (bias_ptr != 0).then(|| unsafe { f32_slice(bias_ptr, g.n) });
    status(pool::run(|| gemm(&g, a, b, bias, c)))
}
