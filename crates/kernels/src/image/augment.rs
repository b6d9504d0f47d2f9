//! Random augmentation parameters and the affine warp, with the conventions of
//! Keras' `ImageDataGenerator.get_random_transform` and
//! `apply_affine_transform` (the scipy.ndimage version of
//! keras-preprocessing / tf.keras 2.x):
//!
//! - Coordinates are `(row, col)`. The matrix maps an OUTPUT pixel to the
//!   INPUT point it samples, `input = o + R·t + R·Sh·Z·(p - o)`, i.e. Keras'
//!   `offset · (R · T · Sh · Z) · reset` about the image centre
//!   `o = (h/2 - 0.5, w/2 - 0.5)` (`transform_matrix_offset_center`), with
//!   - `R = [[cos θ, -sin θ], [sin θ, cos θ]]`, θ in degrees uniform in `[-rotation, rotation]`;
//!   - `t = (tx, ty)`: `tx` the height shift (rows) uniform in
//!     `[-height_shift, height_shift]·h`, `ty` the width shift (columns) in `[-width_shift, width_shift]·w`;
//!   - `Sh = [[1, -sin s], [0, cos s]]`, `s` in DEGREES uniform in `[-shear, shear]`
//!     (Keras' `shear_range` is in degrees: 0.2 means 0.2°);
//!   - `Z = diag(zx, zy)`, `zx` (rows) and `zy` (columns) drawn independently
//!     uniform in `[zoom_lo, zoom_hi]` (> 1 zooms out).
//! - Flips come after the warp, as in Keras' `apply_transform`: output
//!   `(r, c)` is the warped image at `(h-1-r if vflip, w-1-c if hflip)`; each
//!   happens with probability 1/2 when enabled. They are folded into the
//!   one matrix, so the whole geometry is one resampling.
//! - Sampling is bilinear; a sample at integer coordinates returns the pixel
//!   exactly, so identity parameters reproduce the input. Outside points
//!   follow `FillMode` (nearest / reflect / constant).
//!
//! Note: later Keras versions (2.9+) swap the matrix to `(x, y)` order, which
//! flips the rotation sign and turns the shear into a vertical one; for
//! symmetric ranges only the shear direction differs.

use super::color::JitterParams;
use super::hed::StainJitterParams;
use super::randstain::StainTarget;
use super::{AugmentConfig, FillMode};
use crate::rng::CounterRng;

/// Random values reserved per sample: image `id` uses values
/// `id·DRAWS_PER_SAMPLE + d` of the `(seed, epoch)` stream, `d` from `draw`.
pub const DRAWS_PER_SAMPLE: u64 = 16;

/// The draw index of each random parameter (fixed: changing one changes results).
pub mod draw {
    pub const ROTATION: u64 = 0;
    pub const HEIGHT_SHIFT: u64 = 1;
    pub const WIDTH_SHIFT: u64 = 2;
    pub const SHEAR: u64 = 3;
    pub const ZOOM_ROW: u64 = 4;
    pub const ZOOM_COL: u64 = 5;
    pub const HFLIP: u64 = 6;
    pub const VFLIP: u64 = 7;
    pub const BRIGHTNESS: u64 = 8;
    pub const CONTRAST: u64 = 9;
    pub const SATURATION: u64 = 10;
    pub const HUE: u64 = 11;
    pub const JITTER_ORDER: u64 = 12;
}

/// The stain jitter's draws sit above every `id·DRAWS_PER_SAMPLE + d` (ids are
/// u32, so those stay below 2^36): adding it left the other draws, and so
/// earlier runs' augmentations, unchanged. Image `id`'s value `d` (0-2: the
/// H, E, D scales, 3-5: the shifts) is `STAIN_DRAW_BASE + id·8 + d`.
pub const STAIN_DRAW_BASE: u64 = 1 << 40;

/// The stream index of image `id`'s stain draw `d` (see `STAIN_DRAW_BASE`).
pub fn stain_draw(id: u32, d: u64) -> u64 {
    STAIN_DRAW_BASE + id as u64 * 8 + d
}

