//! 3×3 stride-1 convolutions by Winograd's F(m×m, 3×3), one code path generic
//! over the tile (`transforms::Tile`, run-time choice `TileSize`):
//! - F(2×2, 3×3): each 2×2 output tile costs 16 multiply-adds per (input,
//!   output) channel pair instead of 36 (2.25× fewer multiplies than im2col +
//!   GEMM). Its transforms are exact additions and halvings, so its error
//!   stays that of a short reordered dot product (bound in `tests.rs`), and
//!   its kernel transform (16/9 of the weights) is cheap enough to rebuild on
//!   every call: the per-call forward and input gradient (`plan`) use it on
//!   calls with few tiles, and the weight gradient always;
//! - F(4×4, 3×3): each 4×4 tile costs 36 (2.25 per output instead of 4: 1.78×
//!   fewer than F(2,3)), with inexact coefficients (error about 16× F(2,3)'s,
//!   bound and measurement in `tests.rs`) and a kernel transform of 36/9 of
//!   the weights. Kept kernels (`plan_prepared`, fused inference) use it on
//!   maps of `F4_MIN_MAP` and more; the per-call forward and input gradient
//!   (`plan`) on maps of `F4_MIN_CALL_MAP` and more when a call has
//!   `F4_MIN_CALL_TILES` 4×4 tiles or more (with
//!   its kernel transform in each call, F(4,3) is slower on fewer: ResNet-18
//!   training 0.96-0.98x at batch 1-2 with every map on it; with the minimum,
//!   the training step 1.02-1.03x at batch 2-4 and 1.09x at batch 32, its
//!   training forward 1.15x).
//!
//! Passes:
//! 1. the kernel transform `U[ξ][ci][co]` (ξ = the `XI` = 16 or 36 tile
//!    positions), one ξ per parallel chunk, pre-packed for the GEMM: once per
//!    call (`fwd`), or
//!    once per weight version by a caller that keeps `U` (`prepare_kernel`,
//!    then `fwd_prepared`: fused inference keeps it beside the folded weights);
//! 2. per unit (a range of tile rows, over the batch) and per block of `tb`
//!    tiles: the input transform `V[ξ][tile][ci]` (padding as zeros, any
//!    padding and any map size), `XI` GEMMs `M[ξ] = V[ξ] · U[ξ]` on the blocked
//!    GEMM kernel (`gemm_kblock_packed`, so the relaxed artifact's fused multiply-add
//!    reaches them), then the output transform with the epilogue (bias, clamp)
//!    written to `y`. Each block reads all of `U`, which is cheap while `U`
//!    stays in cache. Otherwise the order is by position (`Order::ByPosition`):
//!    when all tiles fit one block (batch 1 on small maps), where tile-row
//!    units would each stream all of `U` for a handful of tiles (a parallel
//!    call still cuts them into `SMALL_BLOCKS` blocks); when all
//!    tiles' `V` and `M` fit `ONE_SPAN_FLOATS` (small batches), where a few
//!    tile rows made few, unequal units; and when `U` outgrows
//!    `U_CACHED_FLOATS` (ResNet's 256- and 512-channel layers at larger
//!    batches), where every block would stream it from memory again.
//!    Spans of tile rows then run three parallel passes: the input transform
//!    of all the span's blocks, the `XI` positions' GEMMs (each position
//!    reads its `U[ξ]` once per span and keeps it in cache over the span's
//!    blocks), and the output transform. Every `M` element is the same sum
//!    either way.
//!
//! Units and blocks come from the geometry alone and every output is the same
//! function of the same inputs whichever unit computes it, so results are
//! bit-identical for any thread count. They differ from the im2col path's in
//! the last bits (different summation), so the choice of path is made from the
//! geometry only (`plan`), never from the threads.

mod transforms;
pub(crate) mod wgrad;

pub use transforms::TileSize;

use crate::gemm::{gemm_kblock_packed, packed_b_panels, Epilogue, KBlock, KBLOCK_TILE_ROWS};
use crate::geom::Conv2dGeom;
use crate::par;
use crate::simd::F32x4;
use transforms::{Tile, F2, F4, MAX_XI};

