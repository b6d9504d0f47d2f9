//! Register-tiled GEMM over one block of rows.
//!
//! A tile of `MR` rows × `8` columns of C lives in `MR × 2` four-lane
//! accumulators; for each `p` the tile loads two vectors of B's row `p` and
//! broadcasts one A element per row. Column tails use one vector (4 columns),
//! then scalars; row tails use the same code with a smaller `R`.

use crate::simd::F32x4;

/// Rows per register tile. 4 rows × 2 vectors = 8 accumulators + 2 B vectors
/// + 1 broadcast fit the 16 vector registers of x86-64 hosts without spills.
pub const MR: usize = 4;
const NR: usize = 8;

/// `c_block = a_block · b (+ bias)` for `rows = a_block.len() / k` rows.
pub fn gemm_block(k: usize, n: usize, a_block: &[f32], b: &[f32], bias: Option<&[f32]>, c_block: &mut [f32]) {
    let rows = a_block.len() / k;
    let mut i = 0;
    while i + MR <= rows {
        row_tile::<MR>(k, n, &a_block[i * k..], b, bias, &mut c_block[i * n..]);
        i += MR;
    }
    match rows - i {
        0 => {}
        1 => row_tile::<1>(k, n, &a_block[i * k..], b, bias, &mut c_block[i * n..]),
        2 => row_tile::<2>(k, n, &a_block[i * k..], b, bias, &mut c_block[i * n..]),
        3 => row_tile::<3>(k, n, &a_block[i * k..], b, bias, &mut c_block[i * n..]),
        _ => unreachable!("row tail is shorter than MR"),
    }
}

/// All columns of `R` consecutive rows.
#[inline(always)]
fn row_tile<const R: usize>(k: usize, n: usize, a: &[f32], b: &[f32], bias: Option<&[f32]>, c: &mut [f32]) {
    let mut j = 0;
    while j + NR <= n {
        tile::<R, 2>(k, n, j, a, b, bias, c);
        j += NR;
    }
    if j + 4 <= n {
        tile::<R, 1>(k, n, j, a, b, bias, c);
        j += 4;
    }
    for col in j..n {
        scalar_column::<R>(k, n, col, a, b, bias, c);
    }
}

/// `R` rows × `V` vectors (4·V columns) starting at column `j`.
#[inline(always)]
fn tile<const R: usize, const V: usize>(
    k: usize,
    n: usize,
    j: usize,
    a: &[f32],
    b: &[f32],
    bias: Option<&[f32]>,
    c: &mut [f32],
) {
    let mut acc = [[F32x4::zero(); V]; R];
    for p in 0..k {
        let b_row = &b[p * n + j..];
        let bv: [F32x4; V] = core::array::from_fn(|v| F32x4::load(&b_row[4 * v..]));
        for r in 0..R {
            let av = F32x4::splat(a[r * k + p]);
            for v in 0..V {
                acc[r][v] = acc[r][v].mul_add(av, bv[v]);
            }
        }
    }
    for r in 0..R {
        for v in 0..V {
            let col = j + 4 * v;
            let out = match bias {
                Some(bias) => acc[r][v].add(F32x4::load(&bias[col..])),
                None => acc[r][v],
            };
            out.store(&mut c[r * n + col..]);
        }
    }
}

/// One column of `R` rows, in the same summation order as the vector tiles.
#[inline(always)]
fn scalar_column<const R: usize>(
    k: usize,
    n: usize,
    col: usize,
    a: &[f32],
    b: &[f32],
    bias: Option<&[f32]>,
    c: &mut [f32],
) {
    let mut acc = [0.0f32; R];
    for p in 0..k {
        let bv = b[p * n + col];
        for r in 0..R {
            acc[r] += a[r * k + p] * bv;
        }
    }
    for r in 0..R {
        c[r * n + col] = acc[r] + bias.map_or(0.0, |bias| bias[col]);
    }
}
