//! 2-D convolution, NHWC f32, weights `[k_h, k_w, c_in, c_out]` (see
//! `geom::Conv2dGeom` for the formula and every slice's layout).
//!
//! This file is the public API and the one place that chooses how each pass
//! runs, from the geometry alone (`winograd::plan`, `fwd_plan`, `wgrad_plan`):
//! - forward: a 3×3 stride-1 convolution with at least 16 channels in and out
//!   and enough 2×2 output tiles runs Winograd's F(2×2, 3×3) (`winograd/`,
//!   2.25× fewer multiplies; the thresholds are in `winograd/mod.rs`), or
//!   with a kept transformed kernel F(4×4, 3×3) on maps of 8×8 and more
//!   (4× fewer); an
//!   unpadded convolution with a small kernel (weights that stay in L2) is a
//!   GEMM that reads each patch from `x` in place (implicit im2col, `fwd.rs`),
//!   and a padded one with short patch rows (stems) the same GEMM over
//!   zero-padded slabs of `x`; any other is a cache-blocked GEMM of the im2col matrix with the
//!   weights: `mc × kc` blocks of im2col (padding taps as zeros, 1×1 and
//!   unpadded patches as strided copies of `x`) are built in scratch one
//!   k-block at a time and multiplied into `y` while they and the weights'
//!   k-block panel are in cache. Parallel units are row groups, or, when there
//!   are few output pixels (batch 1 on 7×7 or 14×14 maps), column chunks of
//!   `y` so each thread reads only its share of the weights. A caller that
//!   keeps a prepared kernel (`conv2d_prepare`: fused inference) gets
//!   Winograd at any batch, or for the blocked GEMM the weights kept packed
//!   in its panels (same bits, no per-call panel copies);
//! - input gradient: for stride 1, the forward of the transposed convolution
//!   (`dy` padded by `k - 1 - pad`, taps flipped, `c_in`/`c_out` swapped),
//!   dispatched like a forward (3×3: Winograd, else the blocked GEMM);
//!   otherwise, when each phase has enough pixels per row, by phases: the
//!   pixels one stride apart meet the same taps, so each phase is a GEMM of
//!   `dy` windows read in place with those taps' weights (`subpixel.rs`); else
//!   a direct gather over each input pixel's contributing taps
//!   (`bwd_input.rs`). Neither scatters (no col2im, no atomics) nor works on
//!   the holes of strided kernels;
//! - weight and bias gradients: `colsᵀ · dY` (`bwd_weight.rs`), for small
//!   kernels over fixed row groups into partials combined in group order, for
//!   large ones (ResNet's 128-512 channel layers) by units that each own a
//!   range of `dw` rows and reduce over all output pixels in order.
//!
//! Every split (blocks, groups, chunks, units) comes from the geometry, never
//! from the thread count, and every output element is summed in an order fixed
//! by the geometry, so results are bit-identical with any number of threads.
//! Callers pass a scratch slice of `g.im2col_scratch_len()` elements, enough
//! for all three passes; nothing allocates.

mod bwd_input;
mod bwd_weight;
mod fwd;
mod subpixel;
pub(crate) mod winograd;

pub use winograd::TileSize;

use crate::gemm::Epilogue;
use crate::geom::Conv2dGeom;
use crate::vecops::{copy, zero};

/// Kernel sizes (`k_h·k_w·c_in·c_out`) up to which a forward reads its
/// patches in place (unpadded, or padded with short patch rows: see
/// `PADDED_IN_PLACE_MAX_ROW`): the whole weight matrix (256 KiB) stays in L2
/// while the GEMM streams it once per four rows, and no im2col copy is made.
const IN_PLACE_MAX_W: usize = 1 << 16;
/// Patch-row lengths (`k_w·c_in`) up to which a padded forward reads its
/// patches in place from zero-padded slabs of the input (`fwd::padded`)
/// instead of building im2col: copying runs of a few floats per tap row is
/// most of im2col's cost there. ResNet-18's and MobileNetV2's stems (21 and
/// 9 floats) ran 1.15-1.2x and 1.09-1.14x faster that way, a 3×3 layer of 8
/// channels 1.1-1.7x; 3×3 layers of 32-64 channels (96-192 floats) ran
/// 0.92-0.98x at batch 32, so they keep im2col.
const PADDED_IN_PLACE_MAX_ROW: usize = 32;
/// Floats of one zero-padded input slab (64 KiB): enough input rows for
/// several output rows of a stem, so each input row is copied about
/// `k_h / stride_h` times, not `k_h·k_w` as im2col does.
const PADDED_SLAB_FLOATS: usize = 1 << 14;
/// Rows (output pixels) per packed im2col block of the forward GEMM: a whole
/// number of its register tiles (`KBLOCK_TILE_ROWS`), so no block but a
/// unit's last ends in a short row tail.
const FWD_MC: usize = 21 * crate::gemm::KBLOCK_TILE_ROWS;
/// Patch elements per k-block: an `FWD_MC × FWD_KC` block (64 KiB) stays in L2
/// and a `FWD_KC × 8` weight panel in L1 while the register tiles sweep them.
const FWD_KC: usize = 256;
/// Rows per forward unit below which a unit would re-read the weights for too
/// few rows: the forward then splits columns instead.
const MIN_UNIT_ROWS: usize = 32;
/// Columns per forward column chunk, at least.
const MIN_CHUNK_COLS: usize = 32;

