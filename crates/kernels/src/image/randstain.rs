//! Stain randomization (RandStainNA, Shen et al., MICCAI 2022, "RandStainNA:
//! Learning Stain-Agnostic Features from Histology Slides by Bridging Stain
//! Augmentation and Normalization"): every training image, every epoch, is
//! Reinhard-transferred to a *random* L*a*b* target drawn from the spread of
//! the training images' own statistics, so a network cannot key on one lab's
//! (or one class's) stain and sees each tissue in many plausible stainings.
//!
//! The distribution (`RandStainConfig`) is fitted outside the kernel on the
//! training split: for each L*a*b* channel, the mean and standard deviation
//! over the images of each image's channel mean, and of each image's channel
//! standard deviation (the SDK's `fitStainDistribution`). Image `id` draws
//! `target_mean = mean_avg + mean_std·z` and `target_std = max(0, std_avg +
//! std_std·z')` per channel (`z`, `z'` standard normals of the image's own
//! stream keys, `augment::rand_stain_draw`), and with `probability` is mapped
//! `v' = (v - own_mean)·target_std/own_std + target_mean` as
//! `normalize::reinhard` does.
//!
//! Speed: the f64 `normalize::lab` path (libm `cbrt` and `powf` per channel)
//! costs ~30 ms per 224x224 image in wasm, which would make the transform the
//! slowest part of a training step. `FastLab` computes the same conversion in
//! f32 with a table for the sRGB linearisation, a bit-trick cube root refined
//! by two Halley steps (four pixels at a time with SIMD128), and the 8-bit
//! sRGB encoding as a count of the linear values where the rounded output
//! steps up, read off a table of bins (exact up to ties with the f64 path's
//! `round`): ~4.4 ms per image. `randstain_tests` checks it within one level of
//! the f64 Reinhard on every pixel. Only adds, multiplies, divides and bit
//! operations: every target and artifact rounds identically.

use super::normalize::lab::{Lab, LAB_DELTA, WHITE, XYZ_FROM_RGB};
use super::normalize::reinhard::{channel_stats, FLAT_STD};
use crate::error::KernelError;

/// The fitted distribution of per-image L*a*b* statistics, and how often to
/// apply it. `probability` 0 turns randomization off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RandStainConfig {
    /// Over the training images: mean of each image's channel mean (L, a, b).
    pub mean_avg: [f32; 3],
    /// Standard deviation of each image's channel mean.
    pub mean_std: [f32; 3],
    /// Mean of each image's channel standard deviation.
    pub std_avg: [f32; 3],
    /// Standard deviation of each image's channel standard deviation.
    pub std_std: [f32; 3],
    /// Chance that an image is randomized, in `[0, 1]`.
    pub probability: f32,
}

impl RandStainConfig {
    pub const OFF: Self = Self { mean_avg: [0.0; 3], mean_std: [0.0; 3], std_avg: [0.0; 3], std_std: [0.0; 3], probability: 0.0 };

    /// True when randomization is enabled and applies (RGB images).
    pub fn enabled(&self, c: usize) -> bool {
        c == 3 && self.probability > 0.0
    }

    /// Finite values, spreads and average standard deviations >= 0, probability in `[0, 1]`.
    pub fn validate(&self) -> Result<(), KernelError> {
        let fields = [("mean_avg", self.mean_avg, false), ("mean_std", self.mean_std, true), ("std_avg", self.std_avg, true), ("std_std", self.std_std, true)];
        for (name, v, non_negative) in fields {
            if let Some(ch) = (0..3).find(|&ch| !v[ch].is_finite() || (non_negative && v[ch] < 0.0)) {
                let expected = if non_negative { "finite and >= 0" } else { "finite" };
                return Err(KernelError::value(format!("image: rand_stain {name}[{ch}] must be {expected}, got {}", v[ch])));
            }
        }
        if !(self.probability >= 0.0 && self.probability <= 1.0) {
            return Err(KernelError::value(format!("image: rand_stain probability must be in [0, 1], got {}", self.probability)));
        }
        Ok(())
    }
}

/// One image's drawn L*a*b* target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StainTarget {
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

