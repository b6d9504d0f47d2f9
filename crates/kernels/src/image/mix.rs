//! Batch mixing for training: MixUp (Zhang et al. 2018) and CutMix (Yun et
//! al. 2019), on a batch of model inputs `[n, h, w, c]` (f32, NHWC) that is
//! already augmented and preprocessed.
//!
//! Image `i` is mixed with its partner, the image before it in the batch
//! (`i - 1`; image 0 with image `n - 1`: torchvision.transforms.v2's
//! `roll(1)`, the batch order being the epoch's seeded shuffle), with its own
//! weight `λ_i ~ Beta(α, α)` (one per sample, as Keras' `MixUp` layer and
//! timm's `elem` mode; torchvision draws one per batch):
//! - **MixUp**: `x_i ← λ_i·x_i + (1 - λ_i)·x_partner`, every element;
//! - **CutMix**: a box of about `1 - λ_i` of the image, centred on a uniform
//!   pixel and clipped to the image (torchvision's rule: half-sides
//!   `⌊0.5·√(1 - λ)·h⌋` and `⌊0.5·√(1 - λ)·w⌋`), takes the partner's pixels;
//!   `λ_i` becomes the share of the image left, `1 - box area / (h·w)`.
//!
//! The kernel returns each `λ_i`; the caller mixes the targets alike,
//! `t_i ← λ_i·t_i + (1 - λ_i)·t_partner`.
//!
//! Every draw of sample `i` is value `MIX_DRAW_BASE + (first + i)·MIX_DRAWS +
//! d` of the `(seed, epoch)` stream: `first + i` is the sample's position in
//! the epoch's order, so a batch's mixing depends only on the seed, the epoch
//! and that order, never on the thread count. The range lies above the image
//! transform's (`augment::draw`, `stain_draw`, `rand_stain_draw`), so one seed
//! serves both without correlating them.
//!
//! The partners are read from a copy of the batch (`scratch`), so each image
//! is written once, in parallel over images.

use crate::error::KernelError;
use crate::par;
use crate::rng::CounterRng;
use crate::simd::F32x4;
use crate::vecops::copy;

/// Which mixing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MixKind {
    MixUp = 1,
    CutMix = 2,
}

impl MixKind {
    pub fn from_code(v: u32) -> Result<Self, KernelError> {
        match v {
            1 => Ok(Self::MixUp),
            2 => Ok(Self::CutMix),
            v => Err(KernelError::value(format!("mix_batch: kind must be 1 (MixUp) or 2 (CutMix), got {v}"))),
        }
    }
}

/// Start of the mixing draws in the `(seed, epoch)` stream (above the image
/// transform's ranges, which end below `1 << 42`).
pub const MIX_DRAW_BASE: u64 = 1 << 42;
/// Draws reserved per sample: two gamma variates of `GAMMA_TRIES` tries of
/// three values each and one more for a shape below 1, then the box centre.
pub const MIX_DRAWS: u64 = 2 * GAMMA_DRAWS + 2;
/// Rejection tries per gamma variate. Marsaglia and Tsang's method accepts
/// more than 95% of tries for every shape, so all 40 fail with probability
/// below 1e-52; the variate is then its mean (documented, never reached in
/// practice, and keeps the draw count fixed).
const GAMMA_TRIES: u64 = 40;
const GAMMA_DRAWS: u64 = 3 * GAMMA_TRIES + 1;

/// A batch of `n` inputs `[h, w, c]` and how to mix it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MixSpec {
    pub n: usize,
    pub h: usize,
    pub w: usize,
    pub c: usize,
    pub kind: MixKind,
    /// `α` of `Beta(α, α)`, finite and > 0.
    pub alpha: f32,
    pub seed: u64,
    pub epoch: u32,
    /// Position of the batch's first sample in the epoch's order.
    pub first: u32,
}