/// Elements of im2col matrix per row block of the small-kernel weight
/// gradient (64 KiB). Blocks are the unit of its row groups, which fix the
/// summation order.
const COLS_BLOCK_FLOATS: usize = 1 << 14;
/// Elements of im2col matrix built and multiplied at a time within a block
/// (24 KiB): with their rows of `dy` they stay in L1 across the transposed
/// GEMM's sweeps (one per 4 × 8 tile of `dw`), which read whole blocks from
/// L2 (BreakHis conv1's weight gradient 1.29x on 1 thread). The rows of a
/// block are summed in the same order either way.
const COLS_SUB_BLOCK_FLOATS: usize = 6 << 10;
/// Rows per sub-block, at least: with long patches, fewer rows would cost the
/// tiles' loads and stores of `dw` per sub-block more than L1 saves (BreakHis
/// conv2's 144-element patches in 40-row sub-blocks ran 0.96x), so those
/// blocks stay whole.
const MIN_SUB_BLOCK_ROWS: usize = 128;

/// Upper bound on parallel units (row groups, column chunks, dw partials):
/// bounds the scratch while leaving work for up to this many threads.
const MAX_GROUPS: usize = 16;

/// Multiply-adds below which a further split into units is not worth it.
const GROUP_MIN_MACS: f64 = (1 << 16) as f64;

/// Multiply-adds below which a pass runs serially (a fork-join costs more).
/// At 1e5, the MNIST net's convolutions (0.4-0.7 M multiply-adds at batch 32)
/// went to the pool and 2 threads ran slower than 1; at 1e6 they run on the
/// calling thread (2 threads: MNIST step 1.11x, inference at batch 32 1.44x,
/// the BreakHis net at batch 1 1.08x; larger passes unchanged; same bits).
const PARALLEL_MIN_MACS: f64 = 1.0e6;

/// Pixels per phase along an input row (`w_in / stride_w`) from which the
/// strided input gradient runs by phases (`subpixel.rs`): each phase's GEMM
/// then has enough rows and few edge pixels. Below it (13x13 maps at stride
/// 2: the MNIST net, BreakHis' third layer) the direct gather was faster;
/// at and above it (BreakHis' second layer, ResNet-18's stride-2 layers on
/// 56x56 and 28x28 maps) the phases ran 1.2-1.6x faster on one thread.
const PHASE_MIN_ROW_PIXELS: usize = 12;

/// Target multiply-adds per input-gradient chunk.
const DX_CHUNK_MACS: f64 = (1 << 16) as f64;

/// Weight-gradient sizes (`k_h·k_w·c_in·c_out`) from which `dw` is split into
/// row ranges instead of summed from per-group partials (16 partials of a
/// 3×3×512×512 kernel would be 150 MB of scratch).
const WGRAD_SPLIT_MIN_W: usize = 1 << 16;
/// `dw` rows per unit of the split weight gradient, at most.
const WGRAD_MAX_UNIT_ROWS: usize = 128;
/// `dy` elements per reduction block of the split weight gradient (128 KiB):
/// the block of `dy` and its im2col columns stay in L2 across the unit's tiles.
const WGRAD_DY_BLOCK_FLOATS: usize = 1 << 15;

