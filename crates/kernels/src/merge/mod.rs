//! Merge ops of graph models (Keras `Add`, `Average`, `Concatenate` on the channel axis, `Multiply`),
//! forward and backward.
//!
//! - `add_fwd`: element-wise sum of two or more same-shape tensors, added in
//!   input order. Its backward passes `dy` unchanged to every input: a copy
//!   (or a shared buffer) the executor makes, so there is no kernel for it.
//! - `average_fwd` / `_bwd` (Keras `Average`, ONNX `Mean`): that sum divided
//!   by the number of inputs (a division, not a product with `1/n`, so the
//!   bits are those of ONNX's and PyTorch's mean), and `dy / n` back to each
//!   input. An ensemble's averaged probabilities.
//! - `concat_channels_fwd` / `_bwd`: NHWC tensors `[pixels, c_i]` (pixels =
//!   `n·h·w`) joined on the last axis into `[pixels, sum c_i]`, and the
//!   gradient split back. Pure copies, exact.
//! - `multiply.rs`: Keras `Multiply` (element-wise, or a per-image channel
//!   scale broadcast over the pixels).
//!
//! Work is cut into chunks of a fixed number of elements (whole pixels for
//! the concatenation), each element computed independently, so results never
//! depend on the thread count.

use crate::{par, vecops};

mod multiply;
pub use multiply::{multiply_bwd, multiply_fwd, scale_bwd_scale, scale_fwd};

/// Elements per parallel chunk.
const CHUNK: usize = 1 << 14;
/// Below this many elements a pass runs serially.
const PARALLEL_MIN: usize = 1 << 15;

/// `y = ((inputs[0] + inputs[1]) + inputs[2]) + ...`, element-wise, always in
/// that order. Needs at least two inputs, each as long as `y`; `y` is fully
/// overwritten.
pub fn add_fwd(inputs: &[&[f32]], y: &mut [f32]) {
    debug_assert!(inputs.len() >= 2, "add_fwd: {} inputs, expected >= 2", inputs.len());
    debug_assert!(inputs.iter().all(|x| x.len() == y.len()), "add_fwd: input lengths differ from y's {}", y.len());
    par::for_each_chunk_mut(y, CHUNK, y.len() >= PARALLEL_MIN, |i, y_chunk| sum_chunk(inputs, i, y_chunk));
}

/// Chunk `i` of the inputs' sum, in input order, into `y_chunk`.
#[inline]
fn sum_chunk(inputs: &[&[f32]], i: usize, y_chunk: &mut [f32]) {
    let range = i * CHUNK..i * CHUNK + y_chunk.len();
    y_chunk.copy_from_slice(&inputs[0][range.clone()]);
    for x in &inputs[1..] {
        vecops::add_assign(y_chunk, &x[range.clone()]);
    }
}

/// `y = (((inputs[0] + inputs[1]) + ...) / n`, element-wise, for `n =
/// inputs.len() >= 2` inputs as long as `y`; `y` is fully overwritten.
pub fn average_fwd(inputs: &[&[f32]], y: &mut [f32]) {
    debug_assert!(inputs.len() >= 2, "average_fwd: {} inputs, expected >= 2", inputs.len());
    debug_assert!(inputs.iter().all(|x| x.len() == y.len()), "average_fwd: input lengths differ from y's {}", y.len());
    let n = inputs.len() as f32;
    par::for_each_chunk_mut(y, CHUNK, y.len() >= PARALLEL_MIN, |i, y_chunk| {
        sum_chunk(inputs, i, y_chunk);
        for v in y_chunk.iter_mut() {
            *v /= n;
        }
    });
}

/// The gradient of `average_fwd` with `inputs` inputs, for each of them:
/// `dx = dy / inputs`. `dx` is fully overwritten.
pub fn average_bwd(dy: &[f32], inputs: usize, dx: &mut [f32]) {
    debug_assert_eq!(dy.len(), dx.len(), "average_bwd: dy and dx lengths");
    let n = inputs as f32;
    par::for_each_chunk_mut(dx, CHUNK, dx.len() >= PARALLEL_MIN, |i, dx_chunk| {
        let dy_chunk = &dy[i * CHUNK..i * CHUNK + dx_chunk.len()];
        for (d, &g) in dx_chunk.iter_mut().zip(dy_chunk) {
            *d = g / n;
        }
    });
}

/// Pixels per chunk of a concatenation with `channels` channels in all.
fn pixels_per_chunk(channels: usize) -> usize {
    (CHUNK / channels.max(1)).max(1)
}

/// `y[p, off_i + j] = parts[i].0[p·c_i + j]`, where part `i` is `[pixels, c_i]`
/// (`parts[i].1 = c_i`) and `off_i = c_0 + ... + c_{i-1}`: the parts joined on
/// the channel axis. `y` is `[pixels, sum c_i]`, fully overwritten.
pub fn concat_channels_fwd(pixels: usize, parts: &[(&[f32], usize)], y: &mut [f32]) {
    let channels: usize = parts.iter().map(|&(_, c)| c).sum();
    debug_assert_eq!(y.len(), pixels * channels, "concat_channels_fwd: y");
    debug_assert!(parts.iter().all(|&(x, c)| x.len() == pixels * c), "concat_channels_fwd: a part is not [{pixels}, c]");
    let chunk_pixels = pixels_per_chunk(channels);
    par::for_each_chunk_mut(y, chunk_pixels * channels, y.len() >= PARALLEL_MIN, |chunk, y_chunk| {
        for (i, y_px) in y_chunk.chunks_exact_mut(channels).enumerate() {
            let p = chunk * chunk_pixels + i;
            let mut off = 0;
            for &(x, c) in parts {
                vecops::copy(&mut y_px[off..off + c], &x[p * c..(p + 1) * c]);
                off += c;
            }
        }
    });
}

/// The gradient of `concat_channels_fwd`: `parts[i].0[p·c_i + j] = dy[p, off_i + j]`
/// for `dy` of `[pixels, sum c_i]`. Every part is fully overwritten.
pub fn concat_channels_bwd(dy: &[f32], parts: &mut [(&mut [f32], usize)]) {
    let channels: usize = parts.iter().map(|(_, c)| *c).sum();
    let pixels = if channels == 0 { 0 } else { dy.len() / channels };
    debug_assert_eq!(dy.len(), pixels * channels, "concat_channels_bwd: dy");
    debug_assert!(parts.iter().all(|(dx, c)| dx.len() == pixels * *c), "concat_channels_bwd: a part is not [{pixels}, c]");
    let chunk_pixels = pixels_per_chunk(channels);
    let mut off = 0;
    for (dx, c) in parts.iter_mut() {
        let c = *c;
        if c > 0 {
            par::for_each_chunk_mut(dx, chunk_pixels * c, dy.len() >= PARALLEL_MIN, |chunk, dx_chunk| {
                for (i, dx_px) in dx_chunk.chunks_exact_mut(c).enumerate() {
                    let p = chunk * chunk_pixels + i;
                    vecops::copy(dx_px, &dy[p * channels + off..p * channels + off + c]);
                }
            });
        }
        off += c;
    }
}

#[cfg(any(test, feature = "selftest"))]
pub(crate) mod tests;
#[cfg(any(test, feature = "selftest"))]
pub(crate) mod multiply_tests;
