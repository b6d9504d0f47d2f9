//! Image batches: uint8 NHWC images to f32 model inputs in one pass per image,
//! with optional random augmentation (training) and the model's preprocessing.
//!
//! For each image `i` of a batch (all `[h, w, c]`, `c` = 1 or 3):
//! 0. **Stain randomization** (augmenting, RGB only): the 8-bit image is
//!    Reinhard-transferred to a random L*a*b* target drawn from the training
//!    images' fitted statistics (RandStainNA, see `randstain`), before the
//!    warp so that fill pixels do not enter its statistics.
//! 1. **Affine warp** (augmenting only): one bilinear resampling combining
//!    rotation, shifts, shear, zoom and flips, with Keras'
//!    `ImageDataGenerator` / `apply_affine_transform` conventions (see
//!    `augment`). Without augmentation the pixels are copied.
//! 2. **Stain jitter** (augmenting, RGB only): HED colour-deconvolution
//!    scale and shift of the haematoxylin/eosin/DAB concentrations (see `hed`).
//! 3. **Colour jitter** (augmenting only): brightness, contrast, saturation and
//!    hue like torchvision's `ColorJitter`, in a random order (see `color`).
//! 4. **Preprocessing** (always): `none`, `minmax`, `caffe` or `standardize`
//!    (see `Preprocess`).
//!
//! Steps 0-3 work on the 0-255 scale. Every random value of image `i` is
//! `CounterRng::new(seed, epoch)` value `ids[i]·DRAWS_PER_SAMPLE + d` for a
//! fixed draw index `d` (`augment::draw`; the stain jitter's six values and
//! the stain randomization's seven live in separate ranges,
//! `augment::stain_draw` and `augment::rand_stain_draw`), so an image's result depends only
//! on `(seed, epoch, ids[i])` and its pixels: not on the thread count, nor on
//! the batch it lands in, nor on its position there.
//!
//! Images are processed in parallel, one image per chunk.

pub mod augment;
pub mod color;
pub mod fast_math;
pub mod hed;
pub mod mix;
pub mod normalize;
pub mod preprocess;
pub mod randstain;

pub use augment::{draw_params, warp_image, Affine, AffineParams, SampleParams, DRAWS_PER_SAMPLE};
pub use color::{apply_jitter, JitterParams};
pub use hed::{apply_stain_jitter, StainJitterParams};
pub use preprocess::{preprocess_image, Preprocess};
pub use randstain::{RandStainConfig, StainTarget};

use crate::error::KernelError;
use crate::par;
use crate::rng::CounterRng;

/// How points that fall outside the input are filled (Keras' `fill_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FillMode {
    /// `aaaaaaaa|abcd|dddddddd`: the nearest edge pixel.
    Nearest = 0,
    /// `abcddcba|abcd|dcbaabcd`: mirrored about the edge (half-sample symmetric).
    Reflect = 1,
    /// `kkkkkkkk|abcd|kkkkkkkk` with `k = fill_value`: any sample point outside
    /// `[0, h-1] × [0, w-1]` is `k` (no interpolation across the edge, like
    /// scipy's `mode='constant'` under Keras).
    Constant = 2,
}

impl FillMode {
    pub fn from_code(v: u32) -> Result<Self, KernelError> {
        match v {
            0 => Ok(Self::Nearest),
            1 => Ok(Self::Reflect),
            2 => Ok(Self::Constant),
            v => Err(KernelError::value(format!("image: fill_mode must be 0 (nearest), 1 (reflect) or 2 (constant), got {v}"))),
        }
    }
}

/// Batch geometry: `n` images `[h, w, c]`, NHWC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageGeom {
    pub n: usize,
    pub h: usize,
    pub w: usize,
    pub c: usize,
}

impl ImageGeom {
    /// Validates `n, h, w >= 1`, `c` in {1, 3} and that `n·h·w·c` f32 fit in memory.
    pub fn new(n: usize, h: usize, w: usize, c: usize) -> Result<Self, KernelError> {
        for (name, v) in [("n", n), ("h", h), ("w", w)] {
            if v == 0 {
                return Err(KernelError::geometry(format!("image: {name} must be >= 1, got 0 ([n, h, w, c] = [{n}, {h}, {w}, {c}])")));
            }
        }
        if c != 1 && c != 3 {
            return Err(KernelError::geometry(format!("image: c must be 1 or 3, got {c} ([n, h, w, c] = [{n}, {h}, {w}, {c}])")));
        }
        let bytes = [n, h, w, c].iter().try_fold(4usize, |acc, &d| acc.checked_mul(d));
        // Coordinates are f32: keep every index exactly representable.
        if !bytes.is_some_and(|b| b <= isize::MAX as usize) || h > (1 << 24) || w > (1 << 24) {
            return Err(KernelError::geometry(format!("image: [n, h, w, c] = [{n}, {h}, {w}, {c}] is too large")));
        }
        Ok(Self { n, h, w, c })
    }
    /// Elements of one image, `h·w·c`.
    pub fn plane(&self) -> usize {
        self.h * self.w * self.c
    }
    /// Elements of the batch, `n·h·w·c`.
    pub fn len(&self) -> usize {
        self.n * self.plane()
    }
}