/// How the forward's units divide `y`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Split {
    /// Unit `u` computes rows `u·group_rows ..` of `y`, all columns.
    Rows { group_rows: usize },
    /// Unit `u` computes columns `u·chunk_cols ..` of every row of `y` into
    /// its scratch; they are copied into `y` afterwards.
    Cols { chunk_cols: usize },
}

/// The forward GEMM's blocking and split, derived from the geometry alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FwdPlan {
    /// Output pixels over the batch: rows of the im2col GEMM.
    pub rows: usize,
    /// Length of an im2col row, `k_h·k_w·c_in`.
    pub patch: usize,
    /// Rows per packed im2col block.
    pub mc: usize,
    /// Patch elements per k-block.
    pub kc: usize,
    pub split: Split,
    /// Whether the GEMM reads patches in place (row split only): from `x`,
    /// or from zero-padded slabs of it (`padded`).
    pub in_place: bool,
    /// For a padded geometry that reads in place, the zero-padded input
    /// slabs its GEMM reads the patches from (`fwd::padded`).
    pub padded: Option<PaddedSlab>,
    /// Number of units.
    pub units: usize,
    /// Whether the units may run on the pool.
    pub parallel: bool,
}

/// A zero-padded slab of input rows for `band_rows` output rows of one image
/// (`fwd::padded`): `rows` input rows of `row_len` floats (the padded width).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PaddedSlab {
    pub band_rows: usize,
    pub rows: usize,
    pub row_len: usize,
}

impl PaddedSlab {
    fn of(g: &Conv2dGeom) -> Self {
        let row_len = ((g.w_out - 1) * g.stride_w + g.k_w) * g.c_in;
        let fit = (PADDED_SLAB_FLOATS / row_len).saturating_sub(g.k_h) / g.stride_h + 1;
        let band_rows = fit.min(g.h_out);
        PaddedSlab { band_rows, rows: Self::input_rows(g, band_rows), row_len }
    }

    /// Padded input rows the patches of `out_rows` consecutive output rows cover.
    pub fn input_rows(g: &Conv2dGeom, out_rows: usize) -> usize {
        (out_rows - 1) * g.stride_h + g.k_h
    }

    pub fn len(&self) -> usize {
        self.rows * self.row_len
    }
}

impl FwdPlan {
    /// Scratch of one unit's GEMM: its im2col block and a packed weight
    /// panel, or its padded slab.
    fn pack_len(&self) -> usize {
        match self.padded {
            Some(slab) => slab.len(),
            None => self.mc * self.kc + crate::gemm::kblock_panel_len(self.kc),
        }
    }

    /// Scratch of one unit: its GEMM's, and for a column split its share of `y`.
    fn unit_len(&self) -> usize {
        self.pack_len()
            + match self.split {
                Split::Rows { .. } => 0,
                Split::Cols { chunk_cols } => self.rows * chunk_cols,
            }
    }

    fn scratch_len(&self) -> usize {
        self.units * self.unit_len()
    }
}

pub(crate) fn fwd_plan(g: &Conv2dGeom) -> FwdPlan {
    let rows = g.out_pixels();
    let patch = g.patch_len();
    let macs = g.macs();
    let wanted = ((macs / GROUP_MIN_MACS) as usize).clamp(1, MAX_GROUPS);
    let parallel = macs >= PARALLEL_MIN_MACS;
    let kc = patch.min(FWD_KC);
    if wanted == 1 || rows / wanted >= MIN_UNIT_ROWS {
        let group_rows = rows.div_ceil(wanted).next_multiple_of(4).min(rows);
        let units = rows.div_ceil(group_rows);
        let in_place = reads_in_place(g);
        let padded = (in_place && !g.taps_inside()).then(|| PaddedSlab::of(g));
        return FwdPlan { rows, patch, mc: FWD_MC.min(group_rows), kc, split: Split::Rows { group_rows }, in_place, padded, units, parallel };
    }
    let chunks = wanted.min((g.c_out / MIN_CHUNK_COLS).max(1));
    // Whole panels of the k-block GEMM: a chunk's kept weight panels are then a contiguous run of the layer's.
    let chunk_cols = g.c_out.div_ceil(chunks).next_multiple_of(crate::gemm::KBLOCK_PANEL_COLS).min(g.c_out);
    let units = g.c_out.div_ceil(chunk_cols);
    FwdPlan { rows, patch, mc: FWD_MC.min(rows), kc, split: Split::Cols { chunk_cols }, in_place: false, padded: None, units, parallel }
}

