//! Reinhard et al. (2001) colour transfer: each L*a*b* channel of an image is
//! shifted and scaled so that its mean and standard deviation become the
//! target's, `v' = (v - mean) / std · std_target + mean_target`.

use super::lab::Lab;
use super::StainParams;

/// `[mean L, mean a, mean b, std L, std a, std b, 0, 0]` of one RGB image
/// (population standard deviation, over every pixel).
pub fn fit(img: &[u8]) -> StainParams {
    let lab = Lab::new();
    let (mean, std) = channel_stats(img.chunks_exact(3).map(|px| lab.from_rgb(px)));
    [mean[0], mean[1], mean[2], std[0], std[1], std[2], 0.0, 0.0]
}

/// Per-channel mean and population standard deviation of `[L, a, b]`
/// triples, from f64 sums of the values and their squares.
pub fn channel_stats(values: impl Iterator<Item = [f64; 3]>) -> ([f64; 3], [f64; 3]) {
    let mut sum = [0.0f64; 3];
    let mut sq = [0.0f64; 3];
    let mut n = 0usize;
    for v in values {
        for ch in 0..3 {
            sum[ch] += v[ch];
            sq[ch] += v[ch] * v[ch];
        }
        n += 1;
    }
    let n = n as f64;
    let mean = sum.map(|s| s / n);
    let std = [0, 1, 2].map(|ch| (sq[ch] / n - mean[ch] * mean[ch]).max(0.0).sqrt());
    (mean, std)
}

/// A channel with a smaller standard deviation than this is flat: it is only
/// shifted (scaling it would amplify quantisation noise without bound).
pub const FLAT_STD: f64 = 1e-3;

/// Maps `img` (RGB, in place) to the `target` statistics.
pub fn apply(target: &StainParams, img: &mut [u8]) {
    let own = fit(img);
    let lab = Lab::new();
    let gain = [0, 1, 2].map(|ch| if own[3 + ch] < FLAT_STD { 1.0 } else { target[3 + ch] / own[3 + ch] });
    for px in img.chunks_exact_mut(3) {
        let v = lab.from_rgb(px);
        let mapped = [0, 1, 2].map(|ch| (v[ch] - own[ch]) * gain[ch] + target[ch]);
        lab.to_rgb(mapped, px);
    }
}
