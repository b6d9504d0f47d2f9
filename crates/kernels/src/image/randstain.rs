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
//! costs ~20 ms per 224x224 image in wasm, which would make the transform the
//! slowest part of a training step. `FastLab` computes the same conversion in
//! f32 with a table for the sRGB linearisation, a bit-trick cube root refined
//! by two Halley steps, and the 8-bit sRGB encoding as a search over the 255
//! linear values where the rounded output steps up (exact up to ties with the
//! f64 path's `round`); `randstain_tests` checks it within one level of the f64
//! Reinhard on every pixel. Only adds, multiplies, divides and bit operations:
//! every target and artifact rounds identically.

use super::normalize::lab::{Lab, LAB_DELTA, WHITE, XYZ_FROM_RGB};
use super::normalize::reinhard::FLAT_STD;
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

/// 8-bit sRGB ↔ L*a*b* in f32 (see the module comment); one per image.
pub struct FastLab {
    /// sRGB byte → linear.
    linear: [f32; 256],
    /// XYZ_FROM_RGB with each row divided by the white point's component.
    to_xyzn: [[f32; 3]; 3],
    /// inv(XYZ_FROM_RGB) with each column multiplied by the white point's component.
    from_xyzn: [[f32; 3]; 3],
    /// `steps[k]`: the least linear value whose encoding rounds to `k + 1` or more.
    steps: [f32; 255],
}

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
        let steps = core::array::from_fn(|k| {
            let c = (k as f64 + 0.5) / 255.0;
            (if c > 0.04045 { ((c + 0.055) / 1.055).powf(2.4) } else { c / 12.92 }) as f32
        });
        Self { linear, to_xyzn, from_xyzn, steps }
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
    /// (NaN gives 0). A binary search whose comparisons select instead of
    /// branch: colours are random to a branch predictor, and mispredicted
    /// branches made this search the costliest part of a pixel.
    #[inline(always)]
    fn encode(&self, l: f32) -> u8 {
        let mut k = 0usize;
        for half in [128usize, 64, 32, 16, 8, 4, 2, 1] {
            // Steps k .. k+half-1 lie at or below `l` when the last of them does
            // (after the larger halves k <= 256 - 2·half: the index is at most 254).
            k += half * usize::from(self.steps[k + half - 1] <= l);
        }
        k as u8
    }

    /// Per-channel mean and population standard deviation of an RGB image (f64 sums).
    pub fn stats(&self, img: &[u8]) -> ([f32; 3], [f32; 3]) {
        let mut sum = [0.0f64; 3];
        let mut sq = [0.0f64; 3];
        for px in img.chunks_exact(3) {
            let v = self.from_rgb(px);
            for ch in 0..3 {
                sum[ch] += v[ch] as f64;
                sq[ch] += v[ch] as f64 * v[ch] as f64;
            }
        }
        let n = (img.len() / 3).max(1) as f64;
        let mean = sum.map(|s| s / n);
        let std = [0, 1, 2].map(|ch| (sq[ch] / n - mean[ch] * mean[ch]).max(0.0).sqrt() as f32);
        (mean.map(|m| m as f32), std)
    }
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

/// Cube root of a positive normal `x`: the exponent divided by three on the
/// bits (Kahan's constant: within ~4%), then two Halley steps `y·(y³ + 2x)/(2y³ + x)` (each
/// cubes the relative error), a few ulp from the exact root.
#[inline(always)]
pub fn cbrt_pos(x: f32) -> f32 {
    let mut y = f32::from_bits(x.to_bits() / 3 + 0x2a50_8935);
    for _ in 0..2 {
        let y3 = y * y * y;
        y *= (y3 + 2.0 * x) / (2.0 * y3 + x);
    }
    y
}

/// Maps `img` (RGB, in place) to `target`, from its own statistics.
pub fn apply(lab: &FastLab, target: &StainTarget, img: &mut [u8]) {
    let (mean, std) = lab.stats(img);
    // The per-channel map v·gain + offset (a flat channel is only shifted, as in `reinhard`).
    let gain = [0, 1, 2].map(|ch| if (std[ch] as f64) < FLAT_STD { 1.0 } else { target.std[ch] / std[ch] });
    let offset = [0, 1, 2].map(|ch| target.mean[ch] - mean[ch] * gain[ch]);
    for px in img.chunks_exact_mut(3) {
        let v = lab.from_rgb(px);
        lab.to_rgb([0, 1, 2].map(|ch| v[ch] * gain[ch] + offset[ch]), px);
    }
}
