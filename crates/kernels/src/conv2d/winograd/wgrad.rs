//! Weight gradients of 3×3 stride-1 convolutions by Winograd: F(2×2, 3×3), or
//! F(4×4, 3×3) where the per-call forward takes it (`winograd::plan`).
//!
//! The forward computes each output tile as `Y = Aᵀ [Σ_ci U ⊙ V] A` with
//! `U = G g Gᵀ` and `V = Bᵀ d B`. That is linear in the kernel `g`, so its
//! gradient over all tiles is
//!
//! `dg = Gᵀ [Σ_tiles V ⊙ Z] G`, with `Z = A dY Aᵀ`
//!
//! (`dY` the tile's output gradient, zero past the map's edge). Per position ξ
//! of the transformed tile, `dU[ξ] = Σ_t V[ξ][t]ᵀ Z[ξ][t]` is a
//! `c_in × c_out` GEMM reducing over the tiles. F(2,3): 16 multiply-adds per
//! 2×2 tile and channel pair where the direct gradient (`bwd_weight.rs`) does
//! 36, 2.25× fewer (1.72× on 7×7 maps, whose 4×4 tiles cover 8×8); its
//! coefficients are 0, ±1 and ±½, so the transforms add only the roundings of
//! short sums. F(4,3): 36 per 4×4 tile, 4× fewer (3.06× on 7×7 maps), with
//! larger coefficients and the inexact scales of `G` (bounds of both in
//! `wgrad/tests.rs`). The tile is the per-call forward's for the same
//! geometry: with many tiles, F(4,3)'s fewer products outweigh its larger
//! transforms (`bench:conv`, batch 32, one thread, against F(2,3): ResNet-18's
//! 3×3 layers' weight gradients 1.64×, 1.40×, 1.17× and 1.44× faster on the
//! 56×56, 28×28, 14×14 and 7×7 maps; its training step 1.05×).
//!
//! Passes, per block of `subs` sub-blocks of `p.tb` tiles (the last ones
//! shorter):
//! 1. per sub-block, in parallel: the input transform `V[ξ][t][ci]` (the
//!    forward's), transposed per ξ to `Vᵀ[ξ][ci][t]`, and the output-gradient
//!    transform `Z[ξ][t][co]`;
//! 2. per position ξ, in parallel: `dU[ξ] (+)= Vᵀ[ξ] · Z[ξ]` for each
//!    sub-block in order, on the k-blocked GEMM (`gemm_kblock`, the forward
//!    products' 3 × 12 register tile; against the transposed GEMM on `V`
//!    itself, the frozen-backbone ResNet-18 step ran 1.03-1.04× faster, the
//!    transpose costing `1/c_out` of the products);
//!
//! then `dW = Gᵀ dU G` for every channel pair, and `db` as one in-order sum.
//! Each `dU` element is summed over the blocks, the sub-blocks and their tiles
//! in an order fixed by the geometry, whatever unit or thread computes it, so
//! results are bit-identical for any thread count. They differ from the
//! direct gradient's in the last bits, so the path is chosen from the
//! geometry only (`plan`).

use super::transforms::{Tile, F2, F4, MAX_XI};
use super::{for_each_quad, input_transform, load, store, Tiles, TileSize, WinoPlan};
use crate::gemm::{gemm_kblock, kblock_panel_len, KBlock};
use crate::geom::Conv2dGeom;
use crate::par;
use crate::simd::F32x4;
use crate::vecops::{sum_rows, transpose};

/// Floats of `V` and `Z` per sub-block, at most (4 MiB; `Vᵀ` adds `V`'s
/// again): 128 tiles for 64-channel layers, 64 for 512-channel ones. Each GEMM
/// call reduces over a sub-block's tiles, so more tiles load and store each
/// `dU` tile less often.
const SUB_FLOATS: usize = 1 << 20;
/// Tiles per sub-block, at least, and transformed values per channel (tiles
/// times positions) at most: 128 F(2,3) tiles or 56 F(4,3) ones, so the
/// scratch does not grow with the tile.
const MIN_SUB_TILES: usize = 16;
const MAX_SUB_POSITIONS: usize = 128 * 16;
/// Sub-blocks per block: the parallel units of the transform pass.
const SUBS: usize = 4;
/// Multiply-adds below which the passes run serially.
const PARALLEL_MIN_MACS: f64 = 1.0e5;
/// Outputs of the largest tile (F(4×4, 3×3)'s 4×4).
const MAX_OUTPUTS: usize = 16;

