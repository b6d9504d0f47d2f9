//! Winograd's F(2×2, 3×3) (the `Tile` `F2`):
//!
//! - kernel: `U = G g Gᵀ`, `G = [[1, 0, 0], [½, ½, ½], [½, -½, ½], [0, 0, 1]]`;
//! - input: `V = Bᵀ d B` of a 4×4 input tile `d`, `Bᵀ = [[1, 0, -1, 0],
//!   [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]`;
//! - output: `Y = Aᵀ M A`, `Aᵀ = [[1, 1, 1, 0], [0, 1, -1, -1]]`, a 2×2
//!   output tile.
//!
//! The weight gradient (`winograd/wgrad.rs`) runs the transposes of two of
//! them: `Z = A dY Aᵀ` of a 2×2 output-gradient tile, and `dW = Gᵀ dU G` of
//! the 4×4 sums `dU = Σ_tiles V ⊙ Z`.
//!
//! Every coefficient is 0, ±1 or ±½, so the transforms are additions and exact
//! halvings: their rounding errors are those of short sums (see the tests'
//! bounds in `winograd/tests.rs` and `winograd/wgrad/tests.rs`).

use super::{sandwich, sandwich_with, Tile};
use crate::simd::F32x4;

/// F(2×2, 3×3).
pub(in crate::conv2d::winograd) struct F2;

impl Tile for F2 {
    const M: usize = 2;

    #[inline(always)]
    fn kernel_at(g: &[F32x4; 9], i: usize, j: usize) -> F32x4 {
        let col = |kw: usize| g_row(i, g[kw], g[3 + kw], g[6 + kw]);
        g_row(j, col(0), col(1), col(2))
    }

    #[inline(always)]
    fn input(d: impl Fn(usize) -> F32x4, v: impl FnMut(usize, F32x4)) {
        sandwich_with::<4, 4>(d, v, |&[a, b, c, d]| bt4(a, b, c, d));
    }

    #[inline(always)]
    fn output(m: impl Fn(usize) -> F32x4, y: impl FnMut(usize, F32x4)) {
        sandwich_with::<4, 2>(m, y, |&[a, b, c, d]| at4(a, b, c, d));
    }

    #[inline(always)]
    fn output_grad(dy: &[F32x4], z: &mut [F32x4]) {
        sandwich::<2, 4>(dy, z, |&[p, q]| a2(p, q));
    }

    #[inline(always)]
    fn kernel_grad(du: &[F32x4], dw: &mut [F32x4; 9]) {
        sandwich::<4, 3>(du, dw, |&[a, b, c, d]| gt4(a, b, c, d));
    }
}

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

/// `[a, b, c, d] ↦ [a - c, b + c, c - b, b - d]`: `Bᵀ` applied to one column
/// (or row) of four.
#[inline(always)]
fn bt4(a: F32x4, b: F32x4, c: F32x4, d: F32x4) -> [F32x4; 4] {
    [a.sub(c), b.add(c), c.sub(b), b.sub(d)]
}

/// `[a, b, c, d] ↦ [a + b + c, b - c - d]`: `Aᵀ` applied to one column (or
/// row) of four.
#[inline(always)]
fn at4(a: F32x4, b: F32x4, c: F32x4, d: F32x4) -> [F32x4; 2] {
    [a.add(b).add(c), b.sub(c).sub(d)]
}

/// `[p, q] ↦ [p, p + q, p - q, -q]`: `A` applied to one column (or row) of two.
#[inline(always)]
fn a2(p: F32x4, q: F32x4) -> [F32x4; 4] {
    [p, p.add(q), p.sub(q), F32x4::zero().sub(q)]
}

/// `[a, b, c, d] ↦ [a + (b + c)·½, (b - c)·½, (b + c)·½ + d]`: `Gᵀ` applied to
/// one column (or row) of four.
#[inline(always)]
fn gt4(a: F32x4, b: F32x4, c: F32x4, d: F32x4) -> [F32x4; 3] {
    let half = F32x4::splat(0.5);
    let mid = b.add(c).mul(half);
    [a.add(mid), b.sub(c).mul(half), mid.add(d)]
}