impl MixSpec {
    /// Validates the sizes (`n, h, w, c >= 1`, addressable) and `α`.
    pub fn validate(&self) -> Result<(), KernelError> {
        let dims = [("n", self.n), ("h", self.h), ("w", self.w), ("c", self.c)];
        if let Some((name, _)) = dims.iter().find(|(_, v)| *v == 0) {
            return Err(KernelError::geometry(format!("mix_batch: {name} must be >= 1 ([n, h, w, c] = [{}, {}, {}, {}])", self.n, self.h, self.w, self.c)));
        }
        if dims.iter().try_fold(4usize, |acc, (_, d)| acc.checked_mul(*d)).is_none_or(|b| b > isize::MAX as usize) {
            return Err(KernelError::geometry(format!("mix_batch: [n, h, w, c] = [{}, {}, {}, {}] is too large", self.n, self.h, self.w, self.c)));
        }
        if !(self.alpha.is_finite() && self.alpha > 0.0) {
            return Err(KernelError::value(format!("mix_batch: alpha must be finite and > 0, got {}", self.alpha)));
        }
        if (self.first as u64) + (self.n as u64) > u32::MAX as u64 + 1 {
            return Err(KernelError::value(format!("mix_batch: first + n must be at most 2^32, got {} + {}", self.first, self.n)));
        }
        Ok(())
    }

    /// Elements of one input, `h·w·c`.
    pub fn plane(&self) -> usize {
        self.h * self.w * self.c
    }

    /// Elements of the batch.
    pub fn batch_len(&self) -> usize {
        self.n * self.plane()
    }
}

/// Rows `y0..y1` and columns `x0..x1` of a CutMix box (empty when `y0 == y1` or `x0 == x1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MixBox {
    pub y0: usize,
    pub y1: usize,
    pub x0: usize,
    pub x1: usize,
}

/// What sample `i` of a batch gets: its weight and, for CutMix, its box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleMix {
    /// The weight of the sample's own input and target.
    pub lambda: f32,
    pub cut: Option<MixBox>,
}

/// `(u + 0.5)·2^-32`: uniform in the open interval `(0, 1)` (logarithms stay finite).
fn open_uniform(rng: &CounterRng, i: u64) -> f64 {
    (rng.u32_at(i) as f64 + 0.5) * (1.0 / 4_294_967_296.0)
}

/// A `Gamma(shape, 1)` variate from draws `base ..` (Marsaglia and Tsang
/// 2000; for a shape below 1, `Gamma(shape + 1)·U^(1/shape)`).
fn gamma(rng: &CounterRng, base: u64, shape: f64) -> f64 {
    let a = if shape < 1.0 { shape + 1.0 } else { shape };
    let d = a - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    let mut g = a;
    for t in 0..GAMMA_TRIES {
        let at = base + 3 * t;
        // Box-Muller: one standard normal from two uniforms.
        let z = (-2.0 * open_uniform(rng, at).ln()).sqrt() * (core::f64::consts::TAU * open_uniform(rng, at + 1)).cos();
        let v = (1.0 + c * z).powi(3);
        if v > 0.0 && open_uniform(rng, at + 2).ln() < 0.5 * z * z + d - d * v + d * v.ln() {
            g = d * v;
            break;
        }
    }
    if shape < 1.0 {
        g * open_uniform(rng, base + 3 * GAMMA_TRIES).powf(1.0 / shape)
    } else {
        g
    }
}

/// `Beta(α, α)` as `X / (X + Y)` of two gamma variates.
fn beta(rng: &CounterRng, base: u64, alpha: f64) -> f64 {
    let x = gamma(rng, base, alpha);
    let y = gamma(rng, base + GAMMA_DRAWS, alpha);
    // Both underflow to 0 only for tiny α; Beta(α, α) is then 0 or 1 with equal chance.
    if x + y > 0.0 { x / (x + y) } else { f64::from(u8::from(rng.u32_at(base) & 1 == 1)) }
}

