//! Winograd's F(4×4, 3×3) (the `Tile` `F4`), Lavin & Gray's matrices for the
//! interpolation points 0, ±1, ±2 and ∞:
//!
//! - kernel: `U = G g Gᵀ`, `G = S · [[1, 0, 0], [1, 1, 1], [1, -1, 1], [1, 2, 4],
//!   [1, -2, 4], [0, 0, 1]]` with the row scales `S = diag(¼, -⅙, -⅙, 1/24,
//!   1/24, 1)`;
//! - input: `V = Bᵀ d B` of a 6×6 input tile, `Bᵀ = [[4, 0, -5, 0, 1, 0],
//!   [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0],
//!   [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]]`;
//! - output: `Y = Aᵀ M A`, `Aᵀ = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0],
//!   [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]`, a 4×4 output tile.
//!
//! The weight gradient (`winograd/wgrad.rs`) runs the transposes of two of
//! them: `Z = A dY Aᵀ` of a 4×4 output-gradient tile, and `dW = Gᵀ dU G` of
//! the 6×6 sums `dU = Σ_tiles V ⊙ Z`, with the scales applied as in the
//! kernel transform: each element of `dU` multiplied once by `S_i·S_j`, then
//! the integer `G / S` transposed.
//!
//! Why these points: they are the smallest integers after 0 and ∞, in ± pairs,
//! so `Bᵀ` and `Aᵀ` have small coefficients (powers of two except the 5s) and
//! each pair of rows shares its even and odd partial sums (`bt6`, `at6`).
//! Points like ±½ in place of ±2 (Barabasz et al., 2020) trade a little error
//! for coefficients that are not powers of two in both `Bᵀ` and `Aᵀ`; the
//! error of these (tests.rs bounds it and states the measured one) passes the
//! project's end-to-end tolerances. The inexact scales (⅙, 1/24) are all in
//! `G`, applied once per output element of `U` as one multiplication by the
//! product `S_i·S_j` (rounded once to f32): the kernel transform runs once per
//! weight version when `U` is kept, and its rounding is a relative error of
//! `U` alone, not a growth.

use super::{sandwich, sandwich_with, Tile};
use crate::simd::F32x4;

/// F(4×4, 3×3).
pub(in crate::conv2d::winograd) struct F4;

/// The row scales `S` of `G`.
const SCALE: [f64; 6] = [0.25, -1.0 / 6.0, -1.0 / 6.0, 1.0 / 24.0, 1.0 / 24.0, 1.0];

impl Tile for F4 {
    const M: usize = 4;

    #[inline(always)]
    fn kernel_at(g: &[F32x4; 9], i: usize, j: usize) -> F32x4 {
        let col = |kw: usize| g_row(i, g[kw], g[3 + kw], g[6 + kw]);
        let scale = (SCALE[i] * SCALE[j]) as f32;
        g_row(j, col(0), col(1), col(2)).mul(F32x4::splat(scale))
    }

    #[inline(always)]
    fn input(d: impl Fn(usize) -> F32x4, v: impl FnMut(usize, F32x4)) {
        sandwich_with::<6, 6>(d, v, bt6);
    }

    #[inline(always)]
    fn output(m: impl Fn(usize) -> F32x4, y: impl FnMut(usize, F32x4)) {
        sandwich_with::<6, 4>(m, y, at6);
    }

    #[inline(always)]
    fn output_grad(dy: &[F32x4], z: &mut [F32x4]) {
        sandwich::<4, 6>(dy, z, a4);
    }

    #[inline(always)]
    fn kernel_grad(du: &[F32x4], dw: &mut [F32x4; 9]) {
        let scaled: [F32x4; 36] = core::array::from_fn(|e| du[e].mul(F32x4::splat((SCALE[e / 6] * SCALE[e % 6]) as f32)));
        sandwich::<6, 3>(&scaled, dw, g0t6);
    }
}

/// Row `i` of `G / S` (integer coefficients) applied to one column (or row)
/// of three: `a`, `(a + c) ± b`, `(a + 4c) ± 2b` or `c`.
#[inline(always)]
fn g_row(i: usize, a: F32x4, b: F32x4, c: F32x4) -> F32x4 {
    match i {
        0 => a,
        1 => a.add(c).add(b),
        2 => a.add(c).sub(b),
        3 => a.add(c.mul(F32x4::splat(4.0))).add(b.add(b)),
        4 => a.add(c.mul(F32x4::splat(4.0))).sub(b.add(b)),
        _ => c,
    }
}

/// `Bᵀ` applied to one column (or row) of six: rows 1-2 and 3-4 are the sum
/// and difference of shared even and odd parts.
#[inline(always)]
fn bt6(&[d0, d1, d2, d3, d4, d5]: &[F32x4; 6]) -> [F32x4; 6] {
    let (four, five) = (F32x4::splat(4.0), F32x4::splat(5.0));
    let (even1, odd1) = (d4.sub(d2.mul(four)), d3.sub(d1.mul(four)));
    let (even2, odd2) = (d4.sub(d2), d3.sub(d1).mul(F32x4::splat(2.0)));
    [
        d0.mul(four).sub(d2.mul(five)).add(d4),
        even1.add(odd1),
        even1.sub(odd1),
        even2.add(odd2),
        even2.sub(odd2),
        d1.mul(four).sub(d3.mul(five)).add(d5),
    ]
}

/// `Aᵀ` applied to one column (or row) of six, from the sums and
/// differences of the ±1 and ±2 pairs.
#[inline(always)]
fn at6(&[m0, m1, m2, m3, m4, m5]: &[F32x4; 6]) -> [F32x4; 4] {
    let (sum1, diff1) = (m1.add(m2), m1.sub(m2));
    let (sum2, diff2) = (m3.add(m4), m3.sub(m4));
    [
        m0.add(sum1).add(sum2),
        diff1.add(diff2.mul(F32x4::splat(2.0))),
        sum1.add(sum2.mul(F32x4::splat(4.0))),
        diff1.add(diff2.mul(F32x4::splat(8.0))).add(m5),
    ]
}

/// `A` (the transpose of `Aᵀ`) applied to one column (or row) of four:
/// `[p, p + q + r + s, p - q + r - s, p + 2q + 4r + 8s, p - 2q + 4r - 8s, s]`,
/// each ± pair from a shared even and odd part.
#[inline(always)]
fn a4(&[p, q, r, s]: &[F32x4; 4]) -> [F32x4; 6] {
    let (even1, odd1) = (p.add(r), q.add(s));
    let (even2, odd2) = (p.add(r.mul(F32x4::splat(4.0))), q.add(q).add(s.mul(F32x4::splat(8.0))));
    [p, even1.add(odd1), even1.sub(odd1), even2.add(odd2), even2.sub(odd2), s]
}

/// `(G / S)ᵀ` applied to one column (or row) of six: `[u₀ + (u₁ + u₂) + (u₃ +
/// u₄), (u₁ - u₂) + 2(u₃ - u₄), (u₁ + u₂) + 4(u₃ + u₄) + u₅]`.
#[inline(always)]
fn g0t6(&[u0, u1, u2, u3, u4, u5]: &[F32x4; 6]) -> [F32x4; 3] {
    let (sum1, diff1) = (u1.add(u2), u1.sub(u2));
    let (sum2, diff2) = (u3.add(u4), u3.sub(u4));
    [u0.add(sum1).add(sum2), diff1.add(diff2.add(diff2)), sum1.add(sum2.mul(F32x4::splat(4.0))).add(u5)]
}