/// 8-bit sRGB ↔ L*a*b* in f32 (see the module comment); one per batch.
pub struct FastLab {
    /// sRGB byte → linear.
    linear: [f32; 256],
    /// XYZ_FROM_RGB with each row divided by the white point's component.
    to_xyzn: [[f32; 3]; 3],
    /// inv(XYZ_FROM_RGB) with each column multiplied by the white point's component.
    from_xyzn: [[f32; 3]; 3],
    /// `steps[k]` (k < 255): the least linear value whose encoding rounds to
    /// `k + 1` or more; `steps[255]` is +∞.
    steps: [f32; 256],
    /// `bins[i]`: how many steps lie at or below `i / ENCODE_BINS`.
    bins: [u8; ENCODE_BINS],
}

/// Bins of the linear range `[0, 1)` for `encode`: narrower than the closest
/// two steps (3.04e-4 apart, at the dark end), so each holds at most one.
pub(crate) const ENCODE_BINS: usize = 4096;

impl Default for FastLab {
    fn default() -> Self {
        Self::new()
    }
}

impl FastLab {
    pub fn new() -> Self {
        let exact = Lab::new();
        let linear = core::array::from_fn(|v| exact.linear(v as u8) as f32);
        let to_xyzn = core::array::from_fn(|i| core::array::from_fn(|j| (XYZ_FROM_RGB[i][j] / WHITE[i]) as f32));
        let inv = exact.rgb_from_xyz();
        let from_xyzn = core::array::from_fn(|i| core::array::from_fn(|j| (inv[i][j] * WHITE[j]) as f32));
        // Output k + 1 starts where 255·encode(l) reaches k + 0.5, i.e. at decode((k + 0.5) / 255).
        let steps: [f32; 256] = core::array::from_fn(|k| {
            let c = (k as f64 + 0.5) / 255.0;
            if k == 255 {
                f32::INFINITY
            } else {
                (if c > 0.04045 { ((c + 0.055) / 1.055).powf(2.4) } else { c / 12.92 }) as f32
            }
        });
        // Bin starts and steps both ascend: one merged pass.
        let mut below = 0usize;
        let bins = core::array::from_fn(|i| {
            let start = i as f32 / ENCODE_BINS as f32;
            while steps[below] <= start {
                below += 1;
            }
            below as u8
        });
        Self { linear, to_xyzn, from_xyzn, steps, bins }
    }