/// The stain randomization's draws sit above the stain jitter's (which end
/// below 2^36 + 2^40): image `id`'s value `d` (0-2: standard normals of the
/// L, a, b target means, 3-5: of the target standard deviations, 6: the
/// uniform that decides whether it is applied) is `RAND_STAIN_DRAW_BASE + id·8 + d`.
pub const RAND_STAIN_DRAW_BASE: u64 = 1 << 41;

/// The stream index of image `id`'s stain randomization draw `d` (see `RAND_STAIN_DRAW_BASE`).
pub fn rand_stain_draw(id: u32, d: u64) -> u64 {
    RAND_STAIN_DRAW_BASE + id as u64 * 8 + d
}

/// One image's geometric parameters, named like Keras' transform parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AffineParams {
    /// Rotation in degrees.
    pub theta: f64,
    /// Shift along rows, in pixels (Keras `tx`, from `height_shift_range`).
    pub tx: f64,
    /// Shift along columns, in pixels (Keras `ty`, from `width_shift_range`).
    pub ty: f64,
    /// Shear angle in degrees.
    pub shear: f64,
    /// Zoom along rows.
    pub zx: f64,
    /// Zoom along columns.
    pub zy: f64,
    pub hflip: bool,
    pub vflip: bool,
}

impl AffineParams {
    pub const IDENTITY: Self = Self { theta: 0.0, tx: 0.0, ty: 0.0, shear: 0.0, zx: 1.0, zy: 1.0, hflip: false, vflip: false };
}

/// Everything drawn for one image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleParams {
    pub affine: AffineParams,
    pub jitter: JitterParams,
    pub stain: StainJitterParams,
    /// The drawn stain randomization target; `None` when disabled or not drawn for this image.
    pub rand_stain: Option<StainTarget>,
}

/// Draws image `id`'s parameters from `rng` (the `(seed, epoch)` stream).
/// A disabled range draws nothing and yields the identity value.
pub fn draw_params(cfg: &AugmentConfig, h: usize, w: usize, rng: &CounterRng, id: u32) -> SampleParams {
    let base = id as u64 * DRAWS_PER_SAMPLE;
    let u = |d: u64| rng.uniform_f32(base + d) as f64;
    let sym = |d: u64, r: f32| if r == 0.0 { 0.0 } else { r as f64 * (2.0 * u(d) - 1.0) };
    let between = |d: u64, lo: f64, hi: f64| if lo == hi { lo } else { lo + (hi - lo) * u(d) };
    let factor = |d: u64, s: f32| if s == 0.0 { 1.0 } else { between(d, (1.0 - s as f64).max(0.0), 1.0 + s as f64) as f32 };
    let [zlo, zhi] = cfg.zoom.map(|z| z as f64);
    let affine = AffineParams {
        theta: sym(draw::ROTATION, cfg.rotation),
        tx: sym(draw::HEIGHT_SHIFT, cfg.height_shift) * h as f64,
        ty: sym(draw::WIDTH_SHIFT, cfg.width_shift) * w as f64,
        shear: sym(draw::SHEAR, cfg.shear),
        zx: between(draw::ZOOM_ROW, zlo, zhi),
        zy: between(draw::ZOOM_COL, zlo, zhi),
        hflip: cfg.hflip && u(draw::HFLIP) < 0.5,
        vflip: cfg.vflip && u(draw::VFLIP) < 0.5,
    };
    let jitter = JitterParams {
        brightness: factor(draw::BRIGHTNESS, cfg.brightness),
        contrast: factor(draw::CONTRAST, cfg.contrast),
        saturation: factor(draw::SATURATION, cfg.saturation),
        hue: sym(draw::HUE, cfg.hue) as f32,
        order: permutation4(rng.u32_at(base + draw::JITTER_ORDER)),
    };
    let stain_u = |d: u64| rng.uniform_f32(stain_draw(id, d));
    let stain_sym = |d: u64, r: f32| if r == 0.0 { 0.0 } else { r * (2.0 * stain_u(d) - 1.0) };
    let stain = StainJitterParams {
        scale: [0, 1, 2].map(|k| 1.0 + stain_sym(k, cfg.stain_scale)),
        shift: [3, 4, 5].map(|k| stain_sym(k, cfg.stain_shift)),
    };
    let rs = &cfg.rand_stain;
    let rand_stain = (rs.probability > 0.0 && rng.uniform_f32(rand_stain_draw(id, 6)) < rs.probability).then(|| {
        let z = |d: u64| rng.normal_f32(rand_stain_draw(id, d));
        StainTarget {
            mean: [0, 1, 2].map(|ch| rs.mean_avg[ch] + rs.mean_std[ch] * z(ch as u64)),
            std: [0, 1, 2].map(|ch| (rs.std_avg[ch] + rs.std_std[ch] * z(3 + ch as u64)).max(0.0)),
        }
    });
    SampleParams { affine, jitter, stain, rand_stain }
}

