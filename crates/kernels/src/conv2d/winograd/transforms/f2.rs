//! Winograd's F(2×2, 3×3) (the `Tile` `F2`):
//!
//! - kernel: `U = G g Gᵀ`, `G = [[1, 0, 0], [½, ½, ½], [½, -½, ½], [0, 0, 1]]`;
//! - input: `V = Bᵀ d B` of a 4×4 input tile `d`, `Bᵀ = [[1, 0, -1, 0],
//!   [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]`;
//! - output: `Y = Aᵀ M A`, `Aᵀ = [[1, 1, 1, 0], [0, 1, -1, -1]]`, a 2×2
//!   output tile.
//!
//! Every coefficient is 0, ±1 or ±½, so the transforms are additions and exact
//! halvings: their rounding errors are those of short sums (see the tests'
//! bound in `winograd/tests.rs`).

use super::{sandwich, Tile};
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
    fn input(d: &[F32x4], v: &mut [F32x4]) {
        sandwich::<4, 4>(d, v, |&[a, b, c, d]| bt4(a, b, c, d));
    }

    #[inline(always)]
    fn output(m: &[F32x4], y: &mut [F32x4]) {
        sandwich::<4, 2>(m, y, |&[a, b, c, d]| at4(a, b, c, d));
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