/// The weight gradient's tiling: `wino` is the forward plan of the same
/// geometry and tile with `tb` the tiles per sub-block (its units and split
/// are not used); `subs` sub-blocks make a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WgradPlan {
    pub wino: WinoPlan,
    pub subs: usize,
}

/// The plan when Winograd is the faster path for `g`'s weight gradient: the
/// per-call forward's criteria and tile (`winograd::plan`), from the geometry
/// alone.
pub(crate) fn plan(g: &Conv2dGeom) -> Option<WgradPlan> {
    plan_any(g, super::plan(g)?.tile)
}

/// The plan with `tile` for any 3×3 stride-1 convolution (tests run it on
/// every shape).
pub(crate) fn plan_any(g: &Conv2dGeom, tile: TileSize) -> Option<WgradPlan> {
    let wino = super::plan_any(g, tile)?;
    let tiles = g.n * wino.tiles_h * wino.tiles_w;
    let tb = (SUB_FLOATS / (tile.xi() * (g.c_in + g.c_out))).clamp(MIN_SUB_TILES, MAX_SUB_POSITIONS / tile.xi()).min(tiles);
    let subs = SUBS.min(tiles.div_ceil(tb));
    let parallel = (tile.xi() * tiles * g.c_in * g.c_out) as f64 >= PARALLEL_MIN_MACS;
    Some(WgradPlan { wino: WinoPlan { tb, parallel, ..wino }, subs })
}

impl WgradPlan {
    fn xi(&self) -> usize {
        self.wino.tile.xi()
    }

    fn du_len(&self, g: &Conv2dGeom) -> usize {
        self.xi() * g.c_in * g.c_out
    }

    /// `V`, `Vᵀ` and `Z` of one sub-block.
    fn sub_len(&self, g: &Conv2dGeom) -> usize {
        self.xi() * self.wino.tb * (2 * g.c_in + g.c_out)
    }

    /// `dU`, a packed `Z` panel per position, then the sub-blocks of a block.
    pub(crate) fn scratch_len(&self, g: &Conv2dGeom) -> usize {
        self.du_len(g) + self.xi() * kblock_panel_len(self.wino.tb) + self.subs * self.sub_len(g)
    }
}

/// `dw` and `db` (when given) of `g` under `p`, both overwritten (formula of
/// `conv2d_bwd_weight`); `scratch` holds at least `p.scratch_len(g)` elements.
pub(crate) fn bwd_weight(g: &Conv2dGeom, p: &WgradPlan, x: &[f32], dy: &[f32], dw: &mut [f32], db: Option<&mut [f32]>, scratch: &mut [f32]) {
    match p.wino.tile {
        TileSize::F2 => bwd_weight_tiled::<F2>(g, p, x, dy, dw, scratch),
        TileSize::F4 => bwd_weight_tiled::<F4>(g, p, x, dy, dw, scratch),
    }
    if let Some(db) = db {
        sum_rows(dy, db);
    }
}

fn bwd_weight_tiled<T: Tile>(g: &Conv2dGeom, p: &WgradPlan, x: &[f32], dy: &[f32], dw: &mut [f32], scratch: &mut [f32]) {
    let (du, rest) = scratch.split_at_mut(p.du_len(g));
    let tiles = g.n * p.wino.tiles_h * p.wino.tiles_w;
    let (tb, sub_len, panel_len) = (p.wino.tb, p.sub_len(g), kblock_panel_len(p.wino.tb));
    let (panels, subs) = rest.split_at_mut(T::XI * panel_len);
    let v_len = T::XI * tb * g.c_in;
    let mut t0 = 0;
    while t0 < tiles {
        let block = (tb * p.subs).min(tiles - t0);
        let n_subs = block.div_ceil(tb);
        let sub_tiles = |s: usize| Tiles { g, p: &p.wino, first: t0 + s * tb, rows: tb.min(block - s * tb) };
        par::for_each_chunk_mut(&mut subs[..n_subs * sub_len], sub_len, p.wino.parallel, |s, buf| {
            let (v, rest) = buf.split_at_mut(v_len);
            let (vt, z) = rest.split_at_mut(v_len);
            let tiles = sub_tiles(s);
            input_transform::<T>(&tiles, x, v);
            transpose_v::<T>(&tiles, v, vt);
            output_grad_transform::<T>(&tiles, dy, z);
        });
        let subs: &[f32] = subs;
        let first_block = t0 == 0;
        par::for_each_chunk_pair_mut(du, g.c_in * g.c_out, panels, panel_len, p.wino.parallel, |xi, du_xi, panel| {
            for s in 0..n_subs {
                let (tiles, buf) = (sub_tiles(s), &subs[s * sub_len..][..sub_len]);
                let (vt, z) = buf[v_len..].split_at(v_len);
                let rows = tiles.rows;
                let k = KBlock { rows: g.c_in, kc: rows, cols: g.c_out, ldb: g.c_out, ldc: g.c_out };
                let (a, b) = (&vt[xi * tb * g.c_in..][..g.c_in * rows], &z[xi * tb * g.c_out..][..rows * g.c_out]);
                gemm_kblock(k, a, b, du_xi, first_block && s == 0, None, panel);
            }
        });
        t0 += block;
    }
    kernel_grad_transform::<T>(g, du, dw);
}

