//! BatchNorm fused with a following ReLU (`BatchNormOutput::Relu`,
//! `OutputGrad::Relu`): bit-identical to the BatchNorm kernels followed by
//! `relu_fwd` / preceded by `relu_bwd` on awkward shapes (NaN-prefilled
//! outputs, NaN gradients where the ReLU is off), gradients of the composite
//! against f64 finite differences, and bit-identical for 1 and 2 threads.

use super::tests::{input, run_bwd, run_bwd_of, run_train, run_train_as, shapes, Train};
use super::{BatchNormOutput, BatchNormParams, OutputGrad};
use crate::activation::{relu_bwd, relu_fwd};
use crate::geom::BatchNormGeom;
use crate::reference;
use crate::selftest::gradcheck::{assert_grad_close, numeric_grad, project};
use crate::selftest::util::{assert_bits_eq, nan_filled, TestRng};

fn run_fused_train(g: &BatchNormGeom, p: &BatchNormParams, x: &[f32], gamma: &[f32], beta: &[f32]) -> Train {
    run_train_as(g, p, BatchNormOutput::Relu, x, gamma, beta, (&vec![0.1; g.c], &vec![0.9; g.c]))
}

/// (dx, dgamma, dbeta) of the fused backward from the fused forward's `t`.
fn run_fused_bwd(g: &BatchNormGeom, x: &[f32], dy: &[f32], (gamma, beta): (&[f32], &[f32]), t: &Train) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    run_bwd_of(g, x, OutputGrad::Relu { dy, beta, save_scale: &t.scale }, gamma, t)
}

/// Gamma of both signs and beta shifted down, so about half the outputs are
/// clamped (and some channels almost wholly).
fn affine(g: &BatchNormGeom, rng: &mut TestRng) -> (Vec<f32>, Vec<f32>) {
    let gamma = (0..g.c).map(|ch| (rng.uniform() + 0.2) * if ch % 3 == 1 { -1.0 } else { 1.0 }).collect();
    let beta = (0..g.c).map(|ch| rng.uniform() - 0.3 * (ch % 4) as f32).collect();
    (gamma, beta)
}