/// `fwd_plan` with patches always built by im2col (`FwdPath::Im2col`).
fn im2col_plan(g: &Conv2dGeom) -> FwdPlan {
    FwdPlan { in_place: false, padded: None, ..fwd_plan(g) }
}

/// Whether a row-split forward of `g` reads its patches in place: the
/// weights small enough to stay in L2, and every tap inside the input, or
/// patch rows short enough that reading them from zero-padded slabs beats
/// im2col (`PADDED_IN_PLACE_MAX_ROW`). Depends on the geometry but not on
/// the batch.
fn reads_in_place(g: &Conv2dGeom) -> bool {
    g.w_len() <= IN_PLACE_MAX_W && (g.taps_inside() || g.k_w * g.c_in <= PADDED_IN_PLACE_MAX_ROW)
}

/// How the weight gradient reduces over the output pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WgradSplit {
    /// `groups` fixed groups of `group_rows` output pixels (whole blocks of
    /// `block_rows`) each sum into a partial `dw`; partials are added in
    /// group order.
    Partials { group_rows: usize, groups: usize },
    /// Unit `u` owns `dw` rows (patch elements) `u·unit_rows ..` and sums all
    /// output pixels in order, `block_rows` at a time.
    DwRows { unit_rows: usize, units: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WgradPlan {
    pub rows: usize,
    pub patch: usize,
    /// Output pixels per im2col block.
    pub block_rows: usize,
    /// Output pixels built and multiplied at a time (`Partials`: at most
    /// `block_rows`; `DwRows`: `block_rows`). Never changes a bit.
    pub sub_rows: usize,
    pub split: WgradSplit,
    pub parallel: bool,
}

pub(crate) fn wgrad_plan(g: &Conv2dGeom) -> WgradPlan {
    let rows = g.out_pixels();
    let patch = g.patch_len();
    let macs = g.macs();
    let parallel = macs >= PARALLEL_MIN_MACS;
    if g.w_len() >= WGRAD_SPLIT_MIN_W {
        let units_wanted = patch.div_ceil(WGRAD_MAX_UNIT_ROWS).max(MAX_GROUPS);
        let unit_rows = patch.div_ceil(units_wanted).next_multiple_of(4).min(patch);
        let units = patch.div_ceil(unit_rows);
        let block_rows = (WGRAD_DY_BLOCK_FLOATS / g.c_out).max(4).min(rows);
        return WgradPlan { rows, patch, block_rows, sub_rows: block_rows, split: WgradSplit::DwRows { unit_rows, units }, parallel };
    }
    let block_rows = (COLS_BLOCK_FLOATS / patch).max(1).next_multiple_of(4).min(rows);
    let blocks = rows.div_ceil(block_rows);
    let wanted = ((macs / GROUP_MIN_MACS) as usize).clamp(1, MAX_GROUPS).min(blocks);
    let group_rows = blocks.div_ceil(wanted) * block_rows;
    let groups = rows.div_ceil(group_rows);
    let sub_rows = (COLS_SUB_BLOCK_FLOATS / patch).next_multiple_of(4).max(MIN_SUB_BLOCK_ROWS).min(block_rows);
    WgradPlan { rows, patch, block_rows, sub_rows, split: WgradSplit::Partials { group_rows, groups }, parallel }
}

/// How a strided input gradient runs: by phases (`subpixel.rs`) or by the
/// direct gather (`bwd_input::direct`); either way over chunks of
/// `chunk_rows` input image rows (`n·h_in` of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DxPlan {
    pub chunk_rows: usize,
    pub phases: bool,
    pub parallel: bool,
}

pub(crate) fn dx_plan(g: &Conv2dGeom) -> DxPlan {
    // About k_h/stride_h · k_w/stride_w taps reach each input pixel.
    let taps = g.k_h.div_ceil(g.stride_h) * g.k_w.div_ceil(g.stride_w);
    let row_macs = (g.w_in * g.c_in * g.c_out * taps) as f64;
    let chunk_rows = ((DX_CHUNK_MACS / row_macs) as usize).max(1);
    let parallel = g.macs() >= PARALLEL_MIN_MACS;
    let row_pixels = g.w_in.div_ceil(g.stride_w);
    if row_pixels < PHASE_MIN_ROW_PIXELS {
        return DxPlan { chunk_rows, phases: false, parallel };
    }
    // Phases: at most MAX_GROUPS chunks; their image rows are wide enough
    // that so few still balance two threads.
    let chunk_rows = chunk_rows.max((g.n * g.h_in).div_ceil(MAX_GROUPS));
    DxPlan { chunk_rows, phases: true, parallel }
}

