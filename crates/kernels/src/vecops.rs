//! Element-wise loops over channel vectors, written once against `F32x4` with
//! scalar tails. Each lane does exactly what the scalar tail does (separate
//! multiply and add), so results do not depend on where a vector starts.

use crate::simd::F32x4;

/// `acc[i] += x[i]`.
#[inline]
pub fn add_assign(acc: &mut [f32], x: &[f32]) {
    debug_assert_eq!(acc.len(), x.len());
    let n = acc.len();
    let mut i = 0;
    while i + 4 <= n {
        F32x4::load(&acc[i..]).add(F32x4::load(&x[i..])).store(&mut acc[i..]);
        i += 4;
    }
    for j in i..n {
        acc[j] += x[j];
    }
}

/// `sums = Σ_r rows[r]` over the `sums.len()`-wide rows of `rows`, added in
/// row order from zero (a bias gradient: `db = Σ dy` over the pixels).
pub fn sum_rows(rows: &[f32], sums: &mut [f32]) {
    sums.fill(0.0);
    crate::columns::add_column_sums(sums, rows);
}

/// `acc[i] *= s`.
#[inline]
pub fn scale_assign(acc: &mut [f32], s: f32) {
    let n = acc.len();
    let sv = F32x4::splat(s);
    let mut i = 0;
    while i + 4 <= n {
        F32x4::load(&acc[i..]).mul(sv).store(&mut acc[i..]);
        i += 4;
    }
    for v in &mut acc[i..] {
        *v *= s;
    }
}

/// `acc[i] += a · x[i]`.
#[inline]
pub fn axpy(acc: &mut [f32], a: f32, x: &[f32]) {
    debug_assert_eq!(acc.len(), x.len());
    let n = acc.len();
    let av = F32x4::splat(a);
    let mut i = 0;
    while i + 4 <= n {
        F32x4::load(&acc[i..]).mul_add(av, F32x4::load(&x[i..])).store(&mut acc[i..]);
        i += 4;
    }
    for j in i..n {
        acc[j] += a * x[j];
    }
}

/// `dst[i] = a[i] · b[i]`.
#[inline]
pub fn mul_into(dst: &mut [f32], a: &[f32], b: &[f32]) {
    debug_assert!(a.len() == dst.len() && b.len() == dst.len());
    let n = dst.len();
    let mut i = 0;
    while i + 4 <= n {
        F32x4::load(&a[i..]).mul(F32x4::load(&b[i..])).store(&mut dst[i..]);
        i += 4;
    }
    for j in i..n {
        dst[j] = a[j] * b[j];
    }
}

/// `acc[i] += a[i] · b[i]` (fused in the relaxed artifact, as `axpy`).
#[inline]
pub fn mul_add_assign(acc: &mut [f32], a: &[f32], b: &[f32]) {
    debug_assert!(a.len() == acc.len() && b.len() == acc.len());
    let n = acc.len();
    let mut i = 0;
    while i + 4 <= n {
        F32x4::load(&acc[i..]).mul_add(F32x4::load(&a[i..]), F32x4::load(&b[i..])).store(&mut acc[i..]);
        i += 4;
    }
    for j in i..n {
        acc[j] += a[j] * b[j];
    }
}

/// `out = p_0 + p_1 + ... + p_{groups-1}`, added in that order, where
/// `p_g = parts[g·stride + offset..][..out.len()]`: how per-group partial
/// reductions (a weight gradient's) are combined in a fixed order.
pub fn sum_partials_in_order(parts: &[f32], stride: usize, groups: usize, offset: usize, out: &mut [f32]) {
    debug_assert!(groups >= 1);
    let len = out.len();
    out.copy_from_slice(&parts[offset..offset + len]);
    for g in 1..groups {
        let start = g * stride + offset;
        add_assign(out, &parts[start..start + len]);
    }
}

/// Runs shorter than this are copied element by element: im2col moves many
/// short runs (9 floats per kernel row for a 3×3 kernel over 3 channels), and
/// in wasm each `copy_from_slice`/`fill` becomes a `memory.copy`/`memory.fill`
/// whose fixed cost dominates such short runs (measured: im2col took 2x the
/// GEMM's time on the BreakHis first layer before this).
const SHORT_RUN: usize = 32;

/// `dst = src`, as vector moves for short runs, so that LLVM cannot turn the
/// short loop back into a memcpy. The last 1-3 elements of a run of 4 or more
/// are moved by one more vector ending at the run's end (it rewrites up to 3
/// elements with the same values): an element loop for them became a
/// `memory.copy` of 4-12 bytes, which V8 runs as a call into the C library's
/// memmove (13% of the BreakHis first layer's weight gradient).
#[inline(always)]
pub fn copy(dst: &mut [f32], src: &[f32]) {
    debug_assert_eq!(dst.len(), src.len());
    let len = dst.len();
    if len > SHORT_RUN {
        dst.copy_from_slice(src);
        return;
    }
    if len < 4 {
        return copy_few(dst, src);
    }
    let mut i = 0;
    while i + 4 <= len {
        F32x4::load(&src[i..]).store(&mut dst[i..]);
        i += 4;
    }
    if i < len {
        F32x4::load(&src[len - 4..]).store(&mut dst[len - 4..]);
    }
}