crate::kernel_tests! {
    fn batchnorm_relu_is_bit_identical_to_batchnorm_then_relu() {
        let p = BatchNormParams::default();
        for (k, shape) in shapes().into_iter().enumerate() {
            let g = BatchNormGeom::new(shape).unwrap();
            let mut rng = TestRng::new(300 + k as u64);
            let x = input(&g, &mut rng);
            let (gamma, beta) = affine(&g, &mut rng);
            let ctx = format!("batchnorm_relu {g:?}");
            // Forward: BatchNorm, then ReLU.
            let plain = run_train(&g, &p, &x, &gamma, &beta, (&vec![0.1; g.c], &vec![0.9; g.c]));
            let mut relu_y = nan_filled(g.len());
            relu_fwd(&plain.y, &mut relu_y);
            let fused = run_fused_train(&g, &p, &x, &gamma, &beta);
            assert_bits_eq(&fused.y, &relu_y, &format!("{ctx}: y"));
            assert_bits_eq(&fused.mean, &plain.mean, &format!("{ctx}: mean"));
            assert_bits_eq(&fused.inv_std, &plain.inv_std, &format!("{ctx}: inv_std"));
            assert_bits_eq(&fused.running_mean, &plain.running_mean, &format!("{ctx}: running_mean"));
            assert_bits_eq(&fused.running_var, &plain.running_var, &format!("{ctx}: running_var"));
            // Backward: ReLU's, then BatchNorm's. A NaN gradient where the
            // ReLU is off must not leak through the mask.
            let dy: Vec<f32> = (0..g.len()).map(|i| if i % 7 == 3 && fused.y[i] <= 0.0 { f32::NAN } else { rng.uniform() }).collect();
            let mut relu_dx = nan_filled(g.len());
            relu_bwd(&relu_y, &dy, &mut relu_dx);
            let (dx, dgamma, dbeta) = run_bwd(&g, &x, &relu_dx, &gamma, &plain);
            let (fdx, fdgamma, fdbeta) = run_fused_bwd(&g, &x, &dy, (&gamma, &beta), &fused);
            assert!(fdx.iter().all(|v| v.is_finite()), "{ctx}: dx finite");
            assert_bits_eq(&fdx, &dx, &format!("{ctx}: dx"));
            assert_bits_eq(&fdgamma, &dgamma, &format!("{ctx}: dgamma"));
            assert_bits_eq(&fdbeta, &dbeta, &format!("{ctx}: dbeta"));
        }
    }

    fn batchnorm_relu_bwd_gradcheck() {
        // L = sum(r · relu(bn(x))) in f64 against the fused backward. Shapes
        // small enough that no x sits within h of a kink for these seeds.
        let p = BatchNormParams::default();
        let eps = p.epsilon as f64;
        let relu = |y: Vec<f64>| -> Vec<f64> { y.into_iter().map(|v| v.max(0.0)).collect() };
        for (k, shape) in [[2, 3, 2, 3], [1, 5, 1, 4], [3, 1, 1, 5], [2, 2, 3, 1], [1, 3, 3, 8]].into_iter().enumerate() {
            let g = BatchNormGeom::new(shape).unwrap();
            let mut rng = TestRng::new(360 + k as u64);
            let x = input(&g, &mut rng);
            let (gamma, beta) = affine(&g, &mut rng);
            let r = rng.vec(g.len());
            let t = run_fused_train(&g, &p, &x, &gamma, &beta);
            assert!(t.y.iter().any(|&v| v == 0.0) && t.y.iter().any(|&v| v > 0.0), "{g:?}: both sides of the ReLU are exercised");
            let (dx, dgamma, dbeta) = run_fused_bwd(&g, &x, &r, (&gamma, &beta), &t);
            let (xd, gd, bd) = (reference::widen(&x), reference::widen(&gamma), reference::widen(&beta));
            let ctx = format!("batchnorm_relu_bwd {g:?}");
            let h = 1e-5;
            let num_dx = numeric_grad(&x, h, |xv| project(&relu(reference::batchnorm_train(&g, eps, xv, &gd, &bd).y), &r));
            let num_dg = numeric_grad(&gamma, h, |gv| project(&relu(reference::batchnorm_train(&g, eps, &xd, gv, &bd).y), &r));
            let num_db = numeric_grad(&beta, h, |bv| project(&relu(reference::batchnorm_train(&g, eps, &xd, &gd, bv).y), &r));
            assert_grad_close(&dx, &num_dx, 1e-3, 1e-4, &format!("{ctx}: dx"));
            assert_grad_close(&dgamma, &num_dg, 1e-4, 1e-5, &format!("{ctx}: dgamma"));
            assert_grad_close(&dbeta, &num_db, 1e-5, 1e-6, &format!("{ctx}: dbeta"));
        }
    }
}

#[cfg(all(test, feature = "threads"))]
#[test]
fn batchnorm_relu_bit_identical_with_1_and_2_threads() {
    let p = BatchNormParams::default();
    for shape in [[4, 33, 31, 17], [8, 64, 64, 1], [256, 1, 1, 130]] {
        let g = BatchNormGeom::new(shape).unwrap();
        let mut rng = TestRng::new(399);
        let x = input(&g, &mut rng);
        let (gamma, beta) = affine(&g, &mut rng);
        let dy = rng.vec(g.len());
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let t = run_fused_train(&g, &p, &x, &gamma, &beta);
                let grads = run_fused_bwd(&g, &x, &dy, (&gamma, &beta), &t);
                (t, grads)
            })
        };
        let ((a, ga), (b, gb)) = (run(1), run(2));
        let ctx = format!("{g:?}, 1 vs 2 threads");
        assert_bits_eq(&a.y, &b.y, &format!("batchnorm_relu y {ctx}"));
        assert_bits_eq(&a.running_var, &b.running_var, &format!("batchnorm_relu running_var {ctx}"));
        assert_bits_eq(&ga.0, &gb.0, &format!("batchnorm_relu dx {ctx}"));
        assert_bits_eq(&ga.1, &gb.1, &format!("batchnorm_relu dgamma {ctx}"));
        assert_bits_eq(&ga.2, &gb.2, &format!("batchnorm_relu dbeta {ctx}"));
    }
}
