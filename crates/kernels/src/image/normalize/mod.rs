//! Stain normalization of 8-bit RGB images: Reinhard (L*a*b* statistics) and
//! Macenko (stain vectors from the optical densities). Each image is mapped
//! on its own to a target: statistics fitted on training images (the SDK
//! takes medians of the per-image `fit_images` rows) and stored with the
//! model, so training and inference normalize identically. Images are
//! processed in parallel, one image per chunk, so results do not depend on
//! the thread count.

pub mod lab;
pub mod linalg;
pub mod macenko;
pub mod reinhard;

use super::ImageGeom;
use crate::error::KernelError;
use crate::par;

/// Parameters per image or target (see `StainMethod`).
pub const STAIN_PARAMS: usize = 8;
pub type StainParams = [f64; STAIN_PARAMS];
/// `fit_images` writes the parameters and a validity flag (1 or 0) per image.
pub const FIT_ROW: usize = STAIN_PARAMS + 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StainMethod {
    /// `[mean L, mean a, mean b, std L, std a, std b, 0, 0]`.
    Reinhard = 1,
    /// `[H rgb, E rgb, maxC H, maxC E]` (unit optical-density stain vectors).
    Macenko = 2,
}

impl StainMethod {
    pub fn from_code(v: u32) -> Result<Self, KernelError> {
        match v {
            1 => Ok(Self::Reinhard),
            2 => Ok(Self::Macenko),
            v => Err(KernelError::value(format!("stain: method must be 1 (reinhard) or 2 (macenko), got {v}"))),
        }
    }

    /// One image's parameters, `None` when they cannot be estimated (Macenko: too little tissue).
    pub fn fit(self, img: &[u8]) -> Option<StainParams> {
        match self {
            Self::Reinhard => Some(reinhard::fit(img)),
            Self::Macenko => macenko::fit(img),
        }
    }

    /// Normalizes one image in place; false when it was left untouched (its own parameters could not be estimated).
    pub fn apply(self, target: &StainParams, img: &mut [u8]) -> bool {
        match self {
            Self::Reinhard => {
                reinhard::apply(target, img);
                true
            }
            Self::Macenko => macenko::apply(target, img),
        }
    }

    /// Checks a target: finite; Reinhard standard deviations >= 0; Macenko
    /// stain vectors of unit length with non-negative components and maxima > 0.
    pub fn validate_target(self, t: &StainParams) -> Result<(), KernelError> {
        if let Some(i) = t.iter().position(|v| !v.is_finite()) {
            return Err(KernelError::value(format!("stain: target[{i}] must be finite, got {}", t[i])));
        }
        match self {
            Self::Reinhard => {
                if let Some(ch) = (0..3).find(|&ch| t[3 + ch] < 0.0) {
                    return Err(KernelError::value(format!("stain: reinhard std[{ch}] must be >= 0, got {}", t[3 + ch])));
                }
            }
            Self::Macenko => {
                for (name, v) in [("haematoxylin", &t[0..3]), ("eosin", &t[3..6])] {
                    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
                    if (norm - 1.0).abs() > 1e-3 || v.iter().any(|&x| x < -1e-6) {
                        return Err(KernelError::value(format!("stain: macenko {name} vector must be unit length and non-negative, got {v:?}")));
                    }
                }
                if !(t[6] > 0.0 && t[7] > 0.0) {
                    return Err(KernelError::value(format!("stain: macenko max concentrations must be > 0, got [{}, {}]", t[6], t[7])));
                }
            }
        }
        Ok(())
    }
}

fn check_rgb(geom: &ImageGeom) -> Result<(), KernelError> {
    if geom.c != 3 {
        return Err(KernelError::geometry(format!("stain: images must have 3 channels (RGB), got c = {}", geom.c)));
    }
    Ok(())
}

/// Images per call below which the batch runs serially.
const PARALLEL_MIN_ELEMENTS: usize = 1 << 14;

/// Per-image parameters: `out` `[n, FIT_ROW]` receives each image's
/// parameters (f32) and 1, or zeros and 0 when they could not be estimated.
pub fn fit_images(method: StainMethod, geom: &ImageGeom, images: &[u8], out: &mut [f32]) -> Result<(), KernelError> {
    check_rgb(geom)?;
    debug_assert_eq!(images.len(), geom.len());
    debug_assert_eq!(out.len(), geom.n * FIT_ROW);
    let plane = geom.plane();
    par::for_each_chunk_mut(out, FIT_ROW, geom.n > 1 && geom.len() >= PARALLEL_MIN_ELEMENTS, |i, row| {
        match method.fit(&images[i * plane..(i + 1) * plane]) {
            Some(p) => {
                for (o, v) in row.iter_mut().zip(p) {
                    *o = v as f32;
                }
                row[STAIN_PARAMS] = 1.0;
            }
            None => row.fill(0.0),
        }
    });
    Ok(())
}

/// Normalizes `images` `[n, h, w, 3]` in place towards `target` (validated
/// here); `untouched[i]` is 1 for each image left as it was (see `StainMethod::apply`), else 0.
pub fn normalize_images(method: StainMethod, target: &StainParams, geom: &ImageGeom, images: &mut [u8], untouched: &mut [u32]) -> Result<(), KernelError> {
    check_rgb(geom)?;
    method.validate_target(target)?;
    debug_assert_eq!(images.len(), geom.len());
    debug_assert_eq!(untouched.len(), geom.n);
    let parallel = geom.n > 1 && geom.len() >= PARALLEL_MIN_ELEMENTS;
    par::for_each_chunk_pair_mut(images, geom.plane(), untouched, 1, parallel, |_, img, flag| {
        flag[0] = u32::from(!method.apply(target, img));
    });
    Ok(())
}