/// For a stride-1 convolution, the convolution whose forward is `g`'s input
/// gradient: `dx = conv(dy, w')` with `w'[kh, kw, co, ci] = w[k_h-1-kh,
/// k_w-1-kw, ci, co]` and padding `k - 1 - pad` before (the padding after is
/// implied by the output size). `None` for strides above 1, or when a window
/// lies wholly in the padding (`pad >= k`).
pub(crate) fn transposed(g: &Conv2dGeom) -> Option<Conv2dGeom> {
    if g.stride_h != 1 || g.stride_w != 1 || g.pad_top >= g.k_h || g.pad_left >= g.k_w {
        return None;
    }
    Some(Conv2dGeom {
        n: g.n,
        h_in: g.h_out,
        w_in: g.w_out,
        c_in: g.c_out,
        c_out: g.c_in,
        k_h: g.k_h,
        k_w: g.k_w,
        stride_h: 1,
        stride_w: 1,
        pad_top: g.k_h - 1 - g.pad_top,
        pad_left: g.k_w - 1 - g.pad_left,
        h_out: g.h_in,
        w_out: g.w_in,
    })
}

impl Conv2dGeom {
    /// Scratch elements that `conv2d_fwd`, `conv2d_bwd_input` and
    /// `conv2d_bwd_weight` need (one buffer serves all three). Bounded by the
    /// blocking: at most `MAX_GROUPS` im2col blocks of 64 KiB (plus, when few
    /// output pixels split the forward by columns, one copy of `y`), the
    /// flipped weights of the input gradient, and the weight gradient's
    /// partials (only for kernels under `WGRAD_SPLIT_MIN_W`) or im2col blocks,
    /// or its Winograd sums `dU` (16/9 of the weights) and transformed tiles;
    /// never the whole im2col matrix.
    pub fn im2col_scratch_len(&self) -> usize {
        let fwd = match winograd::plan(self) {
            Some(p) => p.scratch_len(self),
            None => fwd_plan(self).scratch_len(),
        };
        let prepared = winograd::plan_prepared(self).map_or(0, |p| p.prepared_scratch_len(self));
        let bwd_input = match transposed(self) {
            Some(t) => self.w_len() + bwd_input::TransposedPlan::of(&t).scratch_len(&t),
            // Phases and the direct gather alike: the weights, repacked.
            None => self.w_len(),
        };
        let bwd_weight = match winograd::wgrad::plan(self) {
            Some(p) => p.scratch_len(self),
            None => bwd_weight::scratch_len(self, &wgrad_plan(self)),
        };
        fwd.max(prepared).max(bwd_weight).max(bwd_input)
    }
}

/// `y = conv2d(x, w) + b` (`b` optional); see `Conv2dGeom` for the formula and
/// layouts. `y` is fully overwritten; `scratch` holds at least
/// `g.im2col_scratch_len()` elements.
pub fn conv2d_fwd(g: &Conv2dGeom, x: &[f32], w: &[f32], b: Option<&[f32]>, y: &mut [f32], scratch: &mut [f32]) {
    conv2d_fwd_with(g, x, w, Epilogue::from(b), y, scratch);
}

/// `conv2d_fwd` with an epilogue: the bias, then a clamp (fused inference's
/// ReLU), bit-identical to `conv2d_fwd` followed by the activation.
pub fn conv2d_fwd_with(g: &Conv2dGeom, x: &[f32], w: &[f32], ep: Epilogue<'_>, y: &mut [f32], scratch: &mut [f32]) {
    debug_assert_eq!(x.len(), g.x_len(), "conv2d_fwd {g:?}: x");
    debug_assert_eq!(w.len(), g.w_len(), "conv2d_fwd {g:?}: w");
    debug_assert_eq!(y.len(), g.y_len(), "conv2d_fwd {g:?}: y");
    debug_assert!(ep.bias.is_none_or(|b| b.len() == g.c_out), "conv2d_fwd {g:?}: b");
    debug_assert!(scratch.len() >= g.im2col_scratch_len(), "conv2d_fwd {g:?}: scratch");
    match winograd::plan(g) {
        Some(p) => winograd::fwd(g, &p, x, w, ep, y, scratch),
        None => fwd::blocked(g, &fwd_plan(g), x, w, ep, y, scratch),
    }
}

