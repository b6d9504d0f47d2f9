//! Merge ops against the f64 reference on awkward sizes, gradient checks,
//! and determinism across threads.

use super::{add_fwd, average_bwd, average_fwd, concat_channels_bwd, concat_channels_fwd};
use crate::reference;
use crate::selftest::gradcheck::{assert_grad_close, numeric_grad, project};
use crate::selftest::util::{assert_bits_eq, nan_filled, TestRng};

/// Around the SIMD width and past the parallel threshold.
const LENS: [usize; 8] = [1, 3, 4, 5, 7, 17, 33, 70_001];
/// Channel counts of concatenated parts (SIMD width ± 1, odd, large).
const PART_CHANNELS: [&[usize]; 5] = [&[1, 1], &[3, 4, 5], &[16, 17], &[8, 1, 33, 2], &[96, 160]];
const PIXELS: [usize; 4] = [1, 3, 7, 1_001];

fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

/// The parts of a concatenation test: `[pixels, c_i]` each.
fn parts(pixels: usize, channels: &[usize], rng: &mut TestRng) -> Vec<(Vec<f32>, usize)> {
    channels.iter().map(|&c| (rng.vec(pixels * c), c)).collect()
}

crate::kernel_tests! {
    fn add_matches_reference_in_input_order() {
        for (k, &len) in LENS.iter().enumerate() {
            for count in [2, 3, 5] {
                let mut rng = TestRng::new(100 + k as u64 * 10 + count as u64);
                // Magnitudes far apart, so a different summation order would change the bits.
                let inputs: Vec<Vec<f32>> = (0..count).map(|i| rng.vec(len).iter().map(|v| v * 10f32.powi(3 * (i as i32 % 3) - 3)).collect()).collect();
                let refs: Vec<&[f32]> = inputs.iter().map(|v| &v[..]).collect();
                let mut y = nan_filled(len);
                add_fwd(&refs, &mut y);
                // The f32 sum in input order is the contract; it is also within
                // (count - 1) roundings of the exact f64 sum.
                let want: Vec<f32> = (0..len).map(|j| refs[1..].iter().fold(refs[0][j], |acc, x| acc + x[j])).collect();
                let ctx = format!("add_fwd len={len} inputs={count}");
                assert_bits_eq(&y, &want, &ctx);
                let exact = reference::add(&inputs.iter().map(|v| reference::widen(v)).collect::<Vec<_>>());
                for (j, (&got, &e)) in y.iter().zip(&exact).enumerate() {
                    let scale: f64 = inputs.iter().map(|v| v[j].abs() as f64).sum();
                    assert!((got as f64 - e).abs() <= count as f64 * f32::EPSILON as f64 * scale, "{ctx}: element {j}: {got} vs {e}");
                }
            }
        }
    }

    fn average_is_the_sum_in_input_order_divided_by_n() {
        for (k, &len) in LENS.iter().enumerate() {
            for count in [2, 3, 5] {
                let mut rng = TestRng::new(150 + k as u64 * 10 + count as u64);
                let inputs: Vec<Vec<f32>> = (0..count).map(|i| rng.vec(len).iter().map(|v| v * 10f32.powi(3 * (i as i32 % 3) - 3)).collect()).collect();
                let refs: Vec<&[f32]> = inputs.iter().map(|v| &v[..]).collect();
                let mut y = nan_filled(len);
                average_fwd(&refs, &mut y);
                // The contract: add_fwd's f32 sum, then one division (ONNX Mean's and torch.mean's rounding).
                let want: Vec<f32> = (0..len).map(|j| refs[1..].iter().fold(refs[0][j], |acc, x| acc + x[j]) / count as f32).collect();
                let ctx = format!("average_fwd len={len} inputs={count}");
                assert_bits_eq(&y, &want, &ctx);
                let exact = reference::add(&inputs.iter().map(|v| reference::widen(v)).collect::<Vec<_>>());
                for (j, (&got, &e)) in y.iter().zip(&exact).enumerate() {
                    let scale: f64 = inputs.iter().map(|v| v[j].abs() as f64).sum::<f64>() / count as f64;
                    assert!((got as f64 - e / count as f64).abs() <= count as f64 * f32::EPSILON as f64 * scale, "{ctx}: element {j}: {got} vs {}", e / count as f64);
                }
            }
        }
    }

    fn average_gradcheck() {
        // L = sum(average(x0, x1, x2) · r): each input's gradient is r / 3,
        // against central differences of the f64 reference.
        let len = 37;
        let mut rng = TestRng::new(310);
        let inputs: Vec<Vec<f32>> = (0..3).map(|_| rng.vec(len)).collect();
        let r = rng.vec(len);
        let mut dx = nan_filled(len);
        average_bwd(&r, 3, &mut dx);
        let wide: Vec<Vec<f64>> = inputs.iter().map(|v| reference::widen(v)).collect();
        for i in 0..3 {
            let num = numeric_grad(&inputs[i], 1e-3, |xp| {
                let mut all = wide.clone();
                all[i] = xp.to_vec();
                let mean: Vec<f64> = reference::add(&all).iter().map(|s| s / 3.0).collect();
                project(&mean, &r)
            });
            // r / 3 is rounded once to f32 (half an ulp, relative); the central
            // difference of this linear function is exact up to f64 rounding.
            assert_grad_close(&dx, &num, f32::EPSILON as f64 / 2.0, 1e-12, &format!("average_bwd input {i}"));
        }
    }

    fn concat_channels_matches_reference_and_splits_back() {
        let mut seed = 200;
        for channels in PART_CHANNELS {
            for &pixels in &PIXELS {
                seed += 1;
                let mut rng = TestRng::new(seed);
                let parts = parts(pixels, channels, &mut rng);
                let refs: Vec<(&[f32], usize)> = parts.iter().map(|(v, c)| (&v[..], *c)).collect();
                let total: usize = channels.iter().sum();
                let ctx = format!("pixels={pixels} channels={channels:?}");
                let mut y = nan_filled(pixels * total);
                concat_channels_fwd(pixels, &refs, &mut y);
                let wide: Vec<(Vec<f64>, usize)> = parts.iter().map(|(v, c)| (reference::widen(v), *c)).collect();
                let want = reference::concat_channels(pixels, &wide.iter().map(|(v, c)| (&v[..], *c)).collect::<Vec<_>>());
                assert_bits_eq(&y, &to_f32(&want), &format!("concat_channels_fwd {ctx}"));

                let dy = rng.vec(pixels * total);
                let mut grads: Vec<(Vec<f32>, usize)> = channels.iter().map(|&c| (nan_filled(pixels * c), c)).collect();
                let mut grad_refs: Vec<(&mut [f32], usize)> = grads.iter_mut().map(|(v, c)| (&mut v[..], *c)).collect();
                concat_channels_bwd(&dy, &mut grad_refs);
                let mut off = 0;
                for (i, (dx, c)) in grads.iter().enumerate() {
                    let want: Vec<f32> = (0..pixels).flat_map(|p| dy[p * total + off..p * total + off + c].to_vec()).collect();
                    assert_bits_eq(dx, &want, &format!("concat_channels_bwd part {i} {ctx}"));
                    off += c;
                }
            }
        }
    }

    fn concat_channels_gradcheck() {
        // L = sum(concat(parts) · r): each part's gradient from the kernel fed
        // dy = r, against central differences of the f64 reference.
        let pixels = 5;
        let channels = [3usize, 1, 6];
        let mut rng = TestRng::new(300);
        let parts = parts(pixels, &channels, &mut rng);
        let r = rng.vec(pixels * channels.iter().sum::<usize>());
        let mut grads: Vec<(Vec<f32>, usize)> = channels.iter().map(|&c| (nan_filled(pixels * c), c)).collect();
        concat_channels_bwd(&r, &mut grads.iter_mut().map(|(v, c)| (&mut v[..], *c)).collect::<Vec<_>>());
        let wide: Vec<Vec<f64>> = parts.iter().map(|(v, _)| reference::widen(v)).collect();
        for i in 0..channels.len() {
            let num = numeric_grad(&parts[i].0, 1e-3, |xp| {
                let mut all: Vec<(&[f64], usize)> = wide.iter().zip(&channels).map(|(v, &c)| (&v[..], c)).collect();
                all[i].0 = xp;
                project(&reference::concat_channels(pixels, &all), &r)
            });
            assert_grad_close(&grads[i].0, &num, 1e-9, 1e-9, &format!("concat_channels_bwd part {i}"));
        }
    }
}

