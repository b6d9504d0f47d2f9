//! Merging tensors: elementwise sums of inputs of one shape (residual
//! connections) and concatenation of NHWC tensors along the channel axis.
//! Every output element is written once, independently of the others, in
//! fixed chunks, so results never depend on the thread count.

use crate::par;
use crate::vecops;

/// Elements per parallel chunk.
const CHUNK: usize = 1 << 14;
/// Below this many elements a pass runs serially.
const PARALLEL_MIN: usize = 1 << 15;

/// `y = x₀ + x₁ + … + x_{k-1}` elementwise, summed in input order
/// (`((x₀ + x₁) + x₂) + …`). Every input has `y.len()` elements; `k >= 1`.
pub fn add_fwd(inputs: &[&[f32]], y: &mut [f32]) {
    debug_assert!(!inputs.is_empty() && inputs.iter().all(|x| x.len() == y.len()), "add_fwd: input lengths");
    par::for_each_chunk_mut(y, CHUNK, y.len() >= PARALLEL_MIN, |i, out| {
        let at = i * CHUNK;
        out.copy_from_slice(&inputs[0][at..at + out.len()]);
        for x in &inputs[1..] {
            vecops::add_assign(out, &x[at..at + out.len()]);
        }
    });
}

/// Concatenation along the channel axis: `parts` are `(x, c)` with `x` of
/// `pixels × c` values (NHWC, `pixels = n·h·w`); `y` has `pixels × Σc`
/// values, each pixel's channels being the parts' channels in order.
pub fn concat_channels_fwd(pixels: usize, parts: &[(&[f32], usize)], y: &mut [f32]) {
    let c_total: usize = parts.iter().map(|p| p.1).sum();
    debug_assert_eq!(y.len(), pixels * c_total, "concat_channels_fwd: y");
    debug_assert!(parts.iter().all(|(x, c)| x.len() == pixels * c), "concat_channels_fwd: parts");
    let rows = (CHUNK / c_total.max(1)).max(1);
    par::for_each_chunk_mut(y, rows * c_total, y.len() >= PARALLEL_MIN, |i, out| {
        for (r, row) in out.chunks_exact_mut(c_total).enumerate() {
            let p = i * rows + r;
            let mut at = 0;
            for &(x, c) in parts {
                row[at..at + c].copy_from_slice(&x[p * c..(p + 1) * c]);
                at += c;
            }
        }
    });
}

/// The backward of `concat_channels_fwd`: each part's slice of `dy`'s
/// channels, written into that part's buffer (`pixels × c`, overwritten).
pub fn concat_channels_bwd(dy: &[f32], parts: &mut [(&mut [f32], usize)]) {
    let c_total: usize = parts.iter().map(|p| p.1).sum();
    let pixels = if c_total == 0 { 0 } else { dy.len() / c_total };
    debug_assert_eq!(dy.len(), pixels * c_total, "concat_channels_bwd: dy");
    let mut at = 0;
    for (dx, c) in parts.iter_mut() {
        let c = *c;
        debug_assert_eq!(dx.len(), pixels * c, "concat_channels_bwd: part");
        let rows = (CHUNK / c.max(1)).max(1);
        let len = dx.len();
        par::for_each_chunk_mut(dx, rows * c, len >= PARALLEL_MIN, |i, out| {
            for (r, row) in out.chunks_exact_mut(c).enumerate() {
                let p = i * rows + r;
                row.copy_from_slice(&dy[p * c_total + at..p * c_total + at + c]);
            }
        });
        at += c;
    }
}

#[cfg(any(test, feature = "selftest"))]
pub(crate) mod tests;