/// `dst = src` for fewer than 4 elements, one assignment per length (a loop
/// would become a `memory.copy`; see `copy`).
#[inline(always)]
fn copy_few(dst: &mut [f32], src: &[f32]) {
    match (dst, src) {
        ([], []) => {}
        ([d0], [s0]) => *d0 = *s0,
        ([d0, d1], [s0, s1]) => (*d0, *d1) = (*s0, *s1),
        ([d0, d1, d2], [s0, s1, s2]) => (*d0, *d1, *d2) = (*s0, *s1, *s2),
        _ => unreachable!("copy_few: fewer than 4 elements of equal length"),
    }
}

/// `dst = 0`, as vector stores for short runs (see `copy`: the last 1-3
/// elements by one more vector ending at the run's end, fewer than 4 by
/// `copy_few` from zeros).
#[inline(always)]
pub fn zero(dst: &mut [f32]) {
    let len = dst.len();
    if len > SHORT_RUN {
        dst.fill(0.0);
        return;
    }
    if len < 4 {
        return copy_few(dst, &[0.0; 3][..len]);
    }
    let mut i = 0;
    while i + 4 <= len {
        F32x4::zero().store(&mut dst[i..]);
        i += 4;
    }
    if i < len {
        F32x4::zero().store(&mut dst[len - 4..]);
    }
}

/// Side of the square blocks `transpose` moves: a block's rows and columns
/// both stay within a few cache lines.
const TRANSPOSE_BLOCK: usize = 16;

/// `dst[c·rows + r] = src[r·cols + c]`: `dst` is `src` (`rows × cols`,
/// row-major) transposed. In square blocks, so that a large matrix (a dense
/// layer's 2304 × 128 kernel) is not written one cache line per element.
pub fn transpose(src: &[f32], rows: usize, cols: usize, dst: &mut [f32]) {
    assert_eq!(src.len(), rows * cols, "transpose: src is not {rows}x{cols}");
    assert_eq!(dst.len(), rows * cols, "transpose: dst is not {cols}x{rows}");
    for r0 in (0..rows).step_by(TRANSPOSE_BLOCK) {
        let r1 = (r0 + TRANSPOSE_BLOCK).min(rows);
        for c0 in (0..cols).step_by(TRANSPOSE_BLOCK) {
            let c1 = (c0 + TRANSPOSE_BLOCK).min(cols);
            // Whole 4 × 4 tiles through registers (four loads, eight
            // shuffles, four stores: a Dense layer's 2304 × 128 weights were
            // transposed an element at a time in 0.7 ms), then the block's
            // ragged right and bottom edges element by element.
            let (r4, c4) = (r0 + (r1 - r0) / 4 * 4, c0 + (c1 - c0) / 4 * 4);
            for r in (r0..r4).step_by(4) {
                for c in (c0..c4).step_by(4) {
                    let tile = F32x4::transpose4(core::array::from_fn(|i| F32x4::load(&src[(r + i) * cols + c..])));
                    for (i, v) in tile.into_iter().enumerate() {
                        v.store(&mut dst[(c + i) * rows + r..]);
                    }
                }
            }
            for r in r0..r1 {
                let from = if r < r4 { c4 } else { c0 };
                for c in from..c1 {
                    dst[c * rows + r] = src[r * cols + c];
                }
            }
        }
    }
}

#[cfg(any(test, feature = "selftest"))]
pub(crate) mod tests {
    use super::{copy, transpose, zero, SHORT_RUN};

    crate::kernel_tests! {
        fn copy_and_zero_write_exactly_their_run_at_every_length_and_offset() {
            // Every run length through the short path's vector, overlapping-tail
            // and few-element cases into the long path, at every offset in a vector:
            // the run gets the source's bits (or +0) and nothing around it changes.
            let src: Vec<f32> = (0..SHORT_RUN + 16).map(|i| i as f32 * 0.25 - 5.0).collect();
            for len in 0..=SHORT_RUN + 9 {
                for at in 0..4 {
                    let mut dst = vec![f32::NAN; len + 8];
                    copy(&mut dst[at..at + len], &src[3..3 + len]);
                    for (i, v) in dst.iter().enumerate() {
                        let want = if (at..at + len).contains(&i) { src[3 + i - at] } else { f32::NAN };
                        assert_eq!(v.to_bits(), want.to_bits(), "copy of {len} at {at}: element {i}");
                    }
                    let mut dst = vec![f32::NAN; len + 8];
                    zero(&mut dst[at..at + len]);
                    for (i, v) in dst.iter().enumerate() {
                        let want = if (at..at + len).contains(&i) { 0.0f32 } else { f32::NAN };
                        assert_eq!(v.to_bits(), want.to_bits(), "zero of {len} at {at}: element {i}");
                    }
                }
            }
        }

        fn transpose_matches_the_definition_on_awkward_shapes() {
            for (rows, cols) in [(1, 1), (1, 7), (7, 1), (15, 17), (16, 16), (33, 5), (2304, 128), (3, 2304)] {
                let src: Vec<f32> = (0..rows * cols).map(|i| i as f32 * 0.5 - 3.0).collect();
                let mut dst = vec![f32::NAN; rows * cols];
                transpose(&src, rows, cols, &mut dst);
                for r in 0..rows {
                    for c in 0..cols {
                        assert_eq!(dst[c * rows + r].to_bits(), src[r * cols + c].to_bits(), "{rows}x{cols} at ({r}, {c})");
                    }
                }
            }
        }
    }
}