/// Augmentation ranges, with Keras `ImageDataGenerator` and torchvision
/// `ColorJitter` meanings. All zero (and zoom `[1, 1]`, no flips) is the identity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AugmentConfig {
    /// Degrees; the angle is uniform in `[-rotation, rotation]`.
    pub rotation: f32,
    /// Fraction of the width; the shift is uniform in `[-width_shift, width_shift]·w` pixels.
    pub width_shift: f32,
    /// Fraction of the height.
    pub height_shift: f32,
    /// Degrees (Keras' `shear_range` is in degrees); uniform in `[-shear, shear]`.
    pub shear: f32,
    /// `[lo, hi]`; zoom factors along rows and columns drawn independently and
    /// uniformly from it (Keras' `zoom_range`; > 1 zooms out).
    pub zoom: [f32; 2],
    /// Mirror left-right with probability 1/2.
    pub hflip: bool,
    /// Mirror top-bottom with probability 1/2.
    pub vflip: bool,
    pub fill_mode: FillMode,
    /// The constant of `FillMode::Constant`, on the 0-255 scale.
    pub fill_value: f32,
    /// Factor uniform in `[max(0, 1 - b), 1 + b]`.
    pub brightness: f32,
    /// Factor uniform in `[max(0, 1 - c), 1 + c]`.
    pub contrast: f32,
    /// Factor uniform in `[max(0, 1 - s), 1 + s]` (3-channel images only).
    pub saturation: f32,
    /// Hue shift uniform in `[-hue, hue]`, as a fraction of the colour wheel, `hue <= 0.5` (3-channel only).
    pub hue: f32,
    /// HED stain jitter (3-channel only): each concentration's scale is uniform
    /// in `[1 - stain_scale, 1 + stain_scale]` (Tellez' `alpha`), `<= 1`.
    pub stain_scale: f32,
    /// Each concentration's shift is uniform in `[-stain_shift, stain_shift]`
    /// (Tellez' `beta`, optical-density units), `<= 1`.
    pub stain_shift: f32,
    /// Stain randomization (3-channel only; `RandStainConfig::OFF`: none).
    pub rand_stain: RandStainConfig,
}

impl AugmentConfig {
    /// No augmentation at all.
    pub const IDENTITY: Self = Self {
        rotation: 0.0,
        width_shift: 0.0,
        height_shift: 0.0,
        shear: 0.0,
        zoom: [1.0, 1.0],
        hflip: false,
        vflip: false,
        fill_mode: FillMode::Nearest,
        fill_value: 0.0,
        brightness: 0.0,
        contrast: 0.0,
        saturation: 0.0,
        hue: 0.0,
        stain_scale: 0.0,
        stain_shift: 0.0,
        rand_stain: RandStainConfig::OFF,
    };

    /// Checks every range; messages name the field, the expected and the received value.
    pub fn validate(&self) -> Result<(), KernelError> {
        let check = |name: &str, v: f32, lo: f32, hi: f32, expected: &str| {
            if v.is_finite() && v >= lo && v <= hi {
                Ok(())
            } else {
                Err(KernelError::value(format!("image: {name} must be {expected}, got {v}")))
            }
        };
        check("rotation", self.rotation, 0.0, 360.0, "in [0, 360] degrees")?;
        check("width_shift", self.width_shift, 0.0, 1.0, "a fraction in [0, 1]")?;
        check("height_shift", self.height_shift, 0.0, 1.0, "a fraction in [0, 1]")?;
        check("shear", self.shear, 0.0, 89.0, "in [0, 89] degrees")?;
        check("zoom_lo", self.zoom[0], 1e-3, 100.0, "in [0.001, 100]")?;
        check("zoom_hi", self.zoom[1], self.zoom[0], 100.0, &format!("in [zoom_lo = {}, 100]", self.zoom[0]))?;
        check("fill_value", self.fill_value, f32::MIN, f32::MAX, "finite")?;
        check("brightness", self.brightness, 0.0, 1e6, "finite and >= 0")?;
        check("contrast", self.contrast, 0.0, 1e6, "finite and >= 0")?;
        check("saturation", self.saturation, 0.0, 1e6, "finite and >= 0")?;
        check("hue", self.hue, 0.0, 0.5, "in [0, 0.5]")?;
        check("stain_scale", self.stain_scale, 0.0, 1.0, "in [0, 1]")?;
        check("stain_shift", self.stain_shift, 0.0, 1.0, "in [0, 1]")?;
        self.rand_stain.validate()
    }

