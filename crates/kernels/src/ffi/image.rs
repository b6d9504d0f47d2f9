//! `lc_image_transform`: a batch of uint8 images to f32 model inputs
//! (augmentation and preprocessing, crate::image), arguments in one
//! `#[repr(C)]` struct with named fields.

use super::memory::{check_byte_range, check_f32_range, f32_slice_mut, read_struct};
use super::{pool, status};
use crate::error::KernelError;
use crate::image::mix::{mix_batch, MixKind, MixSpec};
use crate::image::{transform_images, AugmentConfig, FillMode, ImageGeom, Preprocess, RandStainConfig, TransformSpec};

/// Arguments of `lc_image_transform`; every field is 4 bytes (u32 or f32).
/// The TypeScript twin is `IMAGE_TRANSFORM_ARGS` in ts/sdk/src/exec/abi.ts.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ImageTransformArgs {
    /// `[n, h, w, c]` u8 images.
    pub src_ptr: u32,
    /// `[n, h, w, c]` f32 outputs (must not overlap `src` or `ids`).
    pub dst_ptr: u32,
    /// `[n]` u32 sample ids (augmentation draws are keyed by `(seed, epoch, id)`).
    pub ids_ptr: u32,
    pub n: u32,
    pub h: u32,
    pub w: u32,
    /// 1 or 3.
    pub c: u32,
    pub seed_lo: u32,
    pub seed_hi: u32,
    /// The random stream.
    pub epoch: u32,
    /// 0: preprocessing only; 1: augment, then preprocess.
    pub augment: u32,
    /// Degrees.
    pub rotation: f32,
    /// Fractions of the width / height.
    pub width_shift: f32,
    pub height_shift: f32,
    /// Degrees (Keras).
    pub shear: f32,
    pub zoom_lo: f32,
    pub zoom_hi: f32,
    /// 0 or 1.
    pub hflip: u32,
    pub vflip: u32,
    /// 0 nearest, 1 reflect, 2 constant.
    pub fill_mode: u32,
    /// Constant fill, 0-255 scale.
    pub fill_value: f32,
    pub brightness: f32,
    pub contrast: f32,
    pub saturation: f32,
    pub hue: f32,
    /// HED stain jitter ranges (crate::image::hed).
    pub stain_scale: f32,
    pub stain_shift: f32,
    /// Stain randomization (crate::image::randstain): the fitted L*a*b*
    /// distribution and the chance per image (0: off).
    pub rand_stain_mean_avg: [f32; 3],
    pub rand_stain_mean_std: [f32; 3],
    pub rand_stain_std_avg: [f32; 3],
    pub rand_stain_std_std: [f32; 3],
    pub rand_stain_probability: f32,
    /// 0 none, 1 minmax, 2 caffe, 3 standardize.
    pub preprocess: u32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

const _: () = assert!(core::mem::size_of::<ImageTransformArgs>() == 188);

fn flag(v: u32, name: &str) -> Result<bool, KernelError> {
    match v {
        0 => Ok(false),
        1 => Ok(true),
        v => Err(KernelError::value(format!("image_transform: {name} must be 0 or 1, got {v}"))),
    }
}

/// Validates the arguments (every range, even when not augmenting) into a spec.
fn decode(a: &ImageTransformArgs) -> Result<TransformSpec, KernelError> {
    let geom = ImageGeom::new(a.n as usize, a.h as usize, a.w as usize, a.c as usize)?;
    let augment_cfg = AugmentConfig {
        rotation: a.rotation,
        width_shift: a.width_shift,
        height_shift: a.height_shift,
        shear: a.shear,
        zoom: [a.zoom_lo, a.zoom_hi],
        hflip: flag(a.hflip, "hflip")?,
        vflip: flag(a.vflip, "vflip")?,
        fill_mode: FillMode::from_code(a.fill_mode)?,
        fill_value: a.fill_value,
        brightness: a.brightness,
        contrast: a.contrast,
        saturation: a.saturation,
        hue: a.hue,
        stain_scale: a.stain_scale,
        stain_shift: a.stain_shift,
        rand_stain: RandStainConfig {
            mean_avg: a.rand_stain_mean_avg,
            mean_std: a.rand_stain_mean_std,
            std_avg: a.rand_stain_std_avg,
            std_std: a.rand_stain_std_std,
            probability: a.rand_stain_probability,
        },
    };
    // Ranges are validated even when this call does not augment.
    augment_cfg.validate()?;
    let spec = TransformSpec {
        geom,
        seed: (a.seed_hi as u64) << 32 | a.seed_lo as u64,
        epoch: a.epoch,
        augment: flag(a.augment, "augment")?.then_some(augment_cfg),
        preprocess: Preprocess::from_code(a.preprocess, a.mean, a.std)?,
    };
    spec.validate()?;
    Ok(spec)
}