/// Input channels per k-block of the GEMMs (a multiple of 4, so no vector of
/// four channels straddles two k-blocks).
const KC: usize = 256;
/// Floats of `V` and `M` per unit, at most (2 MiB): a block of tiles is then
/// 30 to 63 F(2,3) tiles (12 to 27 F(4,3) tiles) for ResNet's 128-512 channel
/// layers, so each `U[ξ]` panel is reused over that many rows.
const UNIT_FLOATS: usize = 1 << 19;
/// Tile positions (tiles times `XI`) per block, at most: 63 F(2,3) tiles, 27
/// F(4,3) tiles, so a unit's scratch is the same whichever the tile.
const MAX_BLOCK_POSITIONS: usize = 1024;
/// Tiles per block, at least.
const MIN_TB: usize = KBLOCK_TILE_ROWS;
/// `U` floats above which blocks of tiles would stream it from memory (4
/// MiB, twice the L2 cache of the Xeons this was measured on), so the order is
/// by position: ResNet-18's 14x14 and 7x7 layers (inference at batch 32 1.05x
/// faster on 1 and 2 threads). Its 28x28 layers (`U` of 2.4 MB) ran 0.97-0.99x
/// by position: their `V` and `M` make more traffic than `U` saves there.
const U_CACHED_FLOATS: usize = 1 << 20;
/// Floats of `V` and `M` per span of the by-position order, at most (16 MiB,
/// what `MAX_UNITS` blocked units hold): ResNet-18's 7x7 layers at batch 32
/// in 2 spans, its 14x14 ones in 3, each streaming `U` once.
const SPAN_FLOATS: usize = 1 << 22;
/// `V` and `M` floats (8 MiB) up to which all tiles go by position in one
/// span: ResNet-18's 56x56 and 28x28 layers at batch 1 (their 14 and 7 tile
/// rows made 7 units, 4 and 3 per thread on 2) and its 28x28 ones up to batch
/// 4. Inference 1.055x faster at batch 1 on 2 threads, 1.045x on 1; 1.02x at
/// batch 4; batch 32 unchanged.
const ONE_SPAN_FLOATS: usize = 1 << 21;
/// Units of the by-position order's output transform per span, at most.
const OUT_UNITS: usize = 8;
/// Blocks, at most, of a parallel call whose tiles all fit one block (batch
/// 1 on ResNet's 14x14 and 7x7 maps): its input transform then has that many
/// parallel units, and its output transform `OUT_UNITS`, where one block and
/// one unit ran both on one thread while the other waited. Each `U[ξ]` is
/// then read once per block, the second time from cache. ResNet-18 inference
/// at batch 1 1.03x faster on 2 threads (layer3 1.2x, layer4 1.05x), 1.015x
/// on 1; the same bits.
const SMALL_BLOCKS: usize = 2;
/// Upper bound on units: bounds the scratch (a unit holds up to
/// `UNIT_FLOATS`) while leaving work for several threads.
const MAX_UNITS: usize = 8;
/// Multiply-adds per unit, at least, before a further split.
const UNIT_MIN_MACS: f64 = (1 << 18) as f64;
/// Multiply-adds below which the pass runs serially.
const PARALLEL_MIN_MACS: f64 = 1.0e5;

/// Dispatch (`plan`): Winograd is used from this many channels in and out. It
/// pays for its transforms with the GEMMs' savings, which scale with the
/// channel counts; RGB stems and thin layers stay on im2col.
const MIN_CHANNELS: usize = 16;
/// ... and from this many tiles per image-batch: the kernel transform `U`
/// (16/9 of the weights) is rebuilt on each call, so it must be shared by
/// enough tiles (ResNet-18's 7×7 maps at batch 1 have 16 tiles, which stay on
/// im2col; measured with `npm run bench:conv`, see benches/README.md). A
/// caller that keeps `U` (`plan_prepared`) has no such minimum.
const MIN_TILES: usize = 32;
/// Kept kernels (`plan_prepared`) take F(4×4, 3×3) on maps from this many
/// output rows and columns: ResNet-18's 56×56, 28×28 and 14×14 maps. Its 7×7
/// maps stay on F(2×2, 3×3): 4×4 tiles cover 8×8 there (31% wasted, as for
/// 2×2 tiles), `U` would be 36/9 of the weights (37.7 MB per 512-channel
/// layer instead of 16.8 MB) and at batch 1 streaming `U` is the cost.
const F4_MIN_MAP: usize = 8;
/// The per-call forward (and input gradient) takes F(4×4, 3×3) on maps of
/// `F4_MIN_CALL_MAP` and more from this many 4×4 tiles per call, where its
/// kernel transform (36/9 of the weights, rebuilt each call) is shared by
/// enough tiles: ResNet-18's 56×56 maps from batch 1, 28×28 from 2, 14×14
/// from 4, 7×7 from 16.
const F4_MIN_CALL_TILES: usize = 64;
/// ... on maps from this many output rows and columns. On 7×7 maps 4×4 tiles
/// cover 8×8 as 2×2 tiles do, with 44% fewer multiplies: ResNet-18's
/// frozen-backbone step at batch 32 1.05x faster and its training forward
/// 1.04x (1 thread), the by-position order streaming the 37.7 MB `U` once
/// per span. On 5×5 and 6×6 maps the two tiles do as many multiplies.
const F4_MIN_CALL_MAP: usize = 7;