    /// One 8-bit RGB pixel to `[L, a, b]`.
    #[inline(always)]
    pub fn from_rgb(&self, px: &[u8]) -> [f32; 3] {
        let lin = [self.linear[px[0] as usize], self.linear[px[1] as usize], self.linear[px[2] as usize]];
        let m = &self.to_xyzn;
        let [fx, fy, fz] = [0, 1, 2].map(|i| lab_f(m[i][0] * lin[0] + m[i][1] * lin[1] + m[i][2] * lin[2]));
        [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
    }

    /// `[L, a, b]` to an 8-bit RGB pixel (out-of-gamut values clamped).
    #[inline(always)]
    pub fn to_rgb(&self, lab: [f32; 3], px: &mut [u8]) {
        let fy = (lab[0] + 16.0) * (1.0 / 116.0);
        let t = [lab[1] * (1.0 / 500.0) + fy, fy, fy - lab[2] * (1.0 / 200.0)].map(lab_f_inv);
        let m = &self.from_xyzn;
        for (i, o) in px.iter_mut().enumerate().take(3) {
            *o = self.encode(m[i][0] * t[0] + m[i][1] * t[1] + m[i][2] * t[2]);
        }
    }

    /// The 8-bit sRGB value of linear `l`: how many steps lie at or below it
    /// (NaN gives 0). Its bin's count, plus one if the bin's one possible step
    /// lies at or below `l`: one table read and one comparison, where a
    /// binary search over the steps took eight dependent ones.
    #[inline(always)]
    pub(crate) fn encode(&self, l: f32) -> u8 {
        // `l·4096` is exact (a power of two), so `l` lies in its bin; `as` saturates (negative, NaN: 0).
        let bin = ((l * ENCODE_BINS as f32) as usize).min(ENCODE_BINS - 1);
        let k = self.bins[bin] as usize;
        // (`min`: +∞ itself passes the +∞ sentinel.)
        (k + usize::from(self.steps[k] <= l)).min(255) as u8
    }

    /// The encoding's steps (tests).
    #[cfg(any(test, feature = "selftest"))]
    pub(crate) fn steps(&self) -> &[f32] {
        &self.steps[..255]
    }

    /// `[L, a, b]` of every pixel of an RGB image into `lab` (same length):
    /// four pixels at a time as f32x4 lanes where SIMD128 is on (the same
    /// IEEE operations per lane as `from_rgb`, so the same bits), the rest one by one.
    pub fn convert(&self, img: &[u8], lab: &mut [f32]) {
        debug_assert_eq!(img.len(), lab.len());
        let done = self.convert_simd(img, lab);
        for (px, out) in img[done..].chunks_exact(3).zip(lab[done..].chunks_exact_mut(3)) {
            out.copy_from_slice(&self.from_rgb(px));
        }
    }

    /// Converts whole groups of four pixels; returns how many values it wrote.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    fn convert_simd(&self, img: &[u8], lab: &mut [f32]) -> usize {
        use core::arch::wasm32::*;
        let m = &self.to_xyzn;
        let row = |i: usize, r: v128, g: v128, b: v128| {
            f32x4_add(f32x4_add(f32x4_mul(f32x4_splat(m[i][0]), r), f32x4_mul(f32x4_splat(m[i][1]), g)), f32x4_mul(f32x4_splat(m[i][2]), b))
        };
        let groups = img.len() / 12;
        for (px, out) in img.chunks_exact(12).zip(lab.chunks_exact_mut(12)) {
            let lin = |c: usize| f32x4(self.linear[px[c] as usize], self.linear[px[3 + c] as usize], self.linear[px[6 + c] as usize], self.linear[px[9 + c] as usize]);
            let (r, g, b) = (lin(0), lin(1), lin(2));
            let (fx, fy, fz) = (lab_f4(row(0, r, g, b)), lab_f4(row(1, r, g, b)), lab_f4(row(2, r, g, b)));
            let l = f32x4_sub(f32x4_mul(f32x4_splat(116.0), fy), f32x4_splat(16.0));
            let a = f32x4_mul(f32x4_splat(500.0), f32x4_sub(fx, fy));
            let bb = f32x4_mul(f32x4_splat(200.0), f32x4_sub(fy, fz));
            let lanes = |v: v128| [f32x4_extract_lane::<0>(v), f32x4_extract_lane::<1>(v), f32x4_extract_lane::<2>(v), f32x4_extract_lane::<3>(v)];
            let (l, a, bb) = (lanes(l), lanes(a), lanes(bb));
            for k in 0..4 {
                out[3 * k] = l[k];
                out[3 * k + 1] = a[k];
                out[3 * k + 2] = bb[k];
            }
        }
        groups * 12
    }

    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    fn convert_simd(&self, _img: &[u8], _lab: &mut [f32]) -> usize {
        0
    }

    /// Per-channel mean and population standard deviation of an RGB image (f64 sums).
    pub fn stats(&self, img: &[u8]) -> ([f32; 3], [f32; 3]) {
        let mut lab = vec![0.0f32; img.len()];
        self.convert(img, &mut lab);
        lab_stats(&lab)
    }
}

/// Per-channel mean and population standard deviation of `[L, a, b]` triples (`reinhard::channel_stats`).
pub fn lab_stats(lab: &[f32]) -> ([f32; 3], [f32; 3]) {
    let (mean, std) = channel_stats(lab.chunks_exact(3).map(|v| [v[0] as f64, v[1] as f64, v[2] as f64]));
    (mean.map(|m| m as f32), std.map(|s| s as f32))
}