#[cfg(all(test, feature = "threads"))]
#[test]
fn merge_bit_identical_with_1_and_2_threads() {
    let mut rng = TestRng::new(400);
    let len = 3 * (1 << 15) + 5;
    let inputs: Vec<Vec<f32>> = (0..3).map(|_| rng.vec(len)).collect();
    let pixels = 4_001;
    let parts = parts(pixels, &[17, 96], &mut rng);
    let dy = rng.vec(pixels * 113);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let mut sum = nan_filled(len);
            add_fwd(&inputs.iter().map(|v| &v[..]).collect::<Vec<_>>(), &mut sum);
            let mut mean = nan_filled(len);
            average_fwd(&inputs.iter().map(|v| &v[..]).collect::<Vec<_>>(), &mut mean);
            let mut dmean = nan_filled(len);
            average_bwd(&inputs[0], 3, &mut dmean);
            let mut cat = nan_filled(pixels * 113);
            concat_channels_fwd(pixels, &parts.iter().map(|(v, c)| (&v[..], *c)).collect::<Vec<_>>(), &mut cat);
            let (mut a, mut b) = (nan_filled(pixels * 17), nan_filled(pixels * 96));
            concat_channels_bwd(&dy, &mut [(&mut a[..], 17), (&mut b[..], 96)]);
            [sum, mean, dmean, cat, a, b]
        })
    };
    let (one, two) = (run(1), run(2));
    for (name, (a, b)) in ["add", "average fwd", "average bwd", "concat fwd", "concat bwd 0", "concat bwd 1"].iter().zip(one.iter().zip(&two)) {
        assert_bits_eq(a, b, &format!("{name}: 1 vs 2 threads"));
    }
}
