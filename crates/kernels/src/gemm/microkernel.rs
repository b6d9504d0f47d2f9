//! Register-tiled GEMM over one block of rows.
//!
//! A tile of `MR` rows × `8` columns of C lives in `MR × 2` four-lane
//! accumulators; for each `p` the tile loads two vectors of B's row `p` and
//! broadcasts one A element per row. A C of 16 to 32 columns (the BreakHis
//! net's first two convolutions, `n` = 16 and 32) is tiled `WIDE_MR` = 2 rows
//! × 16 columns instead: each broadcast A element then serves 16 columns and
//! each row's pass over `k` (three short runs of the input per output pixel
//! in a convolution read in place) is made once per 16 columns, not per 8
//! (BreakHis conv1 forward 1.4-1.5x, its packed-A GEMM on conv2's shape
//! 1.25-1.5x on one thread; wider C kept 4 × 8, which measured the same or
//! better). Column tails use 8 then 4 columns, then scalars; row tails use the
//! same code with a smaller `R`.
//!
//! The tile reads A through a `RowLayout`: a packed `m × k` matrix, or the
//! input of a valid convolution read in place (implicit im2col). Either way
//! each `C(i, j)` sums `A(i, p)·B(p, j)` over `p = 0..k` in order, so both
//! give the same bits for the same A values.

use super::epilogue::Epilogue;
use crate::simd::F32x4;

/// Rows per register tile. 4 rows × 2 vectors = 8 accumulators + 2 B vectors
/// + 1 broadcast fit the 16 vector registers of x86-64 hosts without spills.
pub const MR: usize = 4;
const NR: usize = 8;

/// Where row `i` of A lives in its buffer: `segments` runs of `seg_len`
/// consecutive elements, `seg_stride` apart, the first starting at the row's
/// base offset. Element `p = s·seg_len + q` of the row is
/// `data[base + s·seg_stride + q]`, so `k = segments·seg_len`.
#[derive(Debug, Clone, Copy)]
pub struct RowLayout {
    pub segments: usize,
    pub seg_len: usize,
    pub seg_stride: usize,
}

impl RowLayout {
    /// A packed row of `k` elements.
    pub fn packed(k: usize) -> Self {
        RowLayout { segments: 1, seg_len: k, seg_stride: k }
    }
}

/// `c_block = a_block · b` then the epilogue (bias, clamp), for
/// `rows = a_block.len() / k` packed rows.
pub fn gemm_block(k: usize, n: usize, a_block: &[f32], b: &[f32], ep: Epilogue<'_>, c_block: &mut [f32]) {
    let rows = a_block.len() / k;
    gemm_rows_with(RowLayout::packed(k), a_block, (0..rows).map(|i| i * k), n, b, ep, c_block);
}


/// `c_block = A · b` then the epilogue (bias, clamp), where A's rows are read
/// from `data` at the offsets `bases` yields, one per row of `c_block`
/// (`c_block.len() / n` rows). The register tile's shape comes from `n`
/// (`wide_tiles`); every shape sums each output in the same order, so the
/// choice never changes a bit.
pub fn gemm_rows_with(
    layout: RowLayout,
    data: &[f32],
    bases: impl Iterator<Item = usize>,
    n: usize,
    b: &[f32],
    ep: Epilogue<'_>,
    c_block: &mut [f32],
) {
    gemm_rows_strided(layout, data, bases, n, b, ep, OutRows { rows: c_block.len() / n, stride: n }, c_block);
}

/// Where a GEMM writes C: `rows` rows of `n` columns, row `i` at `c[i·stride..]`
/// (`stride >= n`). A stride above `n` writes C's rows straight into every
/// `stride / n`-th pixel of an image row (the strided input gradient's phases,
/// `conv2d/subpixel.rs`) instead of through a buffer and a copy per pixel.
#[derive(Debug, Clone, Copy)]
pub struct OutRows {
    pub rows: usize,
    pub stride: usize,
}

