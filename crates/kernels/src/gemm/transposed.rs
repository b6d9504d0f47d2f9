//! GEMM with the left operand transposed: `C[m×n] (+)= Aᵀ · B`, where `A` is
//! stored `k × m` and `B` is `k × n`, i.e. a reduction over the shared leading
//! (row) index. This is the weight-gradient product of an im2col convolution
//! (`dW = colsᵀ · dY`, reducing over output pixels) and of a dense layer.
//!
//! Layouts (all row-major, densely packed):
//! - `a`: `k × m`, element `(p, i)` of A (i.e. `Aᵀ(i, p)`) at `a[p * m + i]`
//! - `b`: `k × n`, element `(p, j)` at `b[p * n + j]`
//! - `c`: `m × n`; overwritten, or accumulated into when `accumulate` is true
//!
//! Each `C(i, j)` is `c0 + sum_p A(p,i)·B(p,j)` summed in `p` order, where `c0`
//! is `0` or the previous `C(i, j)`: the same roundings on every path, so the
//! caller's split of the reduction into row blocks alone decides the result.
//!
//! Serial: callers that reduce over many rows split them into fixed-size
//! chunks, run the chunks in parallel into separate partials and combine those
//! in chunk order (see `conv2d::bwd_weight`).

use crate::geom::GemmGeom;
use super::tile::fma_step;
use crate::simd::F32x4;

/// Rows of C per register tile (indices of A's columns).
const MR: usize = 4;
/// Columns of C per register tile (two vectors).
const NR: usize = 8;

/// `c (+)= aᵀ · b` with `g.m`, `g.n` the shape of C and `g.k` the reduction
/// length. Slices must have exactly `k·m`, `k·n` and `m·n` elements (checked in
/// debug builds).
pub fn gemm_tn(g: &GemmGeom, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) {
    debug_assert_eq!(a.len(), g.k * g.m, "gemm_tn {g:?}: a");
    debug_assert_eq!(b.len(), g.b_len(), "gemm_tn {g:?}: b");
    debug_assert_eq!(c.len(), g.c_len(), "gemm_tn {g:?}: c");
    // Rows of C are independent (each is a full reduction over `p`), so
    // splitting them changes no rounding: large products (a dense layer's
    // weight gradient) run in parallel. Callers that are already parallel
    // (conv2d's weight-gradient groups) use `gemm_tn_serial`.
    let rows = (PARALLEL_CHUNK_MACS / (g.k * g.n).max(1)).max(MR).next_multiple_of(MR);
    let parallel = g.flops() >= PARALLEL_MIN_FLOPS;
    crate::par::for_each_chunk_mut(c, rows * g.n, parallel, |chunk, c_rows| {
        let i0 = chunk * rows;
        rows_range(g, a, b, c_rows, i0, i0 + c_rows.len() / g.n, accumulate);
    });
}

/// `gemm_tn` on the calling thread only, for callers that already run in
/// parallel chunks (a nested fork-join per call would cost more than it gains).
pub(crate) fn gemm_tn_serial(g: &GemmGeom, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) {
    debug_assert_eq!(a.len(), g.k * g.m, "gemm_tn {g:?}: a");
    debug_assert_eq!(b.len(), g.b_len(), "gemm_tn {g:?}: b");
    debug_assert_eq!(c.len(), g.c_len(), "gemm_tn {g:?}: c");
    rows_range(g, a, b, c, 0, g.m, accumulate);
}

/// Below this many flops `gemm_tn` runs serially.
const PARALLEL_MIN_FLOPS: f64 = 4.0e6;
/// Target multiply-adds per parallel chunk of rows.
const PARALLEL_CHUNK_MACS: usize = 1 << 18;

/// Rows `i0..i1` of C; `c` holds exactly those rows.
fn rows_range(g: &GemmGeom, a: &[f32], b: &[f32], c: &mut [f32], i0: usize, i1: usize, accumulate: bool) {
    let mut i = i0;
    while i + MR <= i1 {
        row_tile::<MR>(g, i, i0, a, b, c, accumulate);
        i += MR;
    }
    match i1 - i {
        0 => {}
        1 => row_tile::<1>(g, i, i0, a, b, c, accumulate),
        2 => row_tile::<2>(g, i, i0, a, b, c, accumulate),
        3 => row_tile::<3>(g, i, i0, a, b, c, accumulate),
        _ => unreachable!("row tail is shorter than MR"),
    }
}