/// The Winograd forward's tile, tiling, blocking and split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WinoPlan {
    pub tile: TileSize,
    pub tiles_h: usize,
    pub tiles_w: usize,
    /// Tile rows per unit (over the batch: `n·tiles_h` in all): the blocked
    /// order's units, or the units of the by-position order's output
    /// transform within a span.
    pub unit_tile_rows: usize,
    pub units: usize,
    /// Tiles per block.
    pub tb: usize,
    pub order: Order,
    pub parallel: bool,
}

/// The order of a Winograd forward's passes (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// Per unit of tile rows and block of `tb` tiles: input transform, the
    /// `XI` GEMMs, output transform.
    Blocked,
    /// Per span of `span_rows` tile rows (the last may be shorter), made of
    /// blocks of `tb` tiles (`WinoPlan::span_blocks`): the input transform of
    /// every block (the blocks are its parallel units), the `XI` positions'
    /// GEMMs over all blocks (one position per parallel unit), then the
    /// output transform (units of `unit_tile_rows`).
    ByPosition { span_rows: usize },
}

/// Whether `g` is a 3×3 stride-1 convolution (any padding).
pub(crate) fn applies(g: &Conv2dGeom) -> bool {
    g.k_h == 3 && g.k_w == 3 && g.stride_h == 1 && g.stride_w == 1
}

/// The plan when Winograd is the faster path for `g` (see `MIN_CHANNELS` and
/// `MIN_TILES`), with F(4×4, 3×3) where a call has enough of its tiles (see
/// `F4_MIN_CALL_TILES`), from the geometry alone: the forward and, through
/// the transposed convolution, the stride-1 input gradient.
pub(crate) fn plan(g: &Conv2dGeom) -> Option<WinoPlan> {
    if !per_call_wins(g) {
        return None;
    }
    let many_f4 = g.h_out.min(g.w_out) >= F4_MIN_CALL_MAP && tiles(g, TileSize::F4) >= F4_MIN_CALL_TILES;
    plan_any(g, if many_f4 { TileSize::F4 } else { TileSize::F2 })
}

/// Whether Winograd pays for a call that transforms the kernel itself: 3×3
/// stride 1, `MIN_CHANNELS` in and out, `MIN_TILES` F(2,3) tiles. The forward
/// and input gradient (`plan`) and the weight gradient (`wgrad::plan`) share it.
pub(crate) fn per_call_wins(g: &Conv2dGeom) -> bool {
    applies(g) && g.c_in >= MIN_CHANNELS && g.c_out >= MIN_CHANNELS && tiles(g, TileSize::F2) >= MIN_TILES
}

/// `tile`'s tiles over `g`'s batch (maps not a multiple of its side round up).
fn tiles(g: &Conv2dGeom, tile: TileSize) -> usize {
    g.n * g.h_out.div_ceil(tile.m()) * g.w_out.div_ceil(tile.m())
}

/// The plan when the caller keeps the transformed kernel (`prepare_kernel`):
/// then Winograd wins whatever the number of tiles, from `MIN_CHANNELS`, with
/// `prepared_tile`'s tile (which does not depend on the batch, so one `U`
/// serves every batch size).
pub(crate) fn plan_prepared(g: &Conv2dGeom) -> Option<WinoPlan> {
    let p = plan_any(g, prepared_tile(g))?;
    (g.c_in >= MIN_CHANNELS && g.c_out >= MIN_CHANNELS).then_some(p)
}

/// The tile of a kept kernel for `g`'s map size (see `F4_MIN_MAP`).
pub(crate) fn prepared_tile(g: &Conv2dGeom) -> TileSize {
    if g.h_out.min(g.w_out) >= F4_MIN_MAP { TileSize::F4 } else { TileSize::F2 }
}