/// What a kept kernel (`conv2d_prepare`) holds for a geometry; the choice
/// depends on the geometry but not on the batch, so one kept kernel serves
/// every batch size.
enum Kept {
    /// Winograd's transformed kernel `U` (16/9 or 36/9 of the weights).
    Winograd(winograd::WinoPlan),
    /// The weights packed in the column panels of the blocked GEMM's
    /// k-blocks (`pack_panels`, as long as the weights), so the im2col
    /// forward copies no panel per call: for the geometries that do not read
    /// their patches in place (padded or large kernels: stems, strided
    /// convolutions, wide 1×1 downsamples), whose in-place GEMM reads the
    /// weights themselves.
    Panels,
}

fn kept(g: &Conv2dGeom) -> Option<Kept> {
    match winograd::plan_prepared(g) {
        Some(p) => Some(Kept::Winograd(p)),
        None => (!reads_in_place(g)).then_some(Kept::Panels),
    }
}

/// Length of the kernel that `g`'s forward can keep between calls (see
/// `conv2d_prepare`): Winograd's transformed kernel `U` for a 3×3 stride-1
/// convolution with at least 16 channels in and out, else the weights packed
/// for the blocked GEMM, unless the forward reads patches in place (`None`).
pub fn prepared_kernel_len(g: &Conv2dGeom) -> Option<usize> {
    kept(g).map(|k| match k {
        Kept::Winograd(p) => winograd::WinoPlan::u_len(p.tile, g),
        Kept::Panels => g.w_len(),
    })
}

/// Transforms or packs the weights `w` into `u` (`prepared_kernel_len(g)`
/// elements) for `conv2d_fwd_prepared`. Rebuild it whenever `w` changes.
pub fn conv2d_prepare(g: &Conv2dGeom, w: &[f32], u: &mut [f32]) {
    debug_assert_eq!(Some(u.len()), prepared_kernel_len(g), "conv2d_prepare {g:?}: u");
    debug_assert_eq!(w.len(), g.w_len(), "conv2d_prepare {g:?}: w");
    match kept(g).expect("conv2d_prepare: a geometry with prepared_kernel_len") {
        Kept::Winograd(p) => winograd::prepare_kernel(g, p.tile, w, u),
        Kept::Panels => fwd::pack_panels(g, w, u),
    }
}

/// `conv2d_fwd_with` from the kept kernel `u` (`conv2d_prepare`). Winograd
/// runs at any batch and map size, without the per-call kernel transform,
/// and is then not bit-identical to `conv2d_fwd_with` where that takes
/// im2col (few tiles); kept panels give `conv2d_fwd_with`'s bits. `scratch`
/// holds at least `g.im2col_scratch_len()` elements.
pub fn conv2d_fwd_prepared(g: &Conv2dGeom, x: &[f32], u: &[f32], ep: Epilogue<'_>, y: &mut [f32], scratch: &mut [f32]) {
    debug_assert_eq!(x.len(), g.x_len(), "conv2d_fwd_prepared {g:?}: x");
    debug_assert_eq!(Some(u.len()), prepared_kernel_len(g), "conv2d_fwd_prepared {g:?}: u");
    debug_assert_eq!(y.len(), g.y_len(), "conv2d_fwd_prepared {g:?}: y");
    debug_assert!(ep.bias.is_none_or(|b| b.len() == g.c_out), "conv2d_fwd_prepared {g:?}: b");
    match kept(g).expect("conv2d_fwd_prepared: a geometry with prepared_kernel_len") {
        Kept::Winograd(p) => {
            debug_assert!(scratch.len() >= p.prepared_scratch_len(g), "conv2d_fwd_prepared {g:?}: scratch");
            winograd::fwd_prepared(g, &p, x, u, ep, y, scratch);
        }
        Kept::Panels => {
            debug_assert!(scratch.len() >= g.im2col_scratch_len(), "conv2d_fwd_prepared {g:?}: scratch");
            fwd::blocked_with(g, &fwd_plan(g), x, fwd::Weights::Panels(u), ep, y, scratch);
        }
    }
}