fn overlap(a: (usize, usize), b: (usize, usize)) -> bool {
    a.0 < b.0 + b.1 && b.0 < a.0 + a.1
}

/// A validated `lc_image_transform` call: its spec and its buffers' addresses.
pub(super) struct CheckedTransform {
    spec: TransformSpec,
    src: usize,
    dst: usize,
    ids: usize,
}

impl CheckedTransform {
    /// Reads and validates the `ImageTransformArgs` at `args_ptr`: every
    /// range, every buffer inside memory, `dst` overlapping neither input.
    pub(super) fn read(args_ptr: usize) -> Result<Self, KernelError> {
        let a: ImageTransformArgs = read_struct(args_ptr, "image_transform: args")?;
        let spec = decode(&a)?;
        let len = spec.geom.len();
        let (src, dst, ids) = (a.src_ptr as usize, a.dst_ptr as usize, a.ids_ptr as usize);
        check_byte_range(src, len, "image_transform: src")?;
        check_f32_range(dst, len, "image_transform: dst")?;
        check_f32_range(ids, spec.geom.n, "image_transform: ids")?;
        let checked = Self { spec, src, dst, ids };
        if checked.writes_into(src, len) || checked.writes_into(ids, spec.geom.n * 4) {
            return Err(KernelError::pointer("image_transform: dst overlaps src or ids"));
        }
        Ok(checked)
    }

    /// Whether `dst` overlaps the `bytes` bytes at `ptr`.
    pub(super) fn writes_into(&self, ptr: usize, bytes: usize) -> bool {
        overlap((self.dst, self.spec.geom.len() * 4), (ptr, bytes))
    }

    /// Transforms the batch on the calling thread (its loop joins the pool when
    /// the caller is on it). The caller must not let anything else access
    /// `dst` meanwhile.
    pub(super) fn run(&self) {
        let (len, n) = (self.spec.geom.len(), self.spec.geom.n);
        // SAFETY: every range was checked by `read` and dst overlaps neither input.
        let (src, ids, dst) = unsafe {
            (
                std::slice::from_raw_parts(self.src as *const u8, len),
                std::slice::from_raw_parts(self.ids as *const u32, n),
                std::slice::from_raw_parts_mut(self.dst as *mut f32, len),
            )
        };
        transform_images(&self.spec, src, ids, dst);
    }
}

/// The work a training step stages for the next batch
/// (`lc_model_train_step_prefetch`): its image transform and, optionally, a
/// mixing of the transform's output, run one after the other.
pub(super) struct StagedBatch {
    transform: CheckedTransform,
    mix: Option<CheckedMix>,
}

impl StagedBatch {
    /// Reads both argument structs (`mix_args_ptr` 0: no mixing); the mixing
    /// must cover the transform's output and write nothing the transform reads or writes.
    pub(super) fn read(transform_args_ptr: usize, mix_args_ptr: usize) -> Result<Self, KernelError> {
        let transform = CheckedTransform::read(transform_args_ptr)?;
        let mix = if mix_args_ptr == 0 { None } else { Some(CheckedMix::read(mix_args_ptr)?) };
        if let Some(m) = &mix {
            let (len, n) = (transform.spec.geom.len(), transform.spec.geom.n);
            if m.batch_len() != len {
                return Err(KernelError::geometry(format!("train_step_prefetch: the mixing covers {} values, the transform writes {len}", m.batch_len())));
            }
            m.check_inputs(transform.dst)?;
            if m.writes_into(transform.src, len) || m.writes_into(transform.ids, n * 4) {
                return Err(KernelError::pointer("train_step_prefetch: the mixing's buffers overlap the transform's src or ids"));
            }
        }
        Ok(Self { transform, mix })
    }

    /// Whether anything the staged work writes overlaps the `bytes` bytes at `ptr`.
    pub(super) fn writes_into(&self, ptr: usize, bytes: usize) -> bool {
        self.transform.writes_into(ptr, bytes) || self.mix.as_ref().is_some_and(|m| m.writes_into(ptr, bytes))
    }

    /// Transforms, then mixes, on the calling thread.
    pub(super) fn run(&self) {
        self.transform.run();
        if let Some(m) = &self.mix {
            m.run(self.transform.dst);
        }
    }
}

/// Transforms `n` images (see `ImageTransformArgs` and crate::image).
/// Returns 0 or an `ErrorCode` (message via `lc_last_error_*`).
#[no_mangle]
pub extern "C" fn lc_image_transform(args_ptr: usize) -> i32 {
    status(CheckedTransform::read(args_ptr).and_then(|t| pool::run(|| t.run())))
}

