//! Activations against the f64 reference and gradient checks.

use crate::geom::SoftmaxGeom;
use crate::reference;
use crate::selftest::gradcheck::{assert_grad_close, numeric_grad, project};
use crate::selftest::util::{assert_bits_eq, assert_close, nan_filled, TestRng};

const LENS: [usize; 8] = [1, 3, 4, 5, 7, 17, 33, 40_000];

/// Uniform in [-4, 4) with every |x| >= 0.05 (away from the ReLU kink).
fn away_from_zero(len: usize, rng: &mut TestRng) -> Vec<f32> {
    (0..len)
        .map(|_| {
            let v = rng.uniform() * 4.0;
            if v.abs() < 0.05 { 0.5 } else { v }
        })
        .collect()
}

fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

/// `fwd` against the f64 `reference_fwd` over `LENS`: inputs uniform in
/// [-scale, scale), the first ones replaced by `specials`, within `rel`
/// (outputs below `f32::MIN_POSITIVE` are subnormal: absolute rounding).
fn check_fwd(name: &str, fwd: fn(&[f32], &mut [f32]), reference_fwd: fn(&[f64]) -> Vec<f64>, seed: u64, scale: f32, specials: &[f32], rel: f64) {
    for (k, &len) in LENS.iter().enumerate() {
        let mut rng = TestRng::new(seed + k as u64);
        let mut x: Vec<f32> = rng.vec(len).iter().map(|v| v * scale).collect();
        for (xv, &v) in x.iter_mut().zip(specials) {
            *xv = v;
        }
        let mut y = nan_filled(len);
        fwd(&x, &mut y);
        assert_close(&y, &reference_fwd(&reference::widen(&x)), rel, f32::MIN_POSITIVE as f64, &format!("{name}_fwd len={len}"));
    }
}