/// A forward algorithm, for benchmarks that compare the paths on one shape
/// (`lc_conv2d`'s passes 3 and 4); the executor always takes `conv2d_fwd`'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FwdPath {
    /// im2col + blocked GEMM, also where the dispatch would read the
    /// patches in place.
    Im2col,
    /// Winograd with the given tile (3×3 stride-1 convolutions only).
    Winograd(winograd::TileSize),
}

/// Scratch elements `conv2d_fwd_by` needs for `path`; `None` when the path
/// does not apply to `g`.
pub fn fwd_by_scratch_len(g: &Conv2dGeom, path: FwdPath) -> Option<usize> {
    match path {
        FwdPath::Im2col => Some(im2col_plan(g).scratch_len()),
        FwdPath::Winograd(tile) => winograd::plan_any(g, tile).map(|p| p.scratch_len(g)),
    }
}

/// `conv2d_fwd` by the given path (`scratch`: `fwd_by_scratch_len`). Returns
/// false, computing nothing, when the path does not apply to `g`.
pub fn conv2d_fwd_by(g: &Conv2dGeom, path: FwdPath, x: &[f32], w: &[f32], b: Option<&[f32]>, y: &mut [f32], scratch: &mut [f32]) -> bool {
    match path {
        FwdPath::Im2col => fwd::blocked(g, &im2col_plan(g), x, w, Epilogue::from(b), y, scratch),
        FwdPath::Winograd(tile) => match winograd::plan_any(g, tile) {
            Some(p) => winograd::fwd(g, &p, x, w, Epilogue::from(b), y, scratch),
            None => return false,
        },
    }
    true
}

/// `dx[n, ih, iw, ci] = sum dy[n, oh, ow, co] · w[kh, kw, ci, co]` over the
/// `(oh, ow, kh, kw)` with `oh·stride_h + kh - pad_top = ih` and
/// `ow·stride_w + kw - pad_left = iw`: the gradient of `L` w.r.t. `x` given
/// `dy = dL/dy` (layouts as `x` and `y`). `dx` is fully overwritten; `scratch`
/// holds at least `g.im2col_scratch_len()` elements.
pub fn conv2d_bwd_input(g: &Conv2dGeom, w: &[f32], dy: &[f32], dx: &mut [f32], scratch: &mut [f32]) {
    debug_assert_eq!(w.len(), g.w_len(), "conv2d_bwd_input {g:?}: w");
    debug_assert_eq!(dy.len(), g.y_len(), "conv2d_bwd_input {g:?}: dy");
    debug_assert_eq!(dx.len(), g.x_len(), "conv2d_bwd_input {g:?}: dx");
    debug_assert!(scratch.len() >= g.im2col_scratch_len(), "conv2d_bwd_input {g:?}: scratch");
    match transposed(g) {
        Some(t) => bwd_input::transposed_fwd(g, &t, &bwd_input::TransposedPlan::of(&t), w, dy, dx, scratch),
        None => strided_dx(g, &dx_plan(g), w, dy, dx, scratch),
    }
}

/// The input gradient of a convolution `transposed` does not take, as `p` says.
fn strided_dx(g: &Conv2dGeom, p: &DxPlan, w: &[f32], dy: &[f32], dx: &mut [f32], scratch: &mut [f32]) {
    if p.phases {
        subpixel::run(g, p.chunk_rows, p.parallel, w, dy, dx, scratch);
    } else {
        bwd_input::direct(g, p, w, dy, dx, scratch);
    }
}

/// `dw[kh, kw, ci, co] = sum_{n, oh, ow} x[n, oh·stride_h + kh - pad_top,
/// ow·stride_w + kw - pad_left, ci] · dy[n, oh, ow, co]` (i.e. `colsᵀ · dY`) and
/// `db[co] = sum_{n, oh, ow} dy[n, oh, ow, co]`: the gradients of `L` given
/// `dy = dL/dy`. `dw` (`[k_h, k_w, c_in, c_out]`) and `db` (`[c_out]`, when
/// given) are fully overwritten; `scratch` holds at least
/// `g.im2col_scratch_len()` elements. 3×3 stride-1 convolutions with enough
/// channels and tiles run on Winograd (`winograd::wgrad`), the rest on im2col.
pub fn conv2d_bwd_weight(
    g: &Conv2dGeom,
    x: &[f32],
    dy: &[f32],
    dw: &mut [f32],
    db: Option<&mut [f32]>,
    scratch: &mut [f32],
) {
    debug_assert_eq!(x.len(), g.x_len(), "conv2d_bwd_weight {g:?}: x");
    debug_assert_eq!(dy.len(), g.y_len(), "conv2d_bwd_weight {g:?}: dy");
    debug_assert_eq!(dw.len(), g.w_len(), "conv2d_bwd_weight {g:?}: dw");
    debug_assert!(db.as_ref().is_none_or(|db| db.len() == g.c_out), "conv2d_bwd_weight {g:?}: db");
    debug_assert!(scratch.len() >= g.im2col_scratch_len(), "conv2d_bwd_weight {g:?}: scratch");
    match winograd::wgrad::plan(g) {
        Some(p) => winograd::wgrad::bwd_weight(g, &p, x, dy, dw, db, scratch),
        None => bwd_weight::run(g, &wgrad_plan(g), x, dy, dw, db, scratch),
    }
}

