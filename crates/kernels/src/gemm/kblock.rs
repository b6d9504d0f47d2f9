//! One k-block of a cache-blocked GEMM: `C (+)= A · B` where `A` is a packed
//! `rows × kc` block (e.g. an im2col slice, see `conv2d::blocked`), `B` a
//! `kc × cols` window of a larger row-major matrix and `C` a `rows × cols`
//! window of another. Callers cut the reduction into k-blocks and run them in
//! order with `first` on the first and the bias on the last, so a block of `A`
//! (L2) and a column panel of `B` are reused from cache across the whole block
//! instead of `B` being streamed from memory once per `MR` rows.
//!
//! Each `C(i, j)` is `sum_p A(i,p)·B(p,j)` accumulated in `p` order from zero
//! (carried through `C` between k-blocks, an exact f32 store and reload), then
//! `+ bias(j)`: the same sequence of roundings as `gemm`, whatever the
//! k-blocking. Register tiles of `MR` rows × `NR` columns (see `MR`).

use super::tile::fma_step;
use crate::simd::F32x4;

/// Register tile: `MR` rows × `NR` columns, 9 four-lane accumulators. Each
/// accumulator's multiply-add waits on its previous one (4 cycles on current
/// x86), and two issue per cycle: 8 accumulators (the 4 × 8 tile) leave no
/// slack for the loads and address arithmetic V8 emits between them, 9 do
/// (ResNet-18 inference 1.03-1.05x, bit-identical). 12 or more (4 × 12,
/// 5 × 8, 6 × 8) exceed the 15 vector registers V8 allocates and spill.
pub(crate) const MR: usize = 3;
pub(crate) const NR: usize = 12;
/// Narrower panels for the columns after the full `NR`-wide ones, widest
/// first; each runs the `MR`-row tile at its width.
const TAIL_PANELS: [usize; 2] = [8, 4];

/// Where `C` and `B` live: their row strides (`ldb`, `ldc` elements) and the
/// block's size.
#[derive(Debug, Clone, Copy)]
pub struct KBlock {
    pub rows: usize,
    pub kc: usize,
    pub cols: usize,
    pub ldb: usize,
    pub ldc: usize,
}

/// Scratch elements `gemm_kblock` needs for its packed `B` panel.
pub fn kblock_panel_len(kc: usize) -> usize {
    kc * NR
}

/// `c = a · b` (`first`) or `c += a · b`, then `+ bias` when given: `a` holds
/// `rows × kc` packed, row `p` of `B` is `b[p·ldb..][..cols]`, row `i` of `C`
/// is `c[i·ldc..][..cols]`. Each column panel of `B` (`panels`) is first copied
/// into `panel` (`kblock_panel_len(kc)` elements): `kc × 12` contiguous floats stay
/// in L1 while the row tiles sweep `A`, where the panel's rows in `b` (one
/// `ldb` apart, often a multiple of 4 KiB) would map to a few cache sets.
///
/// Never inlined: inlined into the im2col forward's block loop
/// (`conv2d::fwd`), V8 compiled the combined function to code that ran its
/// GEMMs about 1.5x slower (ResNet-18's training forward 1.11x slower in
/// all, `perf`); called, it gets a function of its own.
#[inline(never)]
pub fn gemm_kblock(k: KBlock, a: &[f32], b: &[f32], c: &mut [f32], first: bool, bias: Option<&[f32]>, panel: &mut [f32]) {
    debug_assert!(a.len() >= k.rows * k.kc, "gemm_kblock {k:?}: a");
    debug_assert!(k.kc == 0 || b.len() >= (k.kc - 1) * k.ldb + k.cols, "gemm_kblock {k:?}: b");
    debug_assert!(k.rows == 0 || c.len() >= (k.rows - 1) * k.ldc + k.cols, "gemm_kblock {k:?}: c");
    debug_assert!(bias.is_none_or(|bias| bias.len() >= k.cols), "gemm_kblock {k:?}: bias");
    for (j, width) in panels(k.cols) {
        match width {
            NR => row_tiles::<{ NR / 4 }>(k, j, a, pack_panel::<NR>(k, j, b, panel), c, first, bias),
            8 => row_tiles::<2>(k, j, a, pack_panel::<8>(k, j, b, panel), c, first, bias),
            4 => row_tiles::<1>(k, j, a, pack_panel::<4>(k, j, b, panel), c, first, bias),
            _ => (j..j + width).for_each(|col| scalar_column(k, col, a, b, col, c, first, bias)),
        }
    }
}