/// `gemm_rows_with` writing C's rows `out.stride` apart in `c`, which must
/// reach the last row's last column.
#[allow(clippy::too_many_arguments)]
pub fn gemm_rows_strided(
    layout: RowLayout,
    data: &[f32],
    bases: impl Iterator<Item = usize>,
    n: usize,
    b: &[f32],
    ep: Epilogue<'_>,
    out: OutRows,
    c: &mut [f32],
) {
    assert!(out.stride >= n, "gemm_rows_strided: row stride {} below {n} columns", out.stride);
    assert!(out.rows == 0 || c.len() >= (out.rows - 1) * out.stride + n, "gemm_rows_strided: {} rows {} apart do not fit {} floats", out.rows, out.stride, c.len());
    if wide_tiles(n) {
        rows_with::<WIDE_MR, WIDE_V>(layout, data, bases, n, b, ep, out, c);
    } else {
        rows_with::<MR, { NR / 4 }>(layout, data, bases, n, b, ep, out, c);
    }
}

/// Rows per wide register tile, and its four-lane vectors per row.
const WIDE_MR: usize = 2;
const WIDE_V: usize = 4;

/// Whether C's rows are tiled `WIDE_MR` rows × 16 columns instead of `MR` × 8:
/// for a narrow C (16 to 32 columns: the first convolutions of small nets)
/// each A element loaded then serves 16 columns, and a row's `k` loop is
/// entered once per 16 columns instead of once per 8.
#[inline(always)]
fn wide_tiles(n: usize) -> bool {
    (4 * WIDE_V..=32).contains(&n)
}

/// `gemm_rows_strided` with `R`-row tiles of `V` vectors (then narrower
/// column tiles for the last `n mod 4·V` columns).
#[allow(clippy::too_many_arguments)]
pub(super) fn rows_with<const R: usize, const V: usize>(
    layout: RowLayout,
    data: &[f32],
    mut bases: impl Iterator<Item = usize>,
    n: usize,
    b: &[f32],
    ep: Epilogue<'_>,
    out: OutRows,
    c: &mut [f32],
) {
    let OutRows { rows, stride } = out;
    let mut next = || bases.next().expect("gemm_rows: fewer row bases than rows");
    let mut i = 0;
    while i + R <= rows {
        let mut at = [0; R];
        at.iter_mut().for_each(|at| *at = next());
        row_tile::<R, V>(layout, n, stride, data, at, b, &ep, &mut c[i * stride..]);
        i += R;
    }
    match rows - i {
        0 => {}
        1 => row_tile::<1, V>(layout, n, stride, data, [next()], b, &ep, &mut c[i * stride..]),
        2 => row_tile::<2, V>(layout, n, stride, data, [next(), next()], b, &ep, &mut c[i * stride..]),
        3 => row_tile::<3, V>(layout, n, stride, data, [next(), next(), next()], b, &ep, &mut c[i * stride..]),
        _ => unreachable!("row tail is shorter than the tile"),
    }
}

/// All columns of `R` consecutive rows: tiles of `V` vectors, then (for
/// `V = 4`) one of 2 vectors, then one of 1, then single columns. Which
/// columns are vector lanes and which scalars does not depend on `V` (the
/// first `4·⌊n/4⌋` are lanes), so the relaxed artifact's fused multiply-adds
/// land on the same outputs whatever the tile.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn row_tile<const R: usize, const V: usize>(layout: RowLayout, n: usize, ldc: usize, a: &[f32], at: [usize; R], b: &[f32], ep: &Epilogue<'_>, c: &mut [f32]) {
    let mut j = 0;
    while j + 4 * V <= n {
        tile::<R, V>(layout, n, ldc, j, a, at, b, ep, c);
        j += 4 * V;
    }
    if V > 2 && j + 8 <= n {
        tile::<R, 2>(layout, n, ldc, j, a, at, b, ep, c);
        j += 8;
    }
    if V > 1 && j + 4 <= n {
        tile::<R, 1>(layout, n, ldc, j, a, at, b, ep, c);
        j += 4;
    }
    for col in j..n {
        scalar_column::<R>(layout, n, ldc, col, a, at, b, ep, c);
    }
}