/// `Vᵀ[ξ][ci][t]` (`c_in × rows` per ξ, planes `tb·c_in` apart) from the input
/// transform's `V`, whose k-blocks of `KC` channels are each `rows × kcb`.
fn transpose_v<T: Tile>(tiles: &Tiles<'_>, v: &[f32], vt: &mut [f32]) {
    let (ci_n, rows, tb) = (tiles.g.c_in, tiles.rows, tiles.p.tb);
    for xi in 0..T::XI {
        let vt_xi = &mut vt[xi * tb * ci_n..][..ci_n * rows];
        for kb in 0..ci_n.div_ceil(super::KC) {
            let kc = super::KC.min(ci_n - kb * super::KC);
            let block = &v[tiles.panel_at(xi, ci_n, kb)..][..rows * kc];
            transpose(block, rows, kc, &mut vt_xi[kb * super::KC * rows..][..kc * rows]);
        }
    }
}

/// `Z[ξ][t][co]` of the block's tiles (`M`'s layout in the forward): the
/// output-gradient transform, with zeros past the map's edge.
fn output_grad_transform<T: Tile>(tiles: &Tiles<'_>, dy: &[f32], z: &mut [f32]) {
    let g = tiles.g;
    let (co_n, tb, m) = (g.c_out, tiles.p.tb, T::M);
    let mut d = [F32x4::zero(); MAX_OUTPUTS];
    let mut zt = [F32x4::zero(); MAX_XI];
    let (d, zt) = (&mut d[..m * m], &mut zt[..T::XI]);
    for t in 0..tiles.rows {
        let (n, oh, ow) = tiles.origin(t);
        // Offsets in `dy` of the tile's m×m outputs, `None` past the edge.
        let at: [Option<usize>; MAX_OUTPUTS] = core::array::from_fn(|e| {
            let (oy, ox) = (oh + e / m, ow + e % m);
            (e < m * m && oy < g.h_out && ox < g.w_out).then(|| ((n * g.h_out + oy) * g.w_out + ox) * co_n)
        });
        for_each_quad(co_n, |co, len| {
            for (d, at) in d.iter_mut().zip(&at) {
                *d = at.map_or(F32x4::zero(), |o| load(&dy[o + co..], len));
            }
            T::output_grad(d, zt);
            for (xi, &val) in zt.iter().enumerate() {
                store(val, &mut z[(xi * tb + t) * co_n + co..][..len]);
            }
        });
    }
}

/// `dw[kh][kw][ci][co] = (Gᵀ dU[·][ci][co] G)[kh][kw]`.
fn kernel_grad_transform<T: Tile>(g: &Conv2dGeom, du: &[f32], dw: &mut [f32]) {
    let (ci_n, co_n) = (g.c_in, g.c_out);
    let plane = ci_n * co_n;
    let mut sums = [F32x4::zero(); MAX_XI];
    let sums = &mut sums[..T::XI];
    let mut taps = [F32x4::zero(); 9];
    for ci in 0..ci_n {
        for_each_quad(co_n, |co, len| {
            for (xi, s) in sums.iter_mut().enumerate() {
                *s = load(&du[xi * plane + ci * co_n + co..], len);
            }
            T::kernel_grad(sums, &mut taps);
            for (tap, &val) in taps.iter().enumerate() {
                store(val, &mut dw[tap * plane + ci * co_n + co..][..len]);
            }
        });
    }
}

#[cfg(any(test, feature = "selftest"))]
pub(crate) mod tests;
