//! Macenko et al. (2009) stain normalization, as torchstain's
//! `MacenkoNormalizer` (`Io = 240`, `alpha = 1`, `beta = 0.15`):
//!
//! 1. optical density `OD = -ln((v + 1) / Io)` per channel;
//! 2. tissue pixels: every channel's OD `>= beta`;
//! 3. the plane of the two largest eigenvectors of the tissue ODs' covariance;
//!    the angles of the tissue ODs in it; the stain vectors are the plane's
//!    directions at the `alpha`-th and `(100 - alpha)`-th angle percentiles,
//!    haematoxylin first (the one with the larger red OD);
//! 4. every pixel's two concentrations by least squares; their 99th
//!    percentiles are the image's maximum concentrations.
//!
//! Normalizing maps the concentrations to the target's maxima and mixes them
//! with the target's stain vectors: `v = Io·exp(-HE_target · C·maxC_target/maxC)`.

use super::lab::to_u8;
use super::linalg::{percentiles, symmetric_eigen3};
use super::StainParams;

pub const IO: f64 = 240.0;
pub const BETA: f64 = 0.15;
pub const ALPHA: f64 = 1.0;
/// Fewer tissue pixels than this fraction of the image (or than 2): no estimate.
pub const MIN_TISSUE_FRACTION: f64 = 0.01;

fn od(px: &[u8]) -> [f64; 3] {
    [0, 1, 2].map(|c| -((px[c] as f64 + 1.0) / IO).ln())
}

fn dot(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// Least-squares concentrations of `od` on the stain vectors `h`, `e`:
/// the normal equations of the 3×2 system, solved in closed form.
struct Unmix {
    h: [f64; 3],
    e: [f64; 3],
    inv: [[f64; 2]; 2],
}

impl Unmix {
    fn new(h: [f64; 3], e: [f64; 3]) -> Option<Self> {
        let (hh, he, ee) = (dot(&h, &h), dot(&h, &e), dot(&e, &e));
        let det = hh * ee - he * he;
        if !(det.abs() > 1e-12) {
            return None; // parallel stain vectors: the unmixing is undefined
        }
        Some(Self { h, e, inv: [[ee / det, -he / det], [-he / det, hh / det]] })
    }
    fn concentrations(&self, od: &[f64; 3]) -> [f64; 2] {
        let (a, b) = (dot(&self.h, od), dot(&self.e, od));
        [self.inv[0][0] * a + self.inv[0][1] * b, self.inv[1][0] * a + self.inv[1][1] * b]
    }
}

/// `[H r, H g, H b, E r, E g, E b, maxC H, maxC E]` of one RGB image, or `None`
/// when it has too little tissue or degenerate stains to estimate them.
pub fn fit(img: &[u8]) -> Option<StainParams> {
    let pixels = img.len() / 3;
    let tissue: Vec<[f64; 3]> = img.chunks_exact(3).map(od).filter(|v| v.iter().all(|&x| x >= BETA)).collect();
    if tissue.len() < 2 || (tissue.len() as f64) < MIN_TISSUE_FRACTION * pixels as f64 {
        return None;
    }
    let n = tissue.len() as f64;
    let mean = [0, 1, 2].map(|c| tissue.iter().map(|v| v[c]).sum::<f64>() / n);
    let mut cov = [[0.0f64; 3]; 3];
    for v in &tissue {
        let d = [v[0] - mean[0], v[1] - mean[1], v[2] - mean[2]];
        for i in 0..3 {
            for j in 0..3 {
                cov[i][j] += d[i] * d[j];
            }
        }
    }
    let (_, vecs) = symmetric_eigen3(&cov.map(|r| r.map(|x| x / (n - 1.0))));
    let (v1, v2) = (vecs[1], vecs[2]);
    let mut phi: Vec<f64> = tissue.iter().map(|v| dot(v, &v2).atan2(dot(v, &v1))).collect();
    let p = percentiles(&mut phi, &[ALPHA, 100.0 - ALPHA]);
    let dir = |a: f64| [0, 1, 2].map(|c| v1[c] * a.cos() + v2[c] * a.sin());
    let (v_min, v_max) = (dir(p[0]), dir(p[1]));
    let (h, e) = if v_min[0] > v_max[0] { (v_min, v_max) } else { (v_max, v_min) };
    let unmix = Unmix::new(h, e)?;
    let (mut ch, mut ce): (Vec<f64>, Vec<f64>) = img.chunks_exact(3).map(|px| unmix.concentrations(&od(px))).map(|c| (c[0], c[1])).unzip();
    let max_h = percentiles(&mut ch, &[99.0])[0];
    let max_e = percentiles(&mut ce, &[99.0])[0];
    if !(max_h > 1e-6 && max_e > 1e-6) {
        return None;
    }
    Some([h[0], h[1], h[2], e[0], e[1], e[2], max_h, max_e])
}

/// Maps `img` (RGB, in place) to the `target` stains; false (image untouched)
/// when its own stains cannot be estimated (see `fit`).
pub fn apply(target: &StainParams, img: &mut [u8]) -> bool {
    let Some(own) = fit(img) else { return false };
    let Some(unmix) = Unmix::new([own[0], own[1], own[2]], [own[3], own[4], own[5]]) else { return false };
    let gain = [target[6] / own[6], target[7] / own[7]];
    for px in img.chunks_exact_mut(3) {
        let c = unmix.concentrations(&od(px));
        let (ch, ce) = (c[0] * gain[0], c[1] * gain[1]);
        for k in 0..3 {
            px[k] = to_u8(IO * (-(target[k] * ch + target[3 + k] * ce)).exp());
        }
    }
    true
}