/// Writes patch elements `p0 .. p0 + kc` (in `[kh, kw, ci]` order, like the
/// weights' rows) of the im2col rows of output pixels `row0 ..` into `cols`,
/// `kc` per row, as many rows as `cols` holds; padding taps become zeros.
/// Within a kernel row the taps inside the image are one contiguous run of
/// `x`, copied at once.
pub(crate) fn im2col_range(g: &Conv2dGeom, x: &[f32], row0: usize, p0: usize, kc: usize, cols: &mut [f32]) {
    if p0 == 0 && kc == g.patch_len() && g.taps_inside() {
        return im2col_inside(g, x, row0, cols);
    }
    let c = g.c_in;
    let kw_len = g.k_w * c;
    let p1 = p0 + kc;
    let kh_range = p0 / kw_len..(p1 - 1) / kw_len + 1;
    let mut ow = row0 % g.w_out;
    let mut oh = (row0 / g.w_out) % g.h_out;
    let mut n = row0 / (g.w_out * g.h_out);
    for row in cols.chunks_exact_mut(kc) {
        let ih0 = (oh * g.stride_h) as isize - g.pad_top as isize;
        // Taps kw_lo..kw_hi fall inside the image: elements lo..hi of each
        // kernel row's `k_w·c_in`.
        let (iw0, kws) = crate::taps::inside(ow, g.stride_w, g.pad_left, g.k_w, g.w_in);
        let (lo, hi) = (kws.start * c, kws.end * c);
        for kh in kh_range.clone() {
            // This row's elements s0..s1 of kernel row kh are wanted.
            let seg = kh * kw_len;
            let (s0, s1) = (p0.max(seg) - seg, p1.min(seg + kw_len) - seg);
            let dst = &mut row[seg + s0 - p0..seg + s1 - p0];
            let ih = ih0 + kh as isize;
            if ih < 0 || ih >= g.h_in as isize {
                zero(dst);
                continue;
            }
            let (a, b) = (lo.clamp(s0, s1), hi.clamp(lo.clamp(s0, s1), s1));
            zero(&mut dst[..a - s0]);
            if b > a {
                let pixel = ((n * g.h_in + ih as usize) * g.w_in) as isize + iw0;
                let src = (pixel * c as isize + a as isize) as usize;
                copy(&mut dst[a - s0..b - s0], &x[src..src + (b - a)]);
            }
            zero(&mut dst[b - s0..]);
        }
        ow += 1;
        if ow == g.w_out {
            ow = 0;
            oh += 1;
            if oh == g.h_out {
                oh = 0;
                n += 1;
            }
        }
    }
}

/// `im2col_range` of whole rows when every tap is inside the input (the
/// weight gradient of a valid convolution): each row is `k_h` copies of one
/// contiguous run, with none of the general path's per-run clipping (which
/// cost more than the copies for the BreakHis net's 9-float runs).
fn im2col_inside(g: &Conv2dGeom, x: &[f32], row0: usize, cols: &mut [f32]) {
    let run = g.k_w * g.c_in;
    let row_stride = g.w_in * g.c_in;
    for (row, start) in cols.chunks_exact_mut(g.patch_len()).zip(fwd::PatchStarts::new(g, row0)) {
        for (kh, dst) in row.chunks_exact_mut(run).enumerate() {
            copy(dst, &x[start + kh * row_stride..][..run]);
        }
    }
}

#[cfg(any(test, feature = "selftest"))]
pub(crate) mod tests;