/// CIE `f(t)`: the cube root above `δ³`, the linear segment below.
#[inline(always)]
fn lab_f(t: f32) -> f32 {
    const D3: f32 = (LAB_DELTA * LAB_DELTA * LAB_DELTA) as f32;
    const SLOPE: f32 = (1.0 / (3.0 * LAB_DELTA * LAB_DELTA)) as f32;
    if t > D3 {
        cbrt_pos(t)
    } else {
        t * SLOPE + 4.0 / 29.0
    }
}

/// `lab_f` on four lanes: both branches, selected per lane.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn lab_f4(t: core::arch::wasm32::v128) -> core::arch::wasm32::v128 {
    use core::arch::wasm32::*;
    const D3: f32 = (LAB_DELTA * LAB_DELTA * LAB_DELTA) as f32;
    const SLOPE: f32 = (1.0 / (3.0 * LAB_DELTA * LAB_DELTA)) as f32;
    let linear = f32x4_add(f32x4_mul(t, f32x4_splat(SLOPE)), f32x4_splat(4.0 / 29.0));
    v128_bitselect(cbrt_pos4(t), linear, f32x4_gt(t, f32x4_splat(D3)))
}

/// `cbrt_pos` on four lanes (the same operations, so the same bits).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn cbrt_pos4(x: core::arch::wasm32::v128) -> core::arch::wasm32::v128 {
    use core::arch::wasm32::*;
    let third = f32x4_mul(f32x4_convert_u32x4(x), f32x4_splat(1.0 / 3.0));
    let mut y = i32x4_add(u32x4_trunc_sat_f32x4(third), i32x4_splat(CBRT_MAGIC as i32));
    for _ in 0..2 {
        let y3 = f32x4_mul(f32x4_mul(y, y), y);
        let two_x = f32x4_mul(f32x4_splat(2.0), x);
        y = f32x4_mul(y, f32x4_div(f32x4_add(y3, two_x), f32x4_add(f32x4_mul(f32x4_splat(2.0), y3), x)));
    }
    y
}

/// Inverse of `lab_f`.
#[inline(always)]
fn lab_f_inv(f: f32) -> f32 {
    const D: f32 = LAB_DELTA as f32;
    const SLOPE: f32 = (3.0 * LAB_DELTA * LAB_DELTA) as f32;
    if f > D {
        f * f * f
    } else {
        SLOPE * (f - 4.0 / 29.0)
    }
}

/// Kahan's constant for the cube root's first estimate on the bits.
const CBRT_MAGIC: u32 = 0x2a50_8935;

/// Cube root of a positive normal `x`: the exponent divided by three on the
/// bits (within ~4%; the division is done in f32, as SIMD128 has no integer
/// division: its rounding moves the estimate by under 1e-5), then two Halley
/// steps `y·(y³ + 2x)/(2y³ + x)` (each cubes the relative error), a few ulp
/// from the exact root.
#[inline(always)]
pub fn cbrt_pos(x: f32) -> f32 {
    let third = (x.to_bits() as f32 * (1.0 / 3.0)) as u32;
    let mut y = f32::from_bits(third.wrapping_add(CBRT_MAGIC));
    for _ in 0..2 {
        let y3 = y * y * y;
        y *= (y3 + 2.0 * x) / (2.0 * y3 + x);
    }
    y
}

/// Maps `img` (RGB, in place) to `target`, from its own statistics.
/// The image's L*a*b* values are converted once, kept for the mapping pass
/// (0.6 MB for 224x224: the conversion is the costlier half of the work).
pub fn apply(lab: &FastLab, target: &StainTarget, img: &mut [u8]) {
    let mut values = vec![0.0f32; img.len()];
    lab.convert(img, &mut values);
    let (mean, std) = lab_stats(&values);
    // The per-channel map v·gain + offset (a flat channel is only shifted, as in `reinhard`).
    let gain = [0, 1, 2].map(|ch| if (std[ch] as f64) < FLAT_STD { 1.0 } else { target.std[ch] / std[ch] });
    let offset = [0, 1, 2].map(|ch| target.mean[ch] - mean[ch] * gain[ch]);
    for (px, v) in img.chunks_exact_mut(3).zip(values.chunks_exact(3)) {
        lab.to_rgb([0, 1, 2].map(|ch| v[ch] * gain[ch] + offset[ch]), px);
    }
}