/// All columns of C's rows `i..i + R`; `c` starts at row `c0`.
#[inline(always)]
fn row_tile<const R: usize>(g: &GemmGeom, i: usize, c0: usize, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) {
    let c = &mut c[(i - c0) * g.n..];
    let mut j = 0;
    while j + NR <= g.n {
        tile::<R, 2>(g, i, j, a, b, c, accumulate);
        j += NR;
    }
    if j + 4 <= g.n {
        tile::<R, 1>(g, i, j, a, b, c, accumulate);
        j += 4;
    }
    for col in j..g.n {
        scalar_column::<R>(g, i, col, a, b, c, accumulate);
    }
}

/// `R` rows × `V` vectors (4·V columns) of C at `(i, j)`.
#[inline(always)]
fn tile<const R: usize, const V: usize>(
    g: &GemmGeom,
    i: usize,
    j: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) {
    let (m, n) = (g.m, g.n);
    let mut acc = [[F32x4::zero(); V]; R];
    if accumulate {
        for r in 0..R {
            for v in 0..V {
                acc[r][v] = F32x4::load(&c[r * n + j + 4 * v..]);
            }
        }
    }
    // Whole rows of A and B per step: the tile's window in each has a
    // loop-invariant position, so its bounds checks leave the loop.
    for (a_row, b_row) in a.chunks_exact(m).zip(b.chunks_exact(n)).take(g.k) {
        let a_row = &a_row[i..i + R];
        let b_row = &b_row[j..j + 4 * V];
        let bv: [F32x4; V] = core::array::from_fn(|v| F32x4::load(&b_row[4 * v..]));
        fma_step(&mut acc, core::array::from_fn(|r| a_row[r]), &bv);
    }
    for r in 0..R {
        for v in 0..V {
            acc[r][v].store(&mut c[r * n + j + 4 * v..]);
        }
    }
}

/// One column of C's rows `i..i + R`, in the same summation order as the tiles.
#[inline(always)]
fn scalar_column<const R: usize>(
    g: &GemmGeom,
    i: usize,
    col: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) {
    let (m, n) = (g.m, g.n);
    let mut acc = [0.0f32; R];
    if accumulate {
        for r in 0..R {
            acc[r] = c[r * n + col];
        }
    }
    for (a_row, b_row) in a.chunks_exact(m).zip(b.chunks_exact(n)).take(g.k) {
        let a_row = &a_row[i..i + R];
        let bv = b_row[col];
        for r in 0..R {
            acc[r] += a_row[r] * bv;
        }
    }
    for r in 0..R {
        c[r * n + col] = acc[r];
    }
}

#[cfg(any(test, feature = "selftest"))]
pub(crate) mod tests {
    use super::gemm_tn;
    use crate::geom::GemmGeom;
    use crate::reference;
    use crate::selftest::util::{assert_dot_close, nan_filled, TestRng};

    /// `Aᵀ` as a row-major `m × k` matrix, for the reference.
    fn transpose(k: usize, m: usize, a: &[f32]) -> Vec<f32> {
        (0..m * k).map(|idx| a[(idx % k) * m + idx / k]).collect()
    }

    crate::kernel_tests! {
        fn gemm_tn_matches_reference_on_awkward_shapes() {
            let mut seed = 500;
            for &m in &[1usize, 3, 4, 5, 7, 9, 27] {
                for &k in &[1usize, 3, 5, 17, 64] {
                    for &n in &[1usize, 3, 4, 5, 8, 9, 17] {
                        let g = GemmGeom::new(m, k, n).unwrap();
                        let mut rng = TestRng::new(seed);
                        seed += 1;
                        let (a, b) = (rng.vec(k * m), rng.vec(k * n));
                        let at = transpose(k, m, &a);
                        let want = reference::gemm(m, k, n, &at, &b, None);
                        let scale = reference::gemm_abs(m, k, n, &at, &b, None);
                        let ctx = format!("gemm_tn m={m} k={k} n={n}");
                        let mut c = nan_filled(m * n);
                        gemm_tn(&g, &a, &b, &mut c, false);
                        assert_dot_close(&c, &want, &scale, k, &ctx);
                        // Accumulating a second copy of the product doubles it.
                        gemm_tn(&g, &a, &b, &mut c, true);
                        let want2: Vec<f64> = want.iter().map(|v| 2.0 * v).collect();
                        let scale2: Vec<f64> = scale.iter().map(|v| 2.0 * v).collect();
                        assert_dot_close(&c, &want2, &scale2, 2 * k, &format!("{ctx} accumulate"));
                    }
                }
            }
        }
    }
}