/// The plan with `tile` for any 3×3 stride-1 convolution (tests run it on
/// every shape).
pub(crate) fn plan_any(g: &Conv2dGeom, tile: TileSize) -> Option<WinoPlan> {
    if !applies(g) {
        return None;
    }
    let (m, xi) = (tile.m(), tile.xi());
    let (tiles_h, tiles_w) = (g.h_out.div_ceil(m), g.w_out.div_ceil(m));
    let tile_rows = g.n * tiles_h;
    let row_macs = (tiles_w * xi * g.c_in * g.c_out) as f64;
    let total = row_macs * tile_rows as f64;
    let parallel = total >= PARALLEL_MIN_MACS;
    let tiles = tile_rows * tiles_w;
    if tiles <= max_tb(tile) {
        let blocks = if parallel { SMALL_BLOCKS.min(tiles.div_ceil(KBLOCK_TILE_ROWS)) } else { 1 };
        let tb = tiles.div_ceil(blocks).next_multiple_of(KBLOCK_TILE_ROWS);
        let (unit_tile_rows, units) = if parallel { out_units(tile_rows) } else { (tile_rows, 1) };
        let order = Order::ByPosition { span_rows: tile_rows };
        return Some(WinoPlan { tile, tiles_h, tiles_w, unit_tile_rows, units, tb, order, parallel });
    }
    if WinoPlan::u_len(tile, g) > U_CACHED_FLOATS || tiles * xi * (g.c_in + g.c_out) <= ONE_SPAN_FLOATS {
        return Some(by_position_spans(g, tile, tiles_h, tiles_w, parallel));
    }
    let wanted = ((total / UNIT_MIN_MACS) as usize).clamp(1, MAX_UNITS).min(tile_rows);
    let unit_tile_rows = tile_rows.div_ceil(wanted);
    let units = tile_rows.div_ceil(unit_tile_rows);
    let tb = (UNIT_FLOATS / (xi * (g.c_in + g.c_out))).clamp(MIN_TB, max_tb(tile)) / KBLOCK_TILE_ROWS * KBLOCK_TILE_ROWS;
    let tb = tb.min((unit_tile_rows * tiles_w).next_multiple_of(KBLOCK_TILE_ROWS));
    Some(WinoPlan { tile, tiles_h, tiles_w, unit_tile_rows, units, tb, order: Order::Blocked, parallel })
}

/// The by-position order in spans of at most `SPAN_FLOATS` of `V` and `M`,
/// all of the same number of tile rows but the last, each cut into blocks of
/// at most `max_tb` tiles (whole register tiles).
fn by_position_spans(g: &Conv2dGeom, tile: TileSize, tiles_h: usize, tiles_w: usize, parallel: bool) -> WinoPlan {
    let tile_rows = g.n * tiles_h;
    let row_floats = tiles_w * tile.xi() * (g.c_in + g.c_out);
    let spans = tile_rows.div_ceil((SPAN_FLOATS / row_floats).max(1));
    let span_rows = tile_rows.div_ceil(spans);
    let span_tiles = span_rows * tiles_w;
    let blocks = span_tiles.div_ceil(max_tb(tile));
    let tb = span_tiles.div_ceil(blocks).next_multiple_of(KBLOCK_TILE_ROWS);
    let (unit_tile_rows, units) = out_units(span_rows);
    WinoPlan { tile, tiles_h, tiles_w, unit_tile_rows, units, tb, order: Order::ByPosition { span_rows }, parallel }
}

/// Tile rows per unit and units of the by-position order's output transform
/// over a span of `span_rows` tile rows.
fn out_units(span_rows: usize) -> (usize, usize) {
    let unit_tile_rows = span_rows.div_ceil(OUT_UNITS.min(span_rows));
    (unit_tile_rows, span_rows.div_ceil(unit_tile_rows))
}

/// Tiles per block of `tile`, at most: a whole number of the GEMM's register
/// tiles, so no block ends in a short row tail.
pub(crate) const fn max_tb(tile: TileSize) -> usize {
    MAX_BLOCK_POSITIONS / tile.xi() / KBLOCK_TILE_ROWS * KBLOCK_TILE_ROWS
}

impl WinoPlan {
    /// Length of the transformed kernel `U` with `tile`.
    pub(crate) fn u_len(tile: TileSize, g: &Conv2dGeom) -> usize {
        tile.xi() * g.c_in * g.c_out
    }

    /// One unit's scratch: `V` and `M` of a block.
    fn unit_len(&self, g: &Conv2dGeom) -> usize {
        self.tile.xi() * self.tb * (g.c_in + g.c_out)
    }

    /// `V` of one block (the by-position order keeps a span's blocks side by
    /// side).
    fn block_v_len(&self, g: &Conv2dGeom) -> usize {
        self.tile.xi() * self.tb * g.c_in
    }

    /// Blocks of `tb` tiles in a span of `span_rows` tile rows.
    fn span_blocks(&self, span_rows: usize) -> usize {
        (span_rows * self.tiles_w).div_ceil(self.tb)
    }

    pub(crate) fn scratch_len(&self, g: &Conv2dGeom) -> usize {
        Self::u_len(self.tile, g) + self.prepared_scratch_len(g)
    }

    /// Scratch of `fwd_prepared` (no room for `U`).
    pub(crate) fn prepared_scratch_len(&self, g: &Conv2dGeom) -> usize {
        match self.order {
            Order::Blocked => self.units * self.unit_len(g),
            Order::ByPosition { span_rows } => self.span_blocks(span_rows) * self.unit_len(g),
        }
    }