/// Permutation number `v mod 24` of `[0, 1, 2, 3]` (Lehmer code), like
/// torchvision's `randperm(4)` for the order of the colour ops.
fn permutation4(v: u32) -> [u8; 4] {
    let mut k = (v % 24) as usize;
    let mut items = [0u8, 1, 2, 3];
    let mut out = [0u8; 4];
    for (i, o) in out.iter_mut().enumerate() {
        let f = [6, 2, 1, 1][i];
        let j = k / f;
        k %= f;
        *o = items[j];
        items.copy_within(j + 1..4 - i, j);
    }
    out
}

/// `(sin, cos)` of an angle in degrees, with values within 1e-12 of an
/// integer snapped to it (so quarter turns map pixels to pixels exactly).
fn sin_cos_deg(deg: f64) -> (f64, f64) {
    let (s, c) = deg.to_radians().sin_cos();
    let snap = |v: f64| if (v - v.round()).abs() < 1e-12 { v.round() } else { v };
    (snap(s), snap(c))
}

/// Output pixel `(r, c)` samples the input at
/// `(m[0][0]·r + m[0][1]·c + b[0], m[1][0]·r + m[1][1]·c + b[1])`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Affine {
    pub m: [[f64; 2]; 2],
    pub b: [f64; 2],
}

impl Affine {
    /// Keras' matrix about the centre of an `h × w` image, flips folded in.
    pub fn new(p: &AffineParams, h: usize, w: usize) -> Self {
        let (s, c) = sin_cos_deg(p.theta);
        let (ss, sc) = sin_cos_deg(p.shear);
        // R·Sh·Z, column by column.
        let m = [[c * p.zx, (-c * ss - s * sc) * p.zy], [s * p.zx, (-s * ss + c * sc) * p.zy]];
        let t = [c * p.tx - s * p.ty, s * p.tx + c * p.ty];
        let o = [h as f64 / 2.0 - 0.5, w as f64 / 2.0 - 0.5];
        let b = [o[0] + t[0] - (m[0][0] * o[0] + m[0][1] * o[1]), o[1] + t[1] - (m[1][0] * o[0] + m[1][1] * o[1])];
        // Flips: the warped image is read at p = F·q + f.
        let (fr, br) = if p.vflip { (-1.0, (h - 1) as f64) } else { (1.0, 0.0) };
        let (fc, bc) = if p.hflip { (-1.0, (w - 1) as f64) } else { (1.0, 0.0) };
        Self {
            m: [[m[0][0] * fr, m[0][1] * fc], [m[1][0] * fr, m[1][1] * fc]],
            b: [m[0][0] * br + m[0][1] * bc + b[0], m[1][0] * br + m[1][1] * bc + b[1]],
        }
    }
}

