//! Deterministic per-channel reductions over row chunks (see the module doc
//! of `batchnorm`), and the element-wise driver over the same chunks.

use crate::geom::BatchNormGeom;
use crate::par;

/// Target elements per chunk.
const CHUNK_TARGET: usize = 1 << 12;

/// Below this many elements a pass runs serially.
const PARALLEL_MIN: usize = 1 << 15;

/// Rows per chunk, from the channel count alone.
pub fn rows_per_chunk(g: &BatchNormGeom) -> usize {
    (CHUNK_TARGET / g.c).max(1)
}

pub(super) fn chunks(g: &BatchNormGeom) -> usize {
    g.rows.div_ceil(rows_per_chunk(g))
}

/// f32 elements of scratch the kernels need: `4·c` per-channel coefficients
/// plus `2·c` partial sums per chunk.
pub fn scratch_len(g: &BatchNormGeom) -> usize {
    4 * g.c + chunks(g) * 2 * g.c
}

fn parallel(g: &BatchNormGeom) -> bool {
    g.len() >= PARALLEL_MIN
}

/// Fills one slot of `width = sums · c` partials per chunk: zeroes it, then
/// `f(row0, nrows, slot)` adds that chunk's rows in row order.
pub(super) fn partials(g: &BatchNormGeom, parts: &mut [f32], sums: usize, f: impl Fn(usize, usize, &mut [f32]) + Sync + Send) {
    let width = sums * g.c;
    let rpc = rows_per_chunk(g);
    let parts = &mut parts[..chunks(g) * width];
    par::for_each_chunk_mut(parts, width, parallel(g), |i, slot| {
        slot.fill(0.0);
        let row0 = i * rpc;
        f(row0, rpc.min(g.rows - row0), slot);
    });
}

/// For each `j < width`, adds the partials `parts[i·width + j]` over chunks
/// `i = 0, 1, ...` in order, in f64, and passes the total to `out(j, total)`.
pub(super) fn combine(parts: &[f32], chunks: usize, width: usize, mut out: impl FnMut(usize, f64)) {
    for j in 0..width {
        let mut s = 0.0f64;
        for i in 0..chunks {
            s += parts[i * width + j] as f64;
        }
        out(j, s);
    }
}

/// Runs `f(row0, rows)` over `out` (`[rows, c]`) in the same row chunks.
pub(super) fn for_each_row_chunk(g: &BatchNormGeom, out: &mut [f32], f: impl Fn(usize, &mut [f32]) + Sync + Send) {
    let rpc = rows_per_chunk(g);
    par::for_each_chunk_mut(out, rpc * g.c, parallel(g), |i, rows| f(i * rpc, rows));
}