    /// First output row (over the batch, `n·h_out` rows) of global tile row `r`.
    fn out_row(&self, g: &Conv2dGeom, r: usize) -> usize {
        (r / self.tiles_h) * g.h_out + (self.tile.m() * (r % self.tiles_h)).min(g.h_out)
    }
}

/// `y = clamp(conv2d(x, w) + b)` by Winograd under plan `p` (from `plan` or
/// `plan_any` for `g`); `scratch` holds at least `p.scratch_len(g)` elements.
pub(crate) fn fwd(g: &Conv2dGeom, p: &WinoPlan, x: &[f32], w: &[f32], ep: Epilogue<'_>, y: &mut [f32], scratch: &mut [f32]) {
    let (u, rest) = scratch.split_at_mut(WinoPlan::u_len(p.tile, g));
    kernel_transform(g, p.tile, p.parallel, w, u);
    fwd_prepared(g, p, x, u, ep, y, rest);
}

/// Writes `U` of `w` for `tile` into `u` (`WinoPlan::u_len(tile, g)`
/// elements) for `fwd_prepared`; depends on `g`'s channel counts only.
pub(crate) fn prepare_kernel(g: &Conv2dGeom, tile: TileSize, w: &[f32], u: &mut [f32]) {
    let parallel = tile.xi() as f64 * (g.c_in * g.c_out) as f64 >= PARALLEL_MIN_MACS;
    kernel_transform(g, tile, parallel, w, u);
}

/// `fwd` with `U` already transformed (`prepare_kernel` with `p.tile`);
/// `scratch` holds at least `p.prepared_scratch_len(g)` elements. Same bits
/// as `fwd`.
pub(crate) fn fwd_prepared(g: &Conv2dGeom, p: &WinoPlan, x: &[f32], u: &[f32], ep: Epilogue<'_>, y: &mut [f32], scratch: &mut [f32]) {
    match p.tile {
        TileSize::F2 => fwd_tiled::<F2>(g, p, x, u, ep, y, scratch),
        TileSize::F4 => fwd_tiled::<F4>(g, p, x, u, ep, y, scratch),
    }
}

fn kernel_transform(g: &Conv2dGeom, tile: TileSize, parallel: bool, w: &[f32], u: &mut [f32]) {
    match tile {
        TileSize::F2 => kernel_transform_tiled::<F2>(g, parallel, w, u),
        TileSize::F4 => kernel_transform_tiled::<F4>(g, parallel, w, u),
    }
}

/// `fwd_prepared` with the tile `T` (`p.tile`).
fn fwd_tiled<T: Tile>(g: &Conv2dGeom, p: &WinoPlan, x: &[f32], u: &[f32], ep: Epilogue<'_>, y: &mut [f32], scratch: &mut [f32]) {
    if let Order::ByPosition { span_rows } = p.order {
        return fwd_by_position::<T>(g, p, span_rows, x, u, ep, y, scratch);
    }
    let unit_len = p.unit_len(g);
    let tile_rows = g.n * p.tiles_h;
    let row_len = g.w_out * g.c_out;
    let start = |unit: usize| p.out_row(g, (unit * p.unit_tile_rows).min(tile_rows)) * row_len;
    par::for_each_span_pair_mut(y, start, p.units, &mut scratch[..p.units * unit_len], unit_len, p.parallel, |unit, y_unit, s| {
        let r0 = unit * p.unit_tile_rows;
        let r1 = (r0 + p.unit_tile_rows).min(tile_rows);
        let unit_tiles = (r1 - r0) * p.tiles_w;
        let (v, s) = s.split_at_mut(T::XI * p.tb * g.c_in);
        let m = &mut s[..T::XI * p.tb * g.c_out];
        let first_row = p.out_row(g, r0);
        let mut t0 = 0;
        while t0 < unit_tiles {
            let rows = p.tb.min(unit_tiles - t0);
            let tiles = Tiles { g, p, first: r0 * p.tiles_w + t0, rows };
            input_transform::<T>(&tiles, x, v);
            for xi in 0..T::XI {
                product(&tiles, xi, v, u, &mut m[xi * p.tb * g.c_out..]);
            }
            output_transform::<T>(&tiles, m, p.tb, ep, first_row, y_unit);
            t0 += rows;
        }
    });
}