/// Warps one `[h, w, c]` u8 image into `out` (`[h, w, c]` f32, 0-255 scale)
/// with bilinear sampling. `fill_value` is used by `FillMode::Constant`.
#[allow(clippy::too_many_arguments)]
pub fn warp_image(p: &AffineParams, fill: FillMode, fill_value: f32, h: usize, w: usize, c: usize, src: &[u8], out: &mut [f32]) {
    debug_assert!(src.len() == h * w * c && out.len() == h * w * c, "warp_image {h}x{w}x{c}");
    let a = Affine::new(p, h, w);
    let k = Coeffs {
        m00: a.m[0][0] as f32,
        m01: a.m[0][1] as f32,
        m10: a.m[1][0] as f32,
        m11: a.m[1][1] as f32,
        b0: a.b[0] as f32,
        b1: a.b[1] as f32,
    };
    if c == 1 {
        warp::<1, false>(&k, fill, fill_value, h, w, src, out);
    } else {
        debug_assert_eq!(c, 3);
        warp::<3, true>(&k, fill, fill_value, h, w, src, out);
    }
}

/// `warp_image` with every pixel on the scalar path: the oracle the SIMD
/// interior path must match bit for bit.
#[cfg(any(test, feature = "selftest"))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn warp_image_scalar(p: &AffineParams, fill: FillMode, fill_value: f32, h: usize, w: usize, c: usize, src: &[u8], out: &mut [f32]) {
    let a = Affine::new(p, h, w);
    let k = Coeffs { m00: a.m[0][0] as f32, m01: a.m[0][1] as f32, m10: a.m[1][0] as f32, m11: a.m[1][1] as f32, b0: a.b[0] as f32, b1: a.b[1] as f32 };
    if c == 1 {
        warp::<1, false>(&k, fill, fill_value, h, w, src, out);
    } else {
        warp::<3, false>(&k, fill, fill_value, h, w, src, out);
    }
}

struct Coeffs {
    m00: f32,
    m01: f32,
    m10: f32,
    m11: f32,
    b0: f32,
    b1: f32,
}

/// `VECTOR`: interior RGB pixels interpolate their three channels as lanes of
/// one f32x4 (the same IEEE operations per channel as `bilerp`, so the same bits).
fn warp<const C: usize, const VECTOR: bool>(k: &Coeffs, fill: FillMode, fill_value: f32, h: usize, w: usize, src: &[u8], out: &mut [f32]) {
    let (hm1, wm1) = ((h - 1) as f32, (w - 1) as f32);
    let row_len = w * C;
    for (r, out_row) in out.chunks_exact_mut(row_len).enumerate() {
        let rf = r as f32;
        let (y_row, x_row) = (k.m00 * rf + k.b0, k.m10 * rf + k.b1);
        for (col, px) in out_row.chunks_exact_mut(C).enumerate() {
            let cf = col as f32;
            let y = y_row + k.m01 * cf;
            let x = x_row + k.m11 * cf;
            if y >= 0.0 && x >= 0.0 && y < hm1 && x < wm1 {
                // Interior: all four neighbours exist.
                let (y0, x0) = (y as usize, x as usize);
                let (fy, fx) = (y - y0 as f32, x - x0 as f32);
                let i00 = (y0 * w + x0) * C;
                if VECTOR && C == 3 && bilerp_rgb_simd(src, i00, row_len, fy, fx, px) {
                    continue;
                }
                bilerp::<C>(src, [i00, i00 + C, i00 + row_len, i00 + row_len + C], fy, fx, px);
                continue;
            }
            let (y0, y1, fy, x0, x1, fx) = match fill {
                FillMode::Constant => {
                    if !(y >= 0.0 && x >= 0.0 && y <= hm1 && x <= wm1) {
                        px.fill(fill_value);
                        continue;
                    }
                    edge_clamped(y, h, x, w)
                }
                FillMode::Nearest => edge_clamped(y.max(0.0).min(hm1), h, x.max(0.0).min(wm1), w),
                FillMode::Reflect => {
                    let (yf, xf) = (y.floor(), x.floor());
                    let (yi, xi) = (yf as i64, xf as i64);
                    (reflect(yi, h), reflect(yi + 1, h), y - yf, reflect(xi, w), reflect(xi + 1, w), x - xf)
                }
            };
            let idx = |yy: usize, xx: usize| (yy * w + xx) * C;
            bilerp::<C>(src, [idx(y0, x0), idx(y0, x1), idx(y1, x0), idx(y1, x1)], fy, fx, px);
        }
    }
}