crate::kernel_tests! {
    fn relu_and_leaky_relu_match_reference() {
        for (k, &len) in LENS.iter().enumerate() {
            let mut rng = TestRng::new(500 + k as u64);
            let mut x = rng.vec(len);
            x[0] = 0.0;
            let xd = reference::widen(&x);
            let mut y = nan_filled(len);
            super::relu_fwd(&x, &mut y);
            assert_bits_eq(&y, &to_f32(&reference::relu(&xd)), &format!("relu_fwd len={len}"));
            for alpha in [0.3f32, 0.0, -0.5] {
                let mut y = nan_filled(len);
                super::leaky_relu_fwd(alpha, &x, &mut y);
                assert_bits_eq(&y, &to_f32(&reference::leaky_relu(alpha as f64, &xd)), &format!("leaky_relu_fwd alpha={alpha} len={len}"));
            }
        }
    }

    fn relu_bwd_masks_by_output() {
        let x = [-2.0, 0.0, 3.0, -0.0, 1e-30];
        let mut y = nan_filled(5);
        super::relu_fwd(&x, &mut y);
        let mut dx = nan_filled(5);
        super::relu_bwd(&y, &[1.0, 2.0, 3.0, 4.0, 5.0], &mut dx);
        assert_eq!(dx, vec![0.0, 0.0, 3.0, 0.0, 5.0]);
        let mut dx = nan_filled(5);
        super::leaky_relu_bwd(0.25, &x, &[1.0, 2.0, 3.0, 4.0, 5.0], &mut dx);
        assert_eq!(dx, vec![0.25, 0.5, 3.0, 1.0, 5.0]);
    }

    fn relu_and_leaky_relu_gradcheck() {
        for (k, &len) in LENS[..7].iter().enumerate() {
            let mut rng = TestRng::new(600 + k as u64);
            let x = away_from_zero(len, &mut rng);
            let r = rng.vec(len);
            let mut y = nan_filled(len);
            super::relu_fwd(&x, &mut y);
            let mut dx = nan_filled(len);
            super::relu_bwd(&y, &r, &mut dx);
            let num = numeric_grad(&x, 1e-3, |xd| project(&reference::relu(xd), &r));
            assert_grad_close(&dx, &num, 1e-6, 1e-7, &format!("relu_bwd len={len}"));
            for alpha in [0.3f32, -0.5] {
                let mut dx = nan_filled(len);
                super::leaky_relu_bwd(alpha, &x, &r, &mut dx);
                let num = numeric_grad(&x, 1e-3, |xd| project(&reference::leaky_relu(alpha as f64, xd), &r));
                assert_grad_close(&dx, &num, 1e-6, 1e-7, &format!("leaky_relu_bwd alpha={alpha} len={len}"));
            }
        }
    }

    fn relu_max_matches_reference_and_gradcheck() {
        for (k, &len) in LENS.iter().enumerate() {
            for max in [6.0f32, 1.0, 0.25] {
                let mut rng = TestRng::new(900 + k as u64);
                // Uniform in [-8, 8) plus the kinks and the bound itself.
                let mut x: Vec<f32> = rng.vec(len).iter().map(|v| v * 8.0).collect();
                for (i, v) in [0.0, max, -0.0, max * 2.0].into_iter().enumerate().take(len) {
                    x[i] = v;
                }
                let ctx = format!("relu_max max={max} len={len}");
                let mut y = nan_filled(len);
                super::relu_max_fwd(max, &x, &mut y);
                assert_bits_eq(&y, &to_f32(&reference::relu_max(max as f64, &reference::widen(&x))), &format!("{ctx} fwd"));
                if len > 40 {
                    continue;
                }
                // Away from the kinks at 0 and max, against central differences.
                let x: Vec<f32> = x.iter().map(|&v| if v.abs() < 0.05 || (v - max).abs() < 0.05 { max / 2.0 } else { v }).collect();
                let r = rng.vec(len);
                super::relu_max_fwd(max, &x, &mut y);
                let mut dx = nan_filled(len);
                super::relu_max_bwd(max, &y, &r, &mut dx);
                let num = numeric_grad(&x, 1e-3, |xd| project(&reference::relu_max(max as f64, xd), &r));
                assert_grad_close(&dx, &num, 1e-6, 1e-7, &format!("{ctx} bwd"));
            }
        }
    }

    fn relu_max_bwd_passes_only_strictly_inside() {
        // PyTorch's hardtanh: no gradient at x = 0 or x = max, nor beyond.
        let x = [-1.0, 0.0, 3.0, 6.0, 7.0, 5.999];
        let mut y = nan_filled(6);
        super::relu_max_fwd(6.0, &x, &mut y);
        assert_eq!(y, vec![0.0, 0.0, 3.0, 6.0, 6.0, 5.999]);
        let mut dx = nan_filled(6);
        super::relu_max_bwd(6.0, &y, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &mut dx);
        assert_eq!(dx, vec![0.0, 0.0, 3.0, 0.0, 0.0, 6.0]);
        let mut y = nan_filled(2);
        super::relu_max_fwd(f32::INFINITY, &[1e30, -1.0], &mut y);
        assert_eq!(y, vec![1e30, 0.0]);
    }

    fn sigmoid_matches_reference_and_gradcheck() {
        for (k, &len) in LENS.iter().enumerate() {
            let mut rng = TestRng::new(700 + k as u64);
            let mut x: Vec<f32> = rng.vec(len).iter().map(|v| v * 8.0).collect();
            if len >= 4 {
                x[..4].copy_from_slice(&[-100.0, 100.0, -1e30, 0.0]);
            }
            let mut y = nan_filled(len);
            super::sigmoid_fwd(&x, &mut y);
            // Below f32::MIN_POSITIVE the output is subnormal: absolute rounding.
            assert_close(&y, &reference::sigmoid(&reference::widen(&x)), 4e-7, f32::MIN_POSITIVE as f64, &format!("sigmoid_fwd len={len}"));
            if len > 40 {
                continue;
            }
            let x: Vec<f32> = rng.vec(len).iter().map(|v| v * 4.0).collect();
            let r = rng.vec(len);
            super::sigmoid_fwd(&x, &mut y);
            let mut dx = nan_filled(len);
            super::sigmoid_bwd(&y, &r, &mut dx);
            let num = numeric_grad(&x, 1e-4, |xd| project(&reference::sigmoid(xd), &r));
            assert_grad_close(&dx, &num, 1e-5, 1e-6, &format!("sigmoid_bwd len={len}"));
        }
    }

    fn tanh_and_swish_match_reference_and_gradcheck() {
        // A few roundings of the transcendental and the product.
        let specials = [-100.0, 100.0, -1e30, 0.0, 1e-30];
        check_fwd("tanh", super::tanh_fwd, reference::tanh, 1000, 12.0, &specials, 1e-6);
        check_fwd("swish", super::swish_fwd, reference::swish, 1000, 12.0, &specials, 1e-6);
        for (k, &len) in LENS[..7].iter().enumerate() {
            let mut rng = TestRng::new(1100 + k as u64);
            let x: Vec<f32> = rng.vec(len).iter().map(|v| v * 4.0).collect();
            let r = rng.vec(len);
            let mut y = nan_filled(len);
            super::tanh_fwd(&x, &mut y);
            let mut dx = nan_filled(len);
            super::tanh_bwd(&y, &r, &mut dx);
            let num = numeric_grad(&x, 1e-4, |xd| project(&reference::tanh(xd), &r));
            assert_grad_close(&dx, &num, 1e-5, 1e-6, &format!("tanh_bwd len={len}"));
            let mut dx = nan_filled(len);
            super::swish_bwd(&x, &r, &mut dx);
            let num = numeric_grad(&x, 1e-4, |xd| project(&reference::swish(xd), &r));
            assert_grad_close(&dx, &num, 1e-5, 1e-6, &format!("swish_bwd len={len}"));
        }
    }

    fn hard_sigmoid_and_hard_swish_match_reference_and_gradcheck() {
        // x + 3 is exact where it cancels (Sterbenz) and else within half an
        // ulp, then at most two more roundings: 3 · 2^-24.
        let (specials, rel) = ([-3.0, 3.0, 0.0, -2.9999, 1e30], 3.0 * f32::EPSILON as f64 / 2.0);
        check_fwd("hard_sigmoid", super::hard_sigmoid_fwd, reference::hard_sigmoid, 1200, 8.0, &specials, rel);
        check_fwd("hard_swish", super::hard_swish_fwd, reference::hard_swish, 1200, 8.0, &specials, rel);
        for (k, &len) in LENS[..7].iter().enumerate() {
            let mut rng = TestRng::new(1300 + k as u64);
            // Uniform in [-5, 5), kept 0.05 away from the kinks at ±3.
            let x: Vec<f32> = rng.vec(len).iter().map(|v| v * 5.0).map(|v| if (v.abs() - 3.0).abs() < 0.05 { 1.0 } else { v }).collect();
            let r = rng.vec(len);
            let mut dx = nan_filled(len);
            super::hard_sigmoid_bwd(&x, &r, &mut dx);
            let num = numeric_grad(&x, 1e-3, |xd| project(&reference::hard_sigmoid(xd), &r));
            assert_grad_close(&dx, &num, 1e-6, 1e-7, &format!("hard_sigmoid_bwd len={len}"));
            let mut dx = nan_filled(len);
            super::hard_swish_bwd(&x, &r, &mut dx);
            let num = numeric_grad(&x, 1e-3, |xd| project(&reference::hard_swish(xd), &r));
            assert_grad_close(&dx, &num, 1e-5, 1e-6, &format!("hard_swish_bwd len={len}"));
        }
    }

    fn hard_activations_use_pytorchs_slopes_at_the_kinks() {
        // hardsigmoid: 1/6 strictly inside (-3, 3); hardswish: 0 below -3, x/3 + 1/2 on [-3, 3], 1 above.
        let x = [-3.5, -3.0, 0.0, 3.0, 3.5];
        let dy = [6.0; 5];
        let mut dx = nan_filled(5);
        super::hard_sigmoid_bwd(&x, &dy, &mut dx);
        assert_eq!(dx, vec![0.0, 0.0, 1.0, 0.0, 0.0]);
        super::hard_swish_bwd(&x, &dy, &mut dx);
        assert_eq!(dx, vec![0.0, -3.0, 3.0, 9.0, 6.0]);
        let mut y = nan_filled(5);
        super::hard_swish_fwd(&x, &mut y);
        assert_eq!(y, vec![-0.0, -0.0, 0.0, 3.0, 3.5]);
        super::hard_sigmoid_fwd(&[-4.0, -3.0, 0.0, 3.0, f32::NAN], &mut y);
        assert_eq!(y, vec![0.0, 0.0, 0.5, 1.0, 0.0]);
    }

    fn softmax_matches_reference_and_gradcheck() {
        for (rows, cols) in [(1, 1), (1, 3), (3, 5), (2, 10), (7, 17), (3, 1), (5, 4)] {
            let g = SoftmaxGeom::new(rows, cols).unwrap();
            let mut rng = TestRng::new((rows * 100 + cols) as u64);
            // Large offsets: without subtracting the max, exp would overflow.
            let x: Vec<f32> = rng.vec(g.len()).iter().enumerate().map(|(i, v)| v * 5.0 + if i % 2 == 0 { 200.0 } else { 195.0 }).collect();
            let mut y = nan_filled(g.len());
            super::softmax_fwd(&g, &x, &mut y);
            let want = reference::softmax(&g, &reference::widen(&x));
            // exp and the normaliser each round a few times.
            assert_close(&y, &want, 2e-6 * cols as f64, 1e-7, &format!("softmax_fwd {g:?}"));
            let x: Vec<f32> = rng.vec(g.len()).iter().map(|v| v * 3.0).collect();
            let r = rng.vec(g.len());
            super::softmax_fwd(&g, &x, &mut y);
            let mut dx = nan_filled(g.len());
            super::softmax_bwd(&g, &y, &r, &mut dx);
            let num = numeric_grad(&x, 1e-4, |xd| project(&reference::softmax(&g, xd), &r));
            assert_grad_close(&dx, &num, 1e-4, 1e-6, &format!("softmax_bwd {g:?}"));
        }
    }

    fn softmax_large_batch_crosses_parallel_threshold() {
        let g = SoftmaxGeom::new(4100, 10).unwrap();
        let mut rng = TestRng::new(808);
        let x: Vec<f32> = rng.vec(g.len()).iter().map(|v| v * 6.0).collect();
        let mut y = nan_filled(g.len());
        super::softmax_fwd(&g, &x, &mut y);
        assert_close(&y, &reference::softmax(&g, &reference::widen(&x)), 2e-5, 1e-7, &format!("softmax_fwd {g:?}"));
        assert!(SoftmaxGeom::new(0, 3).unwrap_err().message.contains("rows must be >= 1, got 0"));
    }
}
