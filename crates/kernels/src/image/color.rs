//! Colour jitter like torchvision's `ColorJitter`, on the 0-255 scale (values
//! are clamped to `[0, 255]` after each op, as torchvision clamps to `[0, 1]`):
//!
//! - brightness `f`: `v = f·v`;
//! - contrast `f`: `v = f·v + (1 - f)·mean`, `mean` the mean grey level of the
//!   whole image (`grey = 0.2989 R + 0.587 G + 0.114 B`; the value itself for
//!   one channel);
//! - saturation `f` (3 channels): `v = f·v + (1 - f)·grey(pixel)`;
//! - hue `δ` (3 channels): RGB → HSV, `h = (h + δ) mod 1`, HSV → RGB
//!   (torchvision's `_rgb2hsv` / `_hsv2rgb`).
//!
//! The four ops run in a random order (torchvision's `randperm(4)`); a factor
//! of 1 (or a hue shift of 0) skips its op.

/// One image's drawn jitter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JitterParams {
    pub brightness: f32,
    pub contrast: f32,
    pub saturation: f32,
    /// Fraction of the colour wheel, in `[-0.5, 0.5]`.
    pub hue: f32,
    /// Op order: 0 brightness, 1 contrast, 2 saturation, 3 hue.
    pub order: [u8; 4],
}

impl JitterParams {
    pub const IDENTITY: Self = Self { brightness: 1.0, contrast: 1.0, saturation: 1.0, hue: 0.0, order: [0, 1, 2, 3] };
}

/// Grey level weights (ITU-R 601-2, as torchvision's `rgb_to_grayscale`).
pub const GREY: [f32; 3] = [0.2989, 0.587, 0.114];

#[inline(always)]
fn clamp255(v: f32) -> f32 {
    v.max(0.0).min(255.0)
}

#[inline(always)]
fn grey(px: &[f32]) -> f32 {
    GREY[0] * px[0] + GREY[1] * px[1] + GREY[2] * px[2]
}

/// Applies `p` to one `[h, w, c]` image in place (0-255 scale).
pub fn apply_jitter(p: &JitterParams, c: usize, img: &mut [f32]) {
    for &op in &p.order {
        match op {
            0 if p.brightness != 1.0 => {
                let f = p.brightness;
                img.iter_mut().for_each(|v| *v = clamp255(f * *v));
            }
            1 if p.contrast != 1.0 => {
                let f = p.contrast;
                let mean = if c == 3 {
                    img.chunks_exact(3).map(|px| grey(px) as f64).sum::<f64>() / (img.len() / 3) as f64
                } else {
                    img.iter().map(|&v| v as f64).sum::<f64>() / img.len() as f64
                };
                let k = (1.0 - f) * mean as f32;
                img.iter_mut().for_each(|v| *v = clamp255(f * *v + k));
            }
            2 if c == 3 && p.saturation != 1.0 => {
                let f = p.saturation;
                for px in img.chunks_exact_mut(3) {
                    let k = (1.0 - f) * grey(px);
                    for v in px.iter_mut() {
                        *v = clamp255(f * *v + k);
                    }
                }
            }
            3 if c == 3 && p.hue != 0.0 => {
                for px in img.chunks_exact_mut(3) {
                    shift_hue(px, p.hue);
                }
            }
            _ => {}
        }
    }
}

/// `x - floor(x)`: the fractional part in `[0, 1)` (for `x` in `(-1, 2)` the
/// subtraction is exact, so this is `x.rem_euclid(1.0)`).
#[inline(always)]
fn fract_pos(x: f32) -> f32 {
    x - x.floor()
}

/// Rotates one RGB pixel's hue by `delta` (fraction of the wheel).
#[inline]
fn shift_hue(px: &mut [f32], delta: f32) {
    let (r, g, b) = (px[0], px[1], px[2]);
    let maxc = r.max(g).max(b);
    let minc = r.min(g).min(b);
    if maxc == minc {
        return; // grey: no hue, unchanged (torchvision: s = 0)
    }
    let cr = maxc - minc;
    let s = cr / maxc;
    let (rc, gc, bc) = ((maxc - r) / cr, (maxc - g) / cr, (maxc - b) / cr);
    let h6 = if maxc == r {
        bc - gc
    } else if maxc == g {
        2.0 + rc - bc
    } else {
        4.0 + gc - rc
    };
    // `x - floor(x)` equals `x % 1` and `x.rem_euclid(1)` bit for bit on these
    // ranges (both exact) without wasm's software fmod call.
    let h = fract_pos(h6 / 6.0 + 1.0);
    let h = fract_pos(h + delta);
    let hh = h * 6.0;
    let i = hh.floor();
    let f = hh - i;
    let v = maxc;
    let p = clamp255(v * (1.0 - s));
    let q = clamp255(v * (1.0 - s * f));
    let t = clamp255(v * (1.0 - s * (1.0 - f)));
    let (r, g, b) = match (i as i32).rem_euclid(6) {
        0 => (v, t, p),
        1 => (q, v, p),
        2 => (p, v, t),
        3 => (p, q, v),
        4 => (t, p, v),
        _ => (v, p, q),
    };
    px[0] = r;
    px[1] = g;
    px[2] = b;
}