/// Index in a pre-packed `B` (`gemm_kblock_packed`) of element `(q, col)` of
/// a `kc × cols` block: the column panels `gemm_kblock` would pack (`NR`
/// wide, then one of each `TAIL_PANELS` width that still fits, then the last
/// 0-3 columns), each stored whole, `kc` rows of its width.
#[inline(always)]
pub fn packed_b_index(kc: usize, cols: usize, q: usize, col: usize) -> usize {
    let (start, width) = panel_of(cols, col);
    start * kc + q * width + col - start
}

/// The first column and the width of the packed panel that holds column
/// `col` of `cols`.
#[inline(always)]
fn panel_of(cols: usize, col: usize) -> (usize, usize) {
    if col < cols / NR * NR {
        return (col / NR * NR, NR);
    }
    tail_panels(cols).find(|&(start, width)| col < start + width).expect("col < cols")
}

/// The column panels of a `cols`-wide block in order, as (first column,
/// width): `NR` wide, then `tail_panels`. The GEMMs dispatch on the width
/// (`NR` and each `TAIL_PANELS` width has its tile; the last 0-3 columns run
/// one at a time), and `packed_b_index` lays `B` out by the same panels.
#[inline(always)]
pub(crate) fn panels(cols: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..cols / NR).map(|p| (p * NR, NR)).chain(tail_panels(cols))
}

/// The panels after the full `NR`-wide ones: one of each `TAIL_PANELS`
/// width that still fits, then the last 0-3 columns as one panel; empty ones
/// left out.
#[inline(always)]
fn tail_panels(cols: usize) -> impl Iterator<Item = (usize, usize)> {
    let mut start = cols / NR * NR;
    let mut tails = [(0, 0); TAIL_PANELS.len() + 1];
    for (tail, w) in tails.iter_mut().zip(TAIL_PANELS) {
        if cols - start >= w {
            *tail = (start, w);
            start += w;
        }
    }
    tails[TAIL_PANELS.len()] = (start, cols - start);
    tails.into_iter().filter(|&(_, width)| width > 0)
}

/// `gemm_kblock` with `B` already packed (`packed_b_index` gives the layout,
/// `kc · cols` elements): for a `B` that many blocks reuse (Winograd's
/// transformed kernels), so no panel is copied per call. Same sums, same bits.
pub fn gemm_kblock_packed(k: KBlock, a: &[f32], bp: &[f32], c: &mut [f32], first: bool, bias: Option<&[f32]>) {
    debug_assert!(a.len() >= k.rows * k.kc && bp.len() >= k.kc * k.cols, "gemm_kblock_packed {k:?}");
    debug_assert!(k.rows == 0 || c.len() >= (k.rows - 1) * k.ldc + k.cols, "gemm_kblock_packed {k:?}: c");
    for (j, width) in panels(k.cols) {
        let bp = &bp[j * k.kc..][..k.kc * width];
        match width {
            NR => row_tiles::<{ NR / 4 }>(k, j, a, bp, c, first, bias),
            8 => row_tiles::<2>(k, j, a, bp, c, first, bias),
            4 => row_tiles::<1>(k, j, a, bp, c, first, bias),
            _ => {
                let tail = KBlock { ldb: width, ..k };
                (j..j + width).for_each(|col| scalar_column(tail, col, a, bp, col - j, c, first, bias));
            }
        }
    }
}

