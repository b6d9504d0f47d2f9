//! HED stain jitter (Tellez et al. 2019, "Quantifying the effects of data
//! augmentation and stain color normalization in convolutional neural
//! networks for computational pathology"): each pixel is unmixed into
//! haematoxylin, eosin and DAB concentrations by colour deconvolution
//! (Ruifrok & Johnston), each concentration is scaled and shifted,
//! `s' = alpha·s + beta`, and the pixel is mixed back.
//!
//! Concentrations are in optical density (scikit-image's current `rgb2hed`
//! divides them by `-ln(1e-6) ≈ 13.8`: a shift there is 13.8 times larger
//! here; a shift of 0.05 OD is a mild tint): with `v` in `[0, 255]`,
//! `od_c = -ln(max(v_c / 255, 1e-6))`, `s = max(od · HED_FROM_RGB, 0)`; back,
//! `v_c = 255·exp(-(s' · RGB_FROM_HED)_c)`, clamped to `[0, 255]`. `ln` and
//! `exp` are `fast_math`'s inlined versions (libm's calls made this step
//! the slowest of a training batch in wasm).

use super::fast_math::{exp_clamped, ln_pos};

/// Stain OD vectors (rows: haematoxylin, eosin, DAB), scikit-image's `rgb_from_hed`.
pub const RGB_FROM_HED: [[f32; 3]; 3] = [[0.65, 0.70, 0.29], [0.07, 0.99, 0.11], [0.27, 0.57, 0.78]];

/// `inv(RGB_FROM_HED)` (scikit-image's `hed_from_rgb`), from numpy in f64.
pub const HED_FROM_RGB: [[f32; 3]; 3] = [
    [1.877_982_7, -1.007_678_7, -0.556_115_8],
    [-0.065_908_06, 1.134_730_4, -0.135_521_8],
    [-0.601_907_4, -0.480_414_2, 1.573_588],
];

/// One image's drawn stain jitter: concentration `k` becomes `scale[k]·s + shift[k]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StainJitterParams {
    pub scale: [f32; 3],
    pub shift: [f32; 3],
}

impl StainJitterParams {
    pub const IDENTITY: Self = Self { scale: [1.0; 3], shift: [0.0; 3] };
}

/// Applies `p` in place to one RGB `[h, w, 3]` image on the 0-255 scale.
/// The identity leaves the image untouched (no round trip through HED).
pub fn apply_stain_jitter(p: &StainJitterParams, img: &mut [f32]) {
    if *p == StainJitterParams::IDENTITY {
        return;
    }
    for px in img.chunks_exact_mut(3) {
        let l = [0, 1, 2].map(|c| -ln_pos((px[c] * (1.0 / 255.0)).max(1e-6)));
        let mut s = [0.0f32; 3];
        for (k, sk) in s.iter_mut().enumerate() {
            let conc = l[0] * HED_FROM_RGB[0][k] + l[1] * HED_FROM_RGB[1][k] + l[2] * HED_FROM_RGB[2][k];
            *sk = p.scale[k] * conc.max(0.0) + p.shift[k];
        }
        for (c, v) in px.iter_mut().enumerate() {
            let od = s[0] * RGB_FROM_HED[0][c] + s[1] * RGB_FROM_HED[1][c] + s[2] * RGB_FROM_HED[2][c];
            *v = (255.0 * exp_clamped(-od)).max(0.0).min(255.0);
        }
    }
}