/// The by-position order (`Order::ByPosition`), span by span: `V` of the
/// span's blocks side by side, `M` position-major (`[ξ][tile][co]`, a whole
/// span's blocks of `tb` tiles per position).
#[allow(clippy::too_many_arguments)]
fn fwd_by_position<T: Tile>(
    g: &Conv2dGeom,
    p: &WinoPlan,
    span_rows: usize,
    x: &[f32],
    u: &[f32],
    ep: Epilogue<'_>,
    y: &mut [f32],
    scratch: &mut [f32],
) {
    let tile_rows = g.n * p.tiles_h;
    let row_len = g.w_out * g.c_out;
    let m_stride = p.span_blocks(span_rows) * p.tb;
    let (v, s) = scratch.split_at_mut(p.span_blocks(span_rows) * p.block_v_len(g));
    let m = &mut s[..T::XI * m_stride * g.c_out];
    let mut r0 = 0;
    while r0 < tile_rows {
        let r1 = (r0 + span_rows).min(tile_rows);
        let span_tiles = (r1 - r0) * p.tiles_w;
        let block = |b: usize| Tiles { g, p, first: r0 * p.tiles_w + b * p.tb, rows: p.tb.min(span_tiles - b * p.tb) };
        let span_blocks = p.span_blocks(r1 - r0);
        let v_span = &mut v[..span_blocks * p.block_v_len(g)];
        par::for_each_chunk_mut(v_span, p.block_v_len(g), p.parallel, |b, v_b| input_transform::<T>(&block(b), x, v_b));
        let v_span: &[f32] = v_span;
        par::for_each_chunk_mut(m, m_stride * g.c_out, p.parallel, |xi, m_xi| {
            for b in 0..span_blocks {
                let v_b = &v_span[b * p.block_v_len(g)..][..p.block_v_len(g)];
                product(&block(b), xi, v_b, u, &mut m_xi[b * p.tb * g.c_out..]);
            }
        });
        let m: &[f32] = m;
        let first_row = p.out_row(g, r0);
        let y_span = &mut y[first_row * row_len..p.out_row(g, r1) * row_len];
        let units = (r1 - r0).div_ceil(p.unit_tile_rows);
        let unit_r0 = |unit: usize| (r0 + unit * p.unit_tile_rows).min(r1);
        let start = |unit: usize| (p.out_row(g, unit_r0(unit)) - first_row) * row_len;
        par::for_each_span_mut(y_span, start, units, p.parallel, |unit, y_unit| {
            let (t0, t1) = ((unit_r0(unit) - r0) * p.tiles_w, (unit_r0(unit + 1) - r0) * p.tiles_w);
            let tiles = Tiles { g, p, first: r0 * p.tiles_w + t0, rows: t1 - t0 };
            output_transform::<T>(&tiles, &m[t0 * g.c_out..], m_stride, ep, p.out_row(g, unit_r0(unit)), y_unit);
        });
        r0 = r1;
    }
}

/// `U[ξ]` from `w[kh][kw][ci][co]`, each `c_in × c_out` matrix stored as the
/// k-blocks of `KC` rows that the GEMMs read, each packed in
/// `gemm_kblock_packed`'s panel layout: the GEMMs then read `U` in order
/// instead of re-packing its panels for every block of tiles. One row `i` of
/// the transformed tile (ξ = `i·α .. i·α + α`, contiguous in `u`) per parallel
/// chunk, so each chunk loads a kernel's nine taps once for its `α` positions
/// (one ξ per chunk loaded them `α²` times, and the loads cost more than the
/// additions). Each chunk writes its `α` planes in their packed order (panel
/// by panel, `KC` rows each), where a loop over input channels outside the
/// panels wrote 48 bytes at a time 12 KiB apart, all in one L1 set: the
/// per-call F(4,3) transform of a 512-channel kernel about 1.2x faster,
/// ResNet-18's frozen-backbone step 1.026x (1 thread) and 1.016x (2). Its
/// nine tap loads, 1 MB apart in `w`, are now most of its time.
fn kernel_transform_tiled<T: Tile>(g: &Conv2dGeom, parallel: bool, w: &[f32], u: &mut [f32]) {
    let (ci_n, co_n) = (g.c_in, g.c_out);
    let plane = ci_n * co_n;
    par::for_each_chunk_mut(u, T::ALPHA * plane, parallel, |i, u_row| {
        for kb in 0..ci_n.div_ceil(KC) {
            let kcb = KC.min(ci_n - kb * KC);
            for (start, width) in packed_b_panels(co_n) {
                let panel = kb * KC * co_n + start * kcb;
                for q in 0..kcb {
                    let ci = kb * KC + q;
                    for_each_quad(width, |c, len| {
                        let co = start + c;
                        let taps: [F32x4; 9] = core::array::from_fn(|t| load(&w[(t * ci_n + ci) * co_n + co..], len));
                        let at = panel + q * width + c;
                        for (j, u_xi) in u_row.chunks_exact_mut(plane).enumerate() {
                            store(T::kernel_at(&taps, i, j), &mut u_xi[at..][..len]);
                        }
                    });
                }
            }
        }
    });
}