/// `R` rows × `V` vectors (4·V columns) starting at column `j`; row `r` of A
/// starts at `a[at[r]]`, row `r` of C at `c[r·ldc]`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn tile<const R: usize, const V: usize>(
    layout: RowLayout,
    n: usize,
    ldc: usize,
    j: usize,
    a: &[f32],
    at: [usize; R],
    b: &[f32],
    ep: &Epilogue<'_>,
    c: &mut [f32],
) {
    let mut acc = [[F32x4::zero(); V]; R];
    assert!(j + 4 * V <= n, "gemm tile: columns {j}..{} outside {n}", j + 4 * V);
    for s in 0..layout.segments {
        let seg: [&[f32]; R] = core::array::from_fn(|r| &a[at[r] + s * layout.seg_stride..][..layout.seg_len]);
        // B's rows of this segment, indexed without a check per row:
        // `chunks_exact` computed a remainder (an integer division) per
        // segment and checked every row, which cost a convolution with short
        // segments (3 pixels × 3 channels, BreakHis conv1) as much as its
        // multiply-adds.
        let b_seg = &b[s * layout.seg_len * n..][..layout.seg_len * n];
        for q in 0..layout.seg_len {
            // SAFETY: q < seg_len and j + 4·V <= n (asserted before the loop), so
            // q·n + j + 4·V <= seg_len·n = b_seg.len().
            let b_row = unsafe { b_seg.get_unchecked(q * n + j..q * n + j + 4 * V) };
            if V > 2 {
                // Wide tiles: each B vector meets every row as soon as it is
                // loaded, so one is live at a time and a 2 × 16 tile's 8
                // accumulators, 2 broadcasts and 1 B vector stay in the 15
                // vector registers V8 allocates on x86-64 (with all 4 B
                // vectors live, its unrolled loop spilled accumulators).
                let av: [F32x4; R] = core::array::from_fn(|r| F32x4::splat(seg[r][q]));
                for v in 0..V {
                    let bv = F32x4::load(&b_row[4 * v..]);
                    for r in 0..R {
                        acc[r][v] = acc[r][v].mul_add(av[r], bv);
                    }
                }
            } else {
                let bv: [F32x4; V] = core::array::from_fn(|v| F32x4::load(&b_row[4 * v..]));
                for r in 0..R {
                    let av = F32x4::splat(seg[r][q]);
                    for v in 0..V {
                        acc[r][v] = acc[r][v].mul_add(av, bv[v]);
                    }
                }
            }
        }
    }
    for r in 0..R {
        for v in 0..V {
            let col = j + 4 * v;
            ep.apply4(acc[r][v], col).store(&mut c[r * ldc + col..]);
        }
    }
}

/// One column of `R` rows, in the same summation order as the vector tiles.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn scalar_column<const R: usize>(
    layout: RowLayout,
    n: usize,
    ldc: usize,
    col: usize,
    a: &[f32],
    at: [usize; R],
    b: &[f32],
    ep: &Epilogue<'_>,
    c: &mut [f32],
) {
    let mut acc = [0.0f32; R];
    for s in 0..layout.segments {
        let seg: [&[f32]; R] = core::array::from_fn(|r| &a[at[r] + s * layout.seg_stride..][..layout.seg_len]);
        let b_seg = &b[s * layout.seg_len * n..];
        for q in 0..layout.seg_len {
            let bv = b_seg[q * n + col];
            for r in 0..R {
                acc[r] += seg[r][q] * bv;
            }
        }
    }
    for r in 0..R {
        c[r * ldc + col] = ep.apply1(acc[r], col);
    }
}
