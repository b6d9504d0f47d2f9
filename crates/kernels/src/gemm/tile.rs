//! One reduction step of a register tile, the inner loop of the GEMM-shaped
//! kernels (`kblock.rs`, `transposed.rs`, the convolution's input gradient).
//! `microkernel.rs` keeps its own loop: through this function its 4 × 8 tile
//! ran a 32 × 2304 × 128 GEMM (the BreakHis net's dense layer at batch 32)
//! at 0.77x, where the other kernels measured the same either way.

use crate::simd::F32x4;

/// `acc[r][v] += a[r] · b[v]` for every row `r` and vector `v`: step `p` of
/// an `R`-row × `4·V`-column tile, with `a` holding the step's element of
/// each of the tile's rows (broadcast across a vector) and `b` the step's
/// `4·V` columns. Each accumulator gets exactly one multiply-add per step, so
/// summing the steps in `p` order gives every output the same bits whatever
/// the tile's shape.
#[inline(always)]
pub(crate) fn fma_step<const R: usize, const V: usize>(acc: &mut [[F32x4; V]; R], a: [f32; R], b: &[F32x4; V]) {
    for r in 0..R {
        let av = F32x4::splat(a[r]);
        for v in 0..V {
            acc[r][v] = acc[r][v].mul_add(av, b[v]);
        }
    }
}
