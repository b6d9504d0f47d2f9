//! The transforms of Winograd's F(m×m, 3×3) (Lavin & Gray, 2015) for a
//! correlation `y = x ⋆ g` with a 3×3 kernel, on four channels at a time, for
//! the two tile sizes the forward runs (`Tile`): F(2×2, 3×3) (`f2.rs`, exact
//! coefficients) and F(4×4, 3×3) (`f4.rs`, fewer multiplies, inexact
//! coefficients). The forward (`winograd/mod.rs`) and the weight gradient
//! (`winograd/wgrad.rs`) are each one code path generic over `Tile`;
//! `TileSize` is the plan's run-time choice between them.

mod f2;
mod f4;

pub(super) use f2::F2;
pub(super) use f4::F4;

use crate::simd::F32x4;

/// Positions of the largest transformed tile (F(4×4, 3×3)'s 6×6): the size
/// of the stack buffers the generic forward passes to the transforms.
pub(super) const MAX_XI: usize = 36;

/// One Winograd algorithm F(m×m, 3×3): `U = G g Gᵀ` of a 3×3 kernel, `V =
/// Bᵀ d B` of an `α×α` input tile (`α = m + 2`), and `Y = Aᵀ M A`, the `m×m`
/// output tile of the sums `M = Σ_ci U ⊙ V`. Elements are indexed `α·row +
/// col` (`m·row + col` in `Y`).
pub(super) trait Tile {
    /// Output tile side `m`.
    const M: usize;
    /// Input tile side `α = m + 2`.
    const ALPHA: usize = Self::M + 2;
    /// Positions of a transformed tile (`α²`): one GEMM each.
    const XI: usize = Self::ALPHA * Self::ALPHA;

    /// Element `(i, j)` of `U = G g Gᵀ` for the 3×3 kernels `g` (indexed
    /// `3·kh + kw`). One element per call, so each position can be computed
    /// by its own parallel chunk.
    fn kernel_at(g: &[F32x4; 9], i: usize, j: usize) -> F32x4;

    /// `V = Bᵀ d B` of the input tile whose element `e` is `d(e)`, each of
    /// the `XI` elements of `V` handed to `v(ξ, value)`. Elements are read
    /// and written through closures so that the forward can load a tile
    /// straight from `x` and store `V` straight into its GEMM panels, where
    /// staging both in arrays kept them in wasm memory (a store and a reload
    /// of every element, `perf`).
    fn input(d: impl Fn(usize) -> F32x4, v: impl FnMut(usize, F32x4));

    /// `Y = Aᵀ M A` of the sums `m(ξ)` (`XI` of them), each of the `M²`
    /// outputs handed to `y(e, value)`.
    fn output(m: impl Fn(usize) -> F32x4, y: impl FnMut(usize, F32x4));

    /// `Z = A dY Aᵀ` (`XI` values into `z`) of an `M×M` output-gradient tile
    /// `dy`: the gradient of a tile's sums `M` from the gradient of its
    /// outputs `Y = Aᵀ M A` (the weight gradient, `winograd/wgrad.rs`).
    fn output_grad(dy: &[F32x4], z: &mut [F32x4]);

    /// `dW = Gᵀ dU G` (3×3, indexed `3·kh + kw`) of the `α×α` sums `du`: the
    /// gradient of a 3×3 kernel from the gradient of its transform `U = G g Gᵀ`.
    fn kernel_grad(du: &[F32x4], dw: &mut [F32x4; 9]);
}

/// The plan's choice of `Tile`, from the geometry (`winograd::plan*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TileSize {
    /// F(2×2, 3×3): 16 positions, 4 multiply-adds per output.
    F2,
    /// F(4×4, 3×3): 36 positions, 2.25 multiply-adds per output.
    F4,
}

impl TileSize {
    /// Output tile side `m`.
    pub(crate) const fn m(self) -> usize {
        match self {
            Self::F2 => F2::M,
            Self::F4 => F4::M,
        }
    }

    /// Positions of a transformed tile (`(m + 2)²`).
    pub(crate) const fn xi(self) -> usize {
        match self {
            Self::F2 => F2::XI,
            Self::F4 => F4::XI,
        }
    }
}

/// Applies the 1-D transform `f` (`n` values to `out.len()`) to each column
/// of the `n×n` tile `d`, then to each row of the result: `y = T d Tᵀ` for the
/// matrix `T` of `f`, row-major with `k = out.len()` columns.
#[inline(always)]
pub(super) fn sandwich<const N: usize, const K: usize>(d: &[F32x4], y: &mut [F32x4], f: impl Fn(&[F32x4; N]) -> [F32x4; K]) {
    sandwich_with(|e| d[e], |e, v| y[e] = v, f);
}

/// `sandwich` with element `e` of `d` read as `d(e)` and element `e` of `y`
/// written by `y(e, value)`, in row-major order: the same operations in the
/// same order, so the same bits.
#[inline(always)]
pub(super) fn sandwich_with<const N: usize, const K: usize>(d: impl Fn(usize) -> F32x4, mut y: impl FnMut(usize, F32x4), f: impl Fn(&[F32x4; N]) -> [F32x4; K]) {
    let cols: [[F32x4; K]; N] = core::array::from_fn(|c| f(&core::array::from_fn(|r| d(N * r + c))));
    for r in 0..K {
        let row = f(&core::array::from_fn(|c| cols[c][r]));
        for (k, value) in row.into_iter().enumerate() {
            y(K * r + k, value);
        }
    }
}