/// A block of `rows` consecutive tiles, from tile `first` (over the batch, in
/// `(n, tile row, tile col)` order).
struct Tiles<'a> {
    g: &'a Conv2dGeom,
    p: &'a WinoPlan,
    first: usize,
    rows: usize,
}

impl Tiles<'_> {
    /// Image, first output row and first output column of the block's tile `t`.
    fn origin(&self, t: usize) -> (usize, usize, usize) {
        let tile = self.first + t;
        let per_image = self.p.tiles_h * self.p.tiles_w;
        let (n, rc) = (tile / per_image, tile % per_image);
        let m = self.p.tile.m();
        (n, m * (rc / self.p.tiles_w), m * (rc % self.p.tiles_w))
    }

    /// Offset of `V[ξ]`'s (or `M[ξ]`'s, with `c = c_out`) k-block `kb` in a
    /// block buffer of `c` columns, packed `rows × kcb`.
    fn panel_at(&self, xi: usize, c: usize, kb: usize) -> usize {
        xi * self.p.tb * c + kb * KC * self.rows
    }
}

/// `V[ξ][t][ci]` of the block's tiles, laid out per ξ as `gemm_kblock`'s packed
/// `rows × kc` k-blocks.
///
/// A tile inside the map (no padding) is read, four channels at a time,
/// straight from `x` by its `α²` pixel offsets, and each of its `XI`
/// transformed values stored straight into its position's panel, each tile
/// and quad checked against the slices once: an edge tile goes through
/// `Option` offsets and bounds-checked accesses, which cost more than its
/// transform's arithmetic. Both run the same `Tile::input`, so the same bits.
fn input_transform<T: Tile>(tiles: &Tiles<'_>, x: &[f32], v: &mut [f32]) {
    let g = tiles.g;
    let ci_n = g.c_in;
    let (pixel, row) = (ci_n, g.w_in * ci_n);
    // Distance in `v` from one position's panel to the next's.
    let xi_stride = tiles.panel_at(1, ci_n, 0);
    for t in 0..tiles.rows {
        let (n, oh, ow) = tiles.origin(t);
        // Offsets in `x` of the tile's `α²` input pixels, `None` in the padding.
        let mut at = [None; MAX_XI];
        for (e, at) in at[..T::XI].iter_mut().enumerate() {
            let ih = (oh + e / T::ALPHA).checked_sub(g.pad_top).filter(|&ih| ih < g.h_in);
            let iw = (ow + e % T::ALPHA).checked_sub(g.pad_left).filter(|&iw| iw < g.w_in);
            *at = ih.zip(iw).map(|(ih, iw)| ((n * g.h_in + ih) * g.w_in + iw) * ci_n);
        }
        // The tile is inside the map when its first and last pixels are: its first pixel's offset.
        let inside = at[0].filter(|_| at[T::XI - 1].is_some());
        for_each_quad(ci_n, |ci, len| {
            let (kb, q) = (ci / KC, ci % KC);
            let kcb = KC.min(ci_n - kb * KC);
            let v0 = tiles.panel_at(0, ci_n, kb) + t * kcb + q;
            match inside {
                Some(x0) if len == 4 => {
                    let x_tile = &x[x0 + ci..][..(T::ALPHA - 1) * (row + pixel) + 4];
                    let v_tile = &mut v[v0..][..(T::XI - 1) * xi_stride + 4];
                    let (xp, vp) = (x_tile.as_ptr(), v_tile.as_mut_ptr());
                    T::input(
                        // SAFETY: e < XI = α², so the offset is at most (α - 1)·(row + pixel), 4 floats before x_tile's end.
                        |e| unsafe { F32x4::load_ptr(xp.add((e / T::ALPHA) * row + (e % T::ALPHA) * pixel)) },
                        // SAFETY: xi < XI, so the offset is at most (XI - 1)·xi_stride, 4 floats before v_tile's end.
                        |xi, val| unsafe { val.store_ptr(vp.add(xi * xi_stride)) },
                    );
                }
                _ => T::input(
                    |e| at[e].map_or(F32x4::zero(), |o| load(&x[o + ci..], len)),
                    |xi, val| store(val, &mut v[v0 + xi * xi_stride..][..len]),
                ),
            }
        });
    }
}