/// Neighbours of a point inside `[0, h-1] × [0, w-1]`, the upper ones clamped
/// (their weight is 0 on the last row / column).
#[inline(always)]
fn edge_clamped(y: f32, h: usize, x: f32, w: usize) -> (usize, usize, f32, usize, usize, f32) {
    let (y0, x0) = (y as usize, x as usize);
    (y0, (y0 + 1).min(h - 1), y - y0 as f32, x0, (x0 + 1).min(w - 1), x - x0 as f32)
}

/// Half-sample symmetric index: `... 1 0 | 0 1 .. n-1 | n-1 n-2 ...`.
#[inline(always)]
pub(crate) fn reflect(i: i64, n: usize) -> usize {
    let n2 = 2 * n as i64;
    let m = i.rem_euclid(n2);
    (if m >= n as i64 { n2 - 1 - m } else { m }) as usize
}

/// `bilerp::<3>` of the interior pixel whose top-left neighbour starts at
/// byte `i00`, with each neighbour's channels loaded as one 4-byte lane
/// group (the 4th byte belongs to the next pixel and is computed but never
/// stored). Returns false, doing nothing, when the last neighbour's 4th byte
/// would lie past `src` (the image's last pixels) or without SIMD128.
#[inline(always)]
fn bilerp_rgb_simd(src: &[u8], i00: usize, row_len: usize, fy: f32, fx: f32, px: &mut [f32]) -> bool {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        use core::arch::wasm32::*;
        if i00 + row_len + 3 + 4 > src.len() || px.len() < 3 {
            return false;
        }
        // SAFETY: the four 4-byte loads end at i00 + row_len + 7 <= src.len() (checked above).
        let load = |i: usize| unsafe {
            let v = v128_load32_zero(src.as_ptr().add(i) as *const u32);
            f32x4_convert_u32x4(u32x4_extend_low_u16x8(u16x8_extend_low_u8x16(v)))
        };
        let (p00, p01, p10, p11) = (load(i00), load(i00 + 3), load(i00 + row_len), load(i00 + row_len + 3));
        let (fx4, fy4) = (f32x4_splat(fx), f32x4_splat(fy));
        let top = f32x4_add(p00, f32x4_mul(fx4, f32x4_sub(p01, p00)));
        let bot = f32x4_add(p10, f32x4_mul(fx4, f32x4_sub(p11, p10)));
        let v = f32x4_add(top, f32x4_mul(fy4, f32x4_sub(bot, top)));
        px[0] = f32x4_extract_lane::<0>(v);
        px[1] = f32x4_extract_lane::<1>(v);
        px[2] = f32x4_extract_lane::<2>(v);
        true
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        let _ = (src, i00, row_len, fy, fx, px);
        false
    }
}

/// `px[ch] = lerp(lerp(p00, p01, fx), lerp(p10, p11, fx), fy)` with
/// `lerp(a, b, f) = a + f·(b - a)` (exact at `f = 0`).
#[inline(always)]
fn bilerp<const C: usize>(src: &[u8], i: [usize; 4], fy: f32, fx: f32, px: &mut [f32]) {
    for ch in 0..C {
        let (p00, p01) = (src[i[0] + ch] as f32, src[i[1] + ch] as f32);
        let (p10, p11) = (src[i[2] + ch] as f32, src[i[3] + ch] as f32);
        let top = p00 + fx * (p01 - p00);
        let bot = p10 + fx * (p11 - p10);
        px[ch] = top + fy * (bot - top);
    }
}