/// Sample `i`'s weight and box (its draws only: the same whichever batch, thread or call computes it).
pub fn sample_mix(spec: &MixSpec, i: usize) -> SampleMix {
    let rng = CounterRng::new(spec.seed, spec.epoch as u64);
    let base = MIX_DRAW_BASE + (spec.first as u64 + i as u64) * MIX_DRAWS;
    let lambda = beta(&rng, base, spec.alpha as f64);
    match spec.kind {
        MixKind::MixUp => SampleMix { lambda: lambda as f32, cut: None },
        MixKind::CutMix => {
            let (h, w) = (spec.h, spec.w);
            let centre = |d: u64, side: usize| ((rng.u32_at(base + 2 * GAMMA_DRAWS + d) as u64 * side as u64) >> 32) as usize;
            let (cy, cx) = (centre(0, h), centre(1, w));
            let r = 0.5 * (1.0 - lambda).sqrt();
            let (half_h, half_w) = ((r * h as f64) as usize, (r * w as f64) as usize);
            let b = MixBox { y0: cy.saturating_sub(half_h), y1: (cy + half_h).min(h), x0: cx.saturating_sub(half_w), x1: (cx + half_w).min(w) };
            let area = (b.y1 - b.y0) * (b.x1 - b.x0);
            SampleMix { lambda: (1.0 - area as f64 / (h * w) as f64) as f32, cut: Some(b) }
        }
    }
}

/// Mixes the batch `x` (`spec.batch_len()` elements) in place and writes each
/// sample's weight to `lambdas` (`n`); `scratch` holds at least `spec.batch_len()`
/// elements (the partners are read from it).
pub fn mix_batch(spec: &MixSpec, x: &mut [f32], lambdas: &mut [f32], scratch: &mut [f32]) {
    debug_assert!(spec.validate().is_ok(), "mix_batch {spec:?}");
    let (n, plane) = (spec.n, spec.plane());
    assert_eq!(x.len(), spec.batch_len(), "mix_batch: x");
    assert_eq!(lambdas.len(), n, "mix_batch: lambdas");
    let original = &mut scratch[..spec.batch_len()];
    let parallel = n > 1 && spec.batch_len() >= PARALLEL_MIN_ELEMS;
    par::for_each_chunk_mut(original, plane, parallel, |i, dst| copy(dst, &x[i * plane..][..plane]));
    let original: &[f32] = original;
    // Each image's draws once: its weight goes out beside its pixels.
    par::for_each_chunk_pair_mut(x, plane, lambdas, 1, parallel, |i, xi, lambda| {
        let partner = &original[(i + n - 1) % n * plane..][..plane];
        let mix = sample_mix(spec, i);
        lambda[0] = mix.lambda;
        match mix.cut {
            None => blend(xi, partner, mix.lambda),
            Some(b) => {
                let row = spec.w * spec.c;
                let (from, len) = (b.x0 * spec.c, (b.x1 - b.x0) * spec.c);
                for y in b.y0..b.y1 {
                    copy(&mut xi[y * row + from..][..len], &partner[y * row + from..][..len]);
                }
            }
        }
    });
}

/// Elements below which a batch is mixed on one thread.
const PARALLEL_MIN_ELEMS: usize = 1 << 16;

/// `x ← λ·x + (1 - λ)·p`, as two products and a sum (no fused multiply-add,
/// so every artifact gives the same bits).
fn blend(x: &mut [f32], p: &[f32], lambda: f32) {
    let (l, m) = (lambda, 1.0 - lambda);
    let (lv, mv) = (F32x4::splat(l), F32x4::splat(m));
    let quads = x.len() / 4 * 4;
    for (xs, ps) in x[..quads].chunks_exact_mut(4).zip(p[..quads].chunks_exact(4)) {
        F32x4::load(xs).mul(lv).add(F32x4::load(ps).mul(mv)).store(xs);
    }
    for (xv, &pv) in x[quads..].iter_mut().zip(&p[quads..]) {
        *xv = *xv * l + pv * m;
    }
}