/// Columns `j..j + W` of `B`'s `kc` rows, packed `W` per row.
#[inline(always)]
fn pack_panel<'p, const W: usize>(k: KBlock, j: usize, b: &[f32], panel: &'p mut [f32]) -> &'p [f32] {
    let panel = &mut panel[..k.kc * W];
    for (q, dst) in panel.chunks_exact_mut(W).enumerate() {
        dst.copy_from_slice(&b[q * k.ldb + j..][..W]);
    }
    panel
}

/// Columns `j..j + 4·V` of every row from the packed panel `bp`.
#[inline(always)]
fn row_tiles<const V: usize>(k: KBlock, j: usize, a: &[f32], bp: &[f32], c: &mut [f32], first: bool, bias: Option<&[f32]>) {
    let mut i = 0;
    while i + MR <= k.rows {
        tile::<MR, V>(k, i, j, a, bp, c, first, bias);
        i += MR;
    }
    match k.rows - i {
        0 => {}
        1 => tile::<1, V>(k, i, j, a, bp, c, first, bias),
        2 => tile::<2, V>(k, i, j, a, bp, c, first, bias),
        _ => unreachable!("row tail is shorter than MR"),
    }
}

/// Rows `i..i + R`, columns `j..j + 4·V` (`bp`: those columns of `B`, packed).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn tile<const R: usize, const V: usize>(
    k: KBlock,
    i: usize,
    j: usize,
    a: &[f32],
    bp: &[f32],
    c: &mut [f32],
    first: bool,
    bias: Option<&[f32]>,
) {
    let kc = k.kc;
    let mut acc = [[F32x4::zero(); V]; R];
    if !first {
        for r in 0..R {
            for v in 0..V {
                acc[r][v] = F32x4::load(&c[(i + r) * k.ldc + j + 4 * v..]);
            }
        }
    }
    // Pointers, not the panel's `chunks_exact(..).take(kc)`: V8 compiled the
    // iterator's loop with an emptiness test and two address sums more per
    // step; this loop ran ResNet-18's inference 1.07x faster at batch 1 and
    // 1.05x at batch 32 (1 thread, same bits). The slices are cut to length
    // here, so the checks stay: each pointer's range is in bounds.
    let a_rows: [*const f32; R] = core::array::from_fn(|r| a[(i + r) * kc..][..kc].as_ptr());
    let b_rows = bp[..kc * 4 * V].as_ptr();
    for q in 0..kc {
        // SAFETY: q < kc, each row of `a_rows` holds kc elements and `b_rows` kc * 4V (sliced above).
        unsafe {
            let b_row = b_rows.add(q * 4 * V);
            let bv: [F32x4; V] = core::array::from_fn(|v| F32x4::load_ptr(b_row.add(4 * v)));
            fma_step(&mut acc, core::array::from_fn(|r| *a_rows[r].add(q)), &bv);
        }
    }
    for r in 0..R {
        for v in 0..V {
            let col = j + 4 * v;
            let out = match bias {
                Some(bias) => acc[r][v].add(F32x4::load(&bias[col..])),
                None => acc[r][v],
            };
            out.store(&mut c[(i + r) * k.ldc + col..]);
        }
    }
}

/// Column `col` of every row (column `b_col` of `b`, rows `k.ldb` apart), in
/// the same summation order as the tiles.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn scalar_column(k: KBlock, col: usize, a: &[f32], b: &[f32], b_col: usize, c: &mut [f32], first: bool, bias: Option<&[f32]>) {
    for i in 0..k.rows {
        let a_row = &a[i * k.kc..][..k.kc];
        let mut acc = if first { 0.0 } else { c[i * k.ldc + col] };
        for (q, b_row) in b.chunks(k.ldb).take(k.kc).enumerate() {
            acc += a_row[q] * b_row[b_col];
        }
        c[i * k.ldc + col] = match bias {
            Some(bias) => acc + bias[col],
            None => acc,
        };
    }
}