    /// True when some geometric augmentation is enabled.
    pub fn geometric(&self) -> bool {
        self.rotation != 0.0
            || self.width_shift != 0.0
            || self.height_shift != 0.0
            || self.shear != 0.0
            || self.zoom != [1.0, 1.0]
            || self.hflip
            || self.vflip
    }

    /// True when some colour jitter is enabled (for images with `c` channels).
    pub fn jitter(&self, c: usize) -> bool {
        self.brightness != 0.0 || self.contrast != 0.0 || (c == 3 && (self.saturation != 0.0 || self.hue != 0.0))
    }

    /// True when HED stain jitter is enabled and applies (RGB images).
    pub fn stain(&self, c: usize) -> bool {
        c == 3 && (self.stain_scale != 0.0 || self.stain_shift != 0.0)
    }
}

/// Everything one call needs besides the slices.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TransformSpec {
    pub geom: ImageGeom,
    pub seed: u64,
    /// The random stream: a new epoch gives new draws.
    pub epoch: u32,
    /// `None`: preprocessing only (evaluation, prediction).
    pub augment: Option<AugmentConfig>,
    pub preprocess: Preprocess,
}

impl TransformSpec {
    pub fn validate(&self) -> Result<(), KernelError> {
        if let Some(a) = &self.augment {
            a.validate()?;
        }
        self.preprocess.validate(self.geom.c)
    }
}

/// Images per call below which the batch runs serially.
const PARALLEL_MIN_ELEMENTS: usize = 1 << 14;

/// Transforms a batch: `src` `[n, h, w, c]` u8, `ids` `[n]` (a stable id per
/// image), `dst` `[n, h, w, c]` f32. `spec` must have been validated.
pub fn transform_images(spec: &TransformSpec, src: &[u8], ids: &[u32], dst: &mut [f32]) {
    let g = spec.geom;
    debug_assert_eq!(src.len(), g.len(), "image {g:?}");
    debug_assert_eq!(dst.len(), g.len(), "image {g:?}");
    debug_assert_eq!(ids.len(), g.n, "image {g:?}");
    let plane = g.plane();
    let parallel = g.n > 1 && g.len() >= PARALLEL_MIN_ELEMENTS;
    // The colour tables are built once per batch, not per image.
    let lab = rand_stain_tables(spec);
    par::for_each_chunk_mut(dst, plane, parallel, |i, out| {
        transform_with(spec, lab.as_ref(), ids[i], &src[i * plane..(i + 1) * plane], out);
    });
}

/// One image (`src`, `out`: `[h, w, c]`) with sample id `id`.
pub fn transform_one(spec: &TransformSpec, id: u32, src: &[u8], out: &mut [f32]) {
    transform_with(spec, rand_stain_tables(spec).as_ref(), id, src, out);
}

/// The stain randomization's colour tables, when `spec` randomizes stains.
fn rand_stain_tables(spec: &TransformSpec) -> Option<randstain::FastLab> {
    spec.augment.filter(|a| a.rand_stain.enabled(spec.geom.c)).map(|_| randstain::FastLab::new())
}

/// `transform_one` with the stain randomization's tables (present when it is enabled).
fn transform_with(spec: &TransformSpec, lab: Option<&randstain::FastLab>, id: u32, src: &[u8], out: &mut [f32]) {
    let g = spec.geom;
    match &spec.augment {
        Some(cfg) if cfg.geometric() || cfg.stain(g.c) || cfg.jitter(g.c) || cfg.rand_stain.enabled(g.c) => {
            let rng = CounterRng::new(spec.seed, spec.epoch as u64);
            let p = draw_params(cfg, g.h, g.w, &rng, id);
            let recoloured;
            let src = match (&p.rand_stain, lab) {
                (Some(target), Some(lab)) => {
                    let mut img = src.to_vec();
                    randstain::apply(lab, target, &mut img);
                    recoloured = img;
                    &recoloured[..]
                }
                _ => src,
            };
            if cfg.geometric() {
                warp_image(&p.affine, cfg.fill_mode, cfg.fill_value, g.h, g.w, g.c, src, out);
            } else {
                copy_u8(src, out);
            }
            if cfg.stain(g.c) {
                apply_stain_jitter(&p.stain, out);
            }
            if cfg.jitter(g.c) {
                apply_jitter(&p.jitter, g.c, out);
            }
        }
        _ => copy_u8(src, out),
    }
    preprocess_image(&spec.preprocess, g.c, out);
}

fn copy_u8(src: &[u8], out: &mut [f32]) {
    for (o, &s) in out.iter_mut().zip(src) {
        *o = s as f32;
    }
}

#[cfg(any(test, feature = "selftest"))]
pub(crate) mod tests;
#[cfg(any(test, feature = "selftest"))]
pub(crate) mod stain_tests;
#[cfg(any(test, feature = "selftest"))]
pub(crate) mod randstain_tests;
#[cfg(any(test, feature = "selftest"))]
pub(crate) mod mix_tests;
