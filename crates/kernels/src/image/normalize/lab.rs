//! sRGB (8-bit) ↔ CIE L*a*b* (D65, 2° observer), with scikit-image's
//! `rgb2lab` / `lab2rgb` constants, in f64.

use super::linalg::{inverse3, mat_vec, Mat3};

/// Linear sRGB → XYZ (scikit-image's `xyz_from_rgb`).
pub const XYZ_FROM_RGB: Mat3 = [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]];
/// The D65 white point (2° observer).
pub const WHITE: [f64; 3] = [0.95047, 1.0, 1.08883];
/// CIE's `δ`: `f(t)` is a cube root above `δ³` and linear below.
pub const LAB_DELTA: f64 = 6.0 / 29.0;

/// Converts between 8-bit sRGB and L*a*b*; holds the 256-entry linearisation
/// table and the inverse matrix so that a whole image shares them.
pub struct Lab {
    linear: [f64; 256],
    rgb_from_xyz: Mat3,
}

impl Default for Lab {
    fn default() -> Self {
        Self::new()
    }
}

impl Lab {
    pub fn new() -> Self {
        let mut linear = [0.0; 256];
        for (v, l) in linear.iter_mut().enumerate() {
            let c = v as f64 / 255.0;
            *l = if c > 0.04045 { ((c + 0.055) / 1.055).powf(2.4) } else { c / 12.92 };
        }
        Self { linear, rgb_from_xyz: inverse3(&XYZ_FROM_RGB) }
    }

    /// The linear value of sRGB byte `v`.
    pub fn linear(&self, v: u8) -> f64 {
        self.linear[v as usize]
    }

    /// `inv(XYZ_FROM_RGB)`.
    pub fn rgb_from_xyz(&self) -> Mat3 {
        self.rgb_from_xyz
    }

    /// One 8-bit RGB pixel to `[L, a, b]`.
    pub fn from_rgb(&self, px: &[u8]) -> [f64; 3] {
        let lin = [self.linear[px[0] as usize], self.linear[px[1] as usize], self.linear[px[2] as usize]];
        let xyz = mat_vec(&XYZ_FROM_RGB, &lin);
        let f = |t: f64| if t > LAB_DELTA * LAB_DELTA * LAB_DELTA { t.cbrt() } else { t / (3.0 * LAB_DELTA * LAB_DELTA) + 4.0 / 29.0 };
        let [fx, fy, fz] = [0, 1, 2].map(|i| f(xyz[i] / WHITE[i]));
        [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
    }

    /// `[L, a, b]` to an 8-bit RGB pixel (rounded, out-of-gamut values clamped).
    pub fn to_rgb(&self, lab: [f64; 3], px: &mut [u8]) {
        let fy = (lab[0] + 16.0) / 116.0;
        let f = [lab[1] / 500.0 + fy, fy, fy - lab[2] / 200.0];
        let finv = |t: f64| if t > LAB_DELTA { t * t * t } else { 3.0 * LAB_DELTA * LAB_DELTA * (t - 4.0 / 29.0) };
        let xyz = [0, 1, 2].map(|i| WHITE[i] * finv(f[i]));
        let lin = mat_vec(&self.rgb_from_xyz, &xyz);
        for (o, l) in px.iter_mut().zip(lin) {
            let c = if l > 0.0031308 { 1.055 * l.powf(1.0 / 2.4) - 0.055 } else { 12.92 * l };
            *o = to_u8(255.0 * c);
        }
    }
}

/// Rounds to the nearest integer and clamps to `[0, 255]` (NaN → 0).
#[inline]
pub fn to_u8(v: f64) -> u8 {
    if v.is_nan() {
        0
    } else {
        v.round().clamp(0.0, 255.0) as u8
    }
}
