//! The three transforms of Winograd's F(2×2, 3×3) (Lavin & Gray, 2015) for a
//! correlation `y = x ⋆ g` with a 3×3 kernel, on four channels at a time:
//!
//! - kernel: `U = G g Gᵀ`, `G = [[1, 0, 0], [½, ½, ½], [½, -½, ½], [0, 0, 1]]`;
//! - input: `V = Bᵀ d B` of a 4×4 input tile `d`, `Bᵀ = [[1, 0, -1, 0],
//!   [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]`;
//! - output: `Y = Aᵀ M A` of the 4×4 sums `M = Σ_ci U ⊙ V`, `Aᵀ = [[1, 1, 1, 0],
//!   [0, 1, -1, -1]]`, a 2×2 output tile.
//!
//! Every coefficient is 0, ±1 or ±½, so the transforms are additions and exact
//! halvings: their rounding errors are those of short sums (see the tests'
//! bound in `winograd/tests.rs`). Elements are indexed `4·row + col`.

use crate::simd::F32x4;

/// Row `i` of `G` applied to one column (or row) of three: `a`, `(a + c + b)·½`,
/// `(a + c - b)·½` or `c`.
#[inline(always)]
fn g_row(i: usize, a: F32x4, b: F32x4, c: F32x4) -> F32x4 {
    let half = F32x4::splat(0.5);
    match i {
        0 => a,
        1 => a.add(c).add(b).mul(half),
        2 => a.add(c).sub(b).mul(half),
        _ => c,
    }
}

/// Element `(i, j)` of `U = G g Gᵀ` for the 3×3 kernels `g` (indexed `3·kh +
/// kw`), four output channels at a time. One element per call, so each of the
/// 16 can be computed by its own parallel chunk.
#[inline(always)]
pub(super) fn kernel_at(g: &[F32x4; 9], i: usize, j: usize) -> F32x4 {
    let col = |kw: usize| g_row(i, g[kw], g[3 + kw], g[6 + kw]);
    g_row(j, col(0), col(1), col(2))
}

/// `[a, b, c, d] ↦ [a - c, b + c, c - b, b - d]`: `Bᵀ` applied to one column
/// (or row) of four.
#[inline(always)]
fn bt4(a: F32x4, b: F32x4, c: F32x4, d: F32x4) -> [F32x4; 4] {
    [a.sub(c), b.add(c), c.sub(b), b.sub(d)]
}

/// `V = Bᵀ d B` of a 4×4 input tile.
#[inline(always)]
pub(super) fn input(d: &[F32x4; 16]) -> [F32x4; 16] {
    let cols: [[F32x4; 4]; 4] = core::array::from_fn(|c| bt4(d[c], d[4 + c], d[8 + c], d[12 + c]));
    let mut v = [F32x4::zero(); 16];
    for r in 0..4 {
        let row = bt4(cols[0][r], cols[1][r], cols[2][r], cols[3][r]);
        v[4 * r..4 * r + 4].copy_from_slice(&row);
    }
    v
}

/// `[a, b, c, d] ↦ [a + b + c, b - c - d]`: `Aᵀ` applied to one column (or
/// row) of four.
#[inline(always)]
fn at4(a: F32x4, b: F32x4, c: F32x4, d: F32x4) -> [F32x4; 2] {
    [a.add(b).add(c), b.sub(c).sub(d)]
}

/// `Y = Aᵀ M A`, the 2×2 output tile (indexed `2·row + col`) of the sums `m`.
#[inline(always)]
pub(super) fn output(m: &[F32x4; 16]) -> [F32x4; 4] {
    let cols: [[F32x4; 2]; 4] = core::array::from_fn(|c| at4(m[c], m[4 + c], m[8 + c], m[12 + c]));
    let top = at4(cols[0][0], cols[1][0], cols[2][0], cols[3][0]);
    let bottom = at4(cols[0][1], cols[1][1], cols[2][1], cols[3][1]);
    [top[0], top[1], bottom[0], bottom[1]]
}