/// `M[ξ] = V[ξ] · U[ξ]` for position `xi`, `KC` input channels at a time;
/// `m_xi` starts at `M[ξ]`.
fn product(tiles: &Tiles<'_>, xi: usize, v: &[f32], u: &[f32], m_xi: &mut [f32]) {
    let g = tiles.g;
    let (ci_n, co_n) = (g.c_in, g.c_out);
    let m_xi = &mut m_xi[..tiles.rows * co_n];
    for kb in 0..ci_n.div_ceil(KC) {
        let kc = KC.min(ci_n - kb * KC);
        let k = KBlock { rows: tiles.rows, kc, cols: co_n, ldb: co_n, ldc: co_n };
        let a = &v[tiles.panel_at(xi, ci_n, kb)..][..tiles.rows * kc];
        let b = &u[(xi * ci_n + kb * KC) * co_n..][..kc * co_n];
        gemm_kblock_packed(k, a, b, m_xi, kb == 0, None);
    }
}

/// `y` of the tiles from `M` (`[ξ][t][co]`, `xi_stride` tiles per position,
/// `m` starting at the first tile's row): the output transform, the
/// epilogue, and only the outputs inside the map (sizes not a multiple of `m`
/// cut the last tiles). `y_unit` starts at output row `first_row` (over the
/// batch). A whole tile of a full quad is read and written through pointers
/// checked once, as in `input_transform`; the same `Tile::output` and
/// epilogue either way.
fn output_transform<T: Tile>(tiles: &Tiles<'_>, m: &[f32], xi_stride: usize, ep: Epilogue<'_>, first_row: usize, y_unit: &mut [f32]) {
    let g = tiles.g;
    let co_n = g.c_out;
    let (m_step, y_row) = (xi_stride * co_n, g.w_out * co_n);
    for t in 0..tiles.rows {
        let (n, oh, ow) = tiles.origin(t);
        let whole = oh + T::M <= g.h_out && ow + T::M <= g.w_out;
        let y0 = ((n * g.h_out + oh - first_row) * g.w_out + ow) * co_n;
        for_each_quad(co_n, |co, len| {
            let m0 = t * co_n + co;
            if whole && len == 4 {
                let m_tile = &m[m0..][..(T::XI - 1) * m_step + 4];
                let y_tile = &mut y_unit[y0 + co..][..(T::M - 1) * (y_row + co_n) + 4];
                let (mp, yp) = (m_tile.as_ptr(), y_tile.as_mut_ptr());
                let quad = ep.quad(co);
                T::output(
                    // SAFETY: xi < XI, so the offset is at most (XI - 1)·m_step, 4 floats before m_tile's end.
                    |xi| unsafe { F32x4::load_ptr(mp.add(xi * m_step)) },
                    // SAFETY: e < M², so the offset is at most (M - 1)·(y_row + co_n), 4 floats before y_tile's end.
                    |e, val| unsafe { quad.apply(val).store_ptr(yp.add((e / T::M) * y_row + (e % T::M) * co_n)) },
                );
            } else {
                T::output(
                    |xi| load(&m[m0 + xi * m_step..], len),
                    |e, val| {
                        let (oy, ox) = (oh + e / T::M, ow + e % T::M);
                        if oy < g.h_out && ox < g.w_out {
                            let dst = &mut y_unit[y0 + ((e / T::M) * g.w_out + e % T::M) * co_n + co..][..len];
                            if len == 4 {
                                ep.apply4(val, co).store(dst);
                            } else {
                                let mut lanes = [0.0; 4];
                                val.store(&mut lanes);
                                for (l, d) in dst.iter_mut().enumerate() {
                                    *d = ep.apply1(lanes[l], co + l);
                                }
                            }
                        }
                    },
                );
            }
        });
    }
}

/// Calls `f(c, len)` for channels `c..c + len` in fours (`len` 4, the last 1-4).
#[inline(always)]
fn for_each_quad(channels: usize, mut f: impl FnMut(usize, usize)) {
    let mut c = 0;
    while c < channels {
        let len = (channels - c).min(4);
        f(c, len);
        c += len;
    }
}

/// The first `len` (1-4) elements of `s` as a vector, zeros after them.
#[inline(always)]
fn load(s: &[f32], len: usize) -> F32x4 {
    if len == 4 {
        return F32x4::load(s);
    }
    let mut lanes = [0.0; 4];
    lanes[..len].copy_from_slice(&s[..len]);
    F32x4::load(&lanes)
}

/// Stores the first `dst.len()` (1-4) lanes of `v`.
#[inline(always)]
fn store(v: F32x4, dst: &mut [f32]) {
    if dst.len() == 4 {
        return v.store(dst);
    }
    let mut lanes = [0.0; 4];
    v.store(&mut lanes);
    dst.copy_from_slice(&lanes[..dst.len()]);
}

#[cfg(any(test, feature = "selftest"))]
pub(crate) mod tests;
