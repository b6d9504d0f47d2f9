//! Multiply (element-wise and the broadcast channel scale) against the f64
//! reference on awkward shapes, gradient checks, and thread independence.

use super::{multiply_bwd, multiply_fwd, scale_bwd_scale, scale_fwd};
use crate::selftest::gradcheck::{assert_grad_close, numeric_grad, project};
use crate::selftest::util::{assert_bits_eq, assert_close, nan_filled, TestRng};

/// `(images, pixels, channels)`: SIMD width ± 1, one pixel, past the parallel threshold.
const SCALE_SHAPES: [(usize, usize, usize); 6] = [(1, 1, 1), (2, 3, 5), (3, 7, 4), (1, 49, 17), (2, 1, 96), (3, 4_000, 9)];

/// The f64 `x ⊙ s` broadcast over each image's pixels.
fn reference_scale(pixels: usize, c: usize, x: &[f64], s: &[f64]) -> Vec<f64> {
    x.iter().enumerate().map(|(j, &v)| v * s[(j / (pixels * c)) * c + j % c]).collect()
}

crate::kernel_tests! {
    fn multiply_matches_reference_and_gradcheck() {
        for (k, len) in [1usize, 3, 4, 5, 17, 70_001].into_iter().enumerate() {
            let mut rng = TestRng::new(1400 + k as u64);
            let (a, b) = (rng.vec(len), rng.vec(len));
            let mut y = nan_filled(len);
            multiply_fwd(&a, &b, &mut y);
            // One rounding of an exact product: the f32 product is the contract.
            let want: Vec<f32> = a.iter().zip(&b).map(|(x, z)| x * z).collect();
            assert_bits_eq(&y, &want, &format!("multiply_fwd len={len}"));
            if len > 17 {
                continue;
            }
            let dy = rng.vec(len);
            let mut da = nan_filled(len);
            multiply_bwd(&dy, &b, &mut da);
            let bd: Vec<f64> = b.iter().map(|&v| v as f64).collect();
            let num = numeric_grad(&a, 1e-3, |ad| project(&ad.iter().zip(&bd).map(|(x, z)| x * z).collect::<Vec<_>>(), &dy));
            assert_grad_close(&da, &num, 1e-6, 1e-7, &format!("multiply_bwd len={len}"));
        }
    }

    fn scale_matches_reference_and_gradcheck() {
        for (k, (images, pixels, c)) in SCALE_SHAPES.into_iter().enumerate() {
            let mut rng = TestRng::new(1500 + k as u64);
            let len = images * pixels * c;
            let (x, s, dy) = (rng.vec(len), rng.vec(images * c), rng.vec(len));
            let ctx = format!("[{images}, {pixels}, {c}]");
            let mut y = nan_filled(len);
            scale_fwd(pixels, c, &x, &s, &mut y);
            let want: Vec<f32> = (0..len).map(|j| x[j] * s[(j / (pixels * c)) * c + j % c]).collect();
            assert_bits_eq(&y, &want, &format!("scale_fwd {ctx}"));
            // The gradient of the scale: a sum over each image's pixels, in pixel order.
            let mut ds = nan_filled(images * c);
            scale_bwd_scale(pixels, c, &dy, &x, &mut ds);
            let exact: Vec<f64> = (0..images * c)
                .map(|i| (0..pixels).map(|p| dy[((i / c) * pixels + p) * c + i % c] as f64 * x[((i / c) * pixels + p) * c + i % c] as f64).sum())
                .collect();
            // `pixels` products and sums in f32 (fused or not): within 2·pixels roundings of the magnitudes' sum.
            let bound: Vec<f64> = (0..images * c)
                .map(|i| (0..pixels).map(|p| (dy[((i / c) * pixels + p) * c + i % c] * x[((i / c) * pixels + p) * c + i % c]).abs() as f64).sum::<f64>() * 2.0 * pixels as f64 * f32::EPSILON as f64 / 2.0)
                .collect();
            for (j, ((&got, &e), &b)) in ds.iter().zip(&exact).zip(&bound).enumerate() {
                assert!((got as f64 - e).abs() <= b + 1e-30, "scale_bwd_scale {ctx} [{j}]: {got} vs f64 {e} (bound {b:e})");
            }
            if len > 200 {
                continue;
            }
            let (xd, sd): (Vec<f64>, Vec<f64>) = (x.iter().map(|&v| v as f64).collect(), s.iter().map(|&v| v as f64).collect());
            let num = numeric_grad(&s, 1e-3, |sv| project(&reference_scale(pixels, c, &xd, sv), &dy));
            assert_grad_close(&ds, &num, 1e-5, 1e-6, &format!("scale_bwd_scale {ctx} gradcheck"));
            // The input's gradient is the scale applied to dy.
            let mut dx = nan_filled(len);
            scale_fwd(pixels, c, &dy, &s, &mut dx);
            let num = numeric_grad(&x, 1e-3, |xv| project(&reference_scale(pixels, c, xv, &sd), &dy));
            assert_grad_close(&dx, &num, 1e-6, 1e-7, &format!("scale dx {ctx} gradcheck"));
            assert_close(&dx, &reference_scale(pixels, c, &dy.iter().map(|&v| v as f64).collect::<Vec<_>>(), &sd), 1e-7, 0.0, &format!("scale dx {ctx}"));
        }
    }
}

#[cfg(all(test, feature = "threads"))]
#[test]
fn multiply_bit_identical_with_1_and_2_threads() {
    let mut rng = TestRng::new(1600);
    let (images, pixels, c) = (3, 4_000, 9);
    let len = images * pixels * c;
    let (a, b, s) = (rng.vec(len), rng.vec(len), rng.vec(images * c));
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let mut y = nan_filled(len);
            multiply_fwd(&a, &b, &mut y);
            let mut scaled = nan_filled(len);
            scale_fwd(pixels, c, &a, &s, &mut scaled);
            let mut ds = nan_filled(images * c);
            scale_bwd_scale(pixels, c, &b, &a, &mut ds);
            [y, scaled, ds]
        })
    };
    let (one, two) = (run(1), run(2));
    for (name, (x, y)) in ["multiply", "scale fwd", "scale bwd"].iter().zip(one.iter().zip(&two)) {
        assert_bits_eq(x, y, &format!("{name}: 1 vs 2 threads"));
    }
}