/// Arguments of a batch mixing (crate::image::mix): `lc_mix_batch`'s, and the
/// optional second part of `lc_model_train_step_prefetch`'s staged work.
/// Every field is 4 bytes. The TypeScript twin is `MIX_ARGS` in
/// ts/sdk/src/exec/abi.ts.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MixArgs {
    /// 1 MixUp, 2 CutMix.
    pub kind: u32,
    /// `α` of the `Beta(α, α)` weights.
    pub alpha: f32,
    pub seed_lo: u32,
    pub seed_hi: u32,
    pub epoch: u32,
    /// Position of the batch's first input in the epoch's order.
    pub first: u32,
    /// The batch: `n` inputs `[h, w, c]`.
    pub n: u32,
    pub h: u32,
    pub w: u32,
    pub c: u32,
    /// `[n]` f32: each input's weight (written).
    pub lambdas_ptr: u32,
    /// `n·h·w·c` f32 of scratch (the partners are read from it).
    pub scratch_ptr: u32,
}

const _: () = assert!(core::mem::size_of::<MixArgs>() == 48);

/// A validated mixing: its spec and the buffers it writes besides the inputs.
pub(super) struct CheckedMix {
    spec: MixSpec,
    lambdas: usize,
    scratch: usize,
}

impl CheckedMix {
    /// Reads and validates the `MixArgs` at `args_ptr`: the spec, and its two
    /// buffers inside memory and apart.
    pub(super) fn read(args_ptr: usize) -> Result<Self, KernelError> {
        let a: MixArgs = read_struct(args_ptr, "mix_batch: args")?;
        let spec = MixSpec {
            n: a.n as usize,
            h: a.h as usize,
            w: a.w as usize,
            c: a.c as usize,
            kind: MixKind::from_code(a.kind)?,
            alpha: a.alpha,
            seed: (a.seed_hi as u64) << 32 | a.seed_lo as u64,
            epoch: a.epoch,
            first: a.first,
        };
        spec.validate()?;
        let (lambdas, scratch) = (a.lambdas_ptr as usize, a.scratch_ptr as usize);
        check_f32_range(lambdas, spec.n, "mix_batch: lambdas")?;
        check_f32_range(scratch, spec.batch_len(), "mix_batch: scratch")?;
        let checked = Self { spec, lambdas, scratch };
        if overlap((lambdas, spec.n * 4), (scratch, spec.batch_len() * 4)) {
            return Err(KernelError::pointer("mix_batch: lambdas and scratch overlap"));
        }
        Ok(checked)
    }

    /// Checks that the inputs at `x` (the batch) are in memory and apart from the mixing's own buffers.
    pub(super) fn check_inputs(&self, x: usize) -> Result<(), KernelError> {
        check_f32_range(x, self.spec.batch_len(), "mix_batch: x")?;
        if self.writes_into(x, self.spec.batch_len() * 4) {
            return Err(KernelError::pointer("mix_batch: x overlaps lambdas or scratch"));
        }
        Ok(())
    }

    /// Whether the mixing's own buffers (lambdas, scratch) overlap the `bytes` bytes at `ptr`.
    pub(super) fn writes_into(&self, ptr: usize, bytes: usize) -> bool {
        overlap((self.lambdas, self.spec.n * 4), (ptr, bytes)) || overlap((self.scratch, self.spec.batch_len() * 4), (ptr, bytes))
    }

    /// Elements of the batch it mixes.
    pub(super) fn batch_len(&self) -> usize {
        self.spec.batch_len()
    }

    /// Mixes the inputs at `x` (checked by `check_inputs`) on the calling
    /// thread; nothing else may access them or the mixing's buffers meanwhile.
    pub(super) fn run(&self, x: usize) {
        let (len, n) = (self.spec.batch_len(), self.spec.n);
        // SAFETY: every range was checked by `read` and `check_inputs`, and the three do not overlap.
        let (x, lambdas, scratch) = unsafe { (f32_slice_mut(x, len), f32_slice_mut(self.lambdas, n), f32_slice_mut(self.scratch, len)) };
        mix_batch(&self.spec, x, lambdas, scratch);
    }
}

/// Mixes the batch of inputs at `x_ptr` in place by MixUp or CutMix (see
/// `MixArgs` and crate::image::mix) and writes each input's weight.
/// Returns 0 or an `ErrorCode`.
#[no_mangle]
pub extern "C" fn lc_mix_batch(x_ptr: usize, args_ptr: usize) -> i32 {
    status(CheckedMix::read(args_ptr).and_then(|m| {
        m.check_inputs(x_ptr)?;
        pool::run(|| m.run(x_ptr))
    }))
}
