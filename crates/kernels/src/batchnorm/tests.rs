//! Batch normalisation against the f64 reference, gradient checks, running
//! statistics, determinism.

use super::{batchnorm_bwd, batchnorm_bwd_infer, batchnorm_fwd_infer, batchnorm_fwd_train, scratch_len, BatchNormOutput, BatchNormParams, OutputGrad, ParamGrads, SavedChannels, TrainChannels};
use crate::geom::BatchNormGeom;
use crate::reference;
use crate::selftest::gradcheck::{assert_grad_close, numeric_grad, project};
use crate::selftest::util::{assert_close, nan_filled, TestRng};

/// Awkward shapes, plus ones with several reduction chunks (c = 1: 4096 rows
/// per chunk; c = 17: 240).
pub(super) fn shapes() -> Vec<[usize; 4]> {
    let mut v = Vec::new();
    for (i, &(h, w)) in [(1, 1), (1, 3), (3, 5), (5, 7), (7, 7)].iter().enumerate() {
        for &c in &[1, 3, 4, 5, 8, 17] {
            v.push([if (i + c) % 2 == 0 { 1 } else { 3 }, h, w, c]);
        }
    }
    v.extend([[3, 33, 45, 1], [3, 9, 11, 17], [2, 1, 1, 5], [64, 1, 1, 17]]);
    v
}

pub(super) struct Train {
    pub y: Vec<f32>,
    pub mean: Vec<f32>,
    pub inv_std: Vec<f32>,
    pub scale: Vec<f32>,
    pub running_mean: Vec<f32>,
    pub running_var: Vec<f32>,
}

pub(super) fn run_train(g: &BatchNormGeom, p: &BatchNormParams, x: &[f32], gamma: &[f32], beta: &[f32], running: (&[f32], &[f32])) -> Train {
    run_train_as(g, p, BatchNormOutput::Linear, x, gamma, beta, running)
}

pub(super) fn run_train_as(g: &BatchNormGeom, p: &BatchNormParams, out: BatchNormOutput, x: &[f32], gamma: &[f32], beta: &[f32], running: (&[f32], &[f32])) -> Train {
    let mut t = Train {
        y: nan_filled(g.len()),
        mean: nan_filled(g.c),
        inv_std: nan_filled(g.c),
        scale: nan_filled(g.c),
        running_mean: running.0.to_vec(),
        running_var: running.1.to_vec(),
    };
    let mut scratch = nan_filled(scratch_len(g));
    let channels = TrainChannels { gamma, beta, save_mean: &mut t.mean, save_inv_std: &mut t.inv_std, save_scale: &mut t.scale, running_mean: &mut t.running_mean, running_var: &mut t.running_var };
    batchnorm_fwd_train(g, p, out, x, channels, &mut t.y, &mut scratch);
    t
}

/// (dx, dgamma, dbeta)
pub(super) fn run_bwd(g: &BatchNormGeom, x: &[f32], dy: &[f32], gamma: &[f32], t: &Train) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    run_bwd_of(g, x, OutputGrad::Linear(dy), gamma, t)
}

/// (dx, dgamma, dbeta) for the output gradient `dy` of the forward that gave `t`.
pub(super) fn run_bwd_of(g: &BatchNormGeom, x: &[f32], dy: OutputGrad<'_>, gamma: &[f32], t: &Train) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (mut dx, mut dgamma, mut dbeta) = (nan_filled(g.len()), nan_filled(g.c), nan_filled(g.c));
    let mut scratch = nan_filled(scratch_len(g));
    let saved = SavedChannels { gamma, save_mean: &t.mean, save_inv_std: &t.inv_std };
    batchnorm_bwd(g, x, dy, saved, &mut dx, ParamGrads { dgamma: &mut dgamma, dbeta: &mut dbeta }, &mut scratch);
    (dx, dgamma, dbeta)
}

/// Inputs with a per-channel offset and spread, so the statistics matter.
pub(super) fn input(g: &BatchNormGeom, rng: &mut TestRng) -> Vec<f32> {
    (0..g.len()).map(|i| 3.0 * rng.uniform() * (1.0 + (i % g.c) as f32 * 0.25) + (i % g.c) as f32 - 2.0).collect()
}

crate::kernel_tests! {
    fn batchnorm_fwd_train_matches_reference() {
        let p = BatchNormParams::default();
        for (k, shape) in shapes().into_iter().enumerate() {
            let g = BatchNormGeom::new(shape).unwrap();
            let mut rng = TestRng::new(20 + k as u64);
            let x = input(&g, &mut rng);
            let (gamma, beta) = (rng.vec(g.c), rng.vec(g.c));
            let t = run_train(&g, &p, &x, &gamma, &beta, (&vec![0.0; g.c], &vec![1.0; g.c]));
            let eps = p.epsilon as f64;
            let want = reference::batchnorm_train(&g, eps, &reference::widen(&x), &reference::widen(&gamma), &reference::widen(&beta));
            let ctx = format!("batchnorm_fwd_train {g:?}");
            // |y - beta| <= |gamma|·|xhat| with |xhat| <= sqrt(rows): a few f32
            // roundings of the mean, the deviation and the scale.
            assert_close(&t.y, &want.y, 1e-5, 1e-5 * (1.0 + (g.rows as f64).sqrt()), &ctx);
            assert_close(&t.mean, &want.mean, 1e-6, 1e-6, &format!("{ctx}: mean"));
            let inv_std: Vec<f64> = want.var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
            assert_close(&t.inv_std, &inv_std, 1e-5, 0.0, &format!("{ctx}: inv_std"));
        }
    }

    fn batchnorm_running_stats_follow_keras() {
        // moving = moving·0.99 + batch·0.01 with the biased batch variance.
        let g = BatchNormGeom::new([2, 1, 2, 2]).unwrap();
        // channel 0: 1, 2, 3, 6 (mean 3, var 3.5); channel 1: -1, -1, 1, 1 (mean 0, var 1)
        let x = [1.0, -1.0, 2.0, -1.0, 3.0, 1.0, 6.0, 1.0];
        let p = BatchNormParams::default();
        assert_eq!((p.momentum, p.epsilon), (0.99, 1e-3));
        let t = run_train(&g, &p, &x, &[1.0, 2.0], &[0.0, 0.5], (&[0.5, -1.0], &[2.0, 4.0]));
        assert_eq!(t.mean, vec![3.0, 0.0]);
        assert_close(&t.inv_std, &[1.0 / 3.501f64.sqrt(), 1.0 / 1.001f64.sqrt()], 1e-6, 0.0, "inv_std");
        let want_rm = [0.5f32 * 0.99 + 3.0 * (1.0 - 0.99f32), -0.99];
        let want_rv = [2.0f32 * 0.99 + 3.5 * (1.0 - 0.99f32), 4.0 * 0.99 + 1.0 * (1.0 - 0.99f32)];
        assert_eq!(t.running_mean, want_rm.to_vec());
        assert_eq!(t.running_var, want_rv.to_vec());
        assert_close(&t.running_mean, &[0.525, -0.99], 1e-6, 0.0, "running_mean");
        assert_close(&t.running_var, &[2.015, 3.97], 1e-6, 0.0, "running_var");
        // Channel 1 normalised: ±1/sqrt(1.001)·2 + 0.5.
        let s = 2.0 / 1.001f64.sqrt();
        assert_close(&[t.y[1], t.y[7]], &[0.5 - s, 0.5 + s], 1e-6, 0.0, "y");
        // momentum 0 replaces the running statistics with the batch's.
        let p0 = BatchNormParams::new(0.0, 1e-3).unwrap();
        let t0 = run_train(&g, &p0, &x, &[1.0, 1.0], &[0.0, 0.0], (&[9.0, 9.0], &[9.0, 9.0]));
        assert_eq!((t0.running_mean, t0.running_var), (vec![3.0, 0.0], vec![3.5, 1.0]));
    }

    fn batchnorm_fwd_infer_matches_reference() {
        let p = BatchNormParams::new(0.9, 1e-5).unwrap();
        for (k, shape) in shapes().into_iter().enumerate() {
            let g = BatchNormGeom::new(shape).unwrap();
            let mut rng = TestRng::new(40 + k as u64);
            let x = input(&g, &mut rng);
            let (gamma, beta, mean) = (rng.vec(g.c), rng.vec(g.c), rng.vec(g.c));
            let var: Vec<f32> = rng.vec(g.c).iter().map(|v| v.abs() + 0.1).collect();
            let mut y = nan_filled(g.len());
            let mut scratch = nan_filled(scratch_len(&g));
            batchnorm_fwd_infer(&g, &p, &x, &gamma, &beta, &mean, &var, &mut y, &mut scratch);
            let w = reference::widen;
            let want = reference::batchnorm_infer(&g, p.epsilon as f64, &w(&x), &w(&gamma), &w(&beta), &w(&mean), &w(&var));
            assert_close(&y, &want, 1e-5, 1e-5, &format!("batchnorm_fwd_infer {g:?}"));
        }
    }

    fn batchnorm_bwd_infer_gradcheck() {
        // Frozen statistics: dx against central differences of the f64 inference forward.
        let p = BatchNormParams::new(0.9, 1e-3).unwrap();
        for (k, shape) in [[2, 3, 2, 3], [1, 5, 1, 4], [3, 1, 1, 5], [1, 3, 3, 8]].into_iter().enumerate() {
            let g = BatchNormGeom::new(shape).unwrap();
            let mut rng = TestRng::new(80 + k as u64);
            let x = input(&g, &mut rng);
            let (gamma, beta, mean) = (rng.vec(g.c), rng.vec(g.c), rng.vec(g.c));
            let var: Vec<f32> = rng.vec(g.c).iter().map(|v| v.abs() + 0.1).collect();
            let r = rng.vec(g.len());
            let mut dx = nan_filled(g.len());
            let mut scratch = nan_filled(scratch_len(&g));
            batchnorm_bwd_infer(&g, &p, &r, &gamma, &var, &mut dx, &mut scratch);
            let w = reference::widen;
            let (gd, bd, md, vd) = (w(&gamma), w(&beta), w(&mean), w(&var));
            let num = numeric_grad(&x, 1e-5, |xv| project(&reference::batchnorm_infer(&g, p.epsilon as f64, xv, &gd, &bd, &md, &vd), &r));
            assert_grad_close(&dx, &num, 1e-4, 1e-5, &format!("batchnorm_bwd_infer {g:?}: dx"));
        }
    }

    fn batchnorm_bwd_gradcheck_training_mode() {
        let p = BatchNormParams::default();
        let eps = p.epsilon as f64;
        for (k, shape) in [[2, 3, 2, 3], [1, 5, 1, 4], [3, 1, 1, 5], [2, 2, 3, 1], [1, 3, 3, 8]].into_iter().enumerate() {
            let g = BatchNormGeom::new(shape).unwrap();
            let mut rng = TestRng::new(60 + k as u64);
            let x = input(&g, &mut rng);
            let (gamma, beta) = (rng.vec(g.c), rng.vec(g.c));
            let r = rng.vec(g.len());
            let t = run_train(&g, &p, &x, &gamma, &beta, (&vec![0.0; g.c], &vec![1.0; g.c]));
            let (dx, dgamma, dbeta) = run_bwd(&g, &x, &r, &gamma, &t);
            let (xd, gd, bd) = (reference::widen(&x), reference::widen(&gamma), reference::widen(&beta));
            let ctx = format!("batchnorm_bwd {g:?}");
            let h = 1e-5;
            let num_dx = numeric_grad(&x, h, |xv| project(&reference::batchnorm_train(&g, eps, xv, &gd, &bd).y, &r));
            let num_dg = numeric_grad(&gamma, h, |gv| project(&reference::batchnorm_train(&g, eps, &xd, gv, &bd).y, &r));
            let num_db = numeric_grad(&beta, h, |bv| project(&reference::batchnorm_train(&g, eps, &xd, &gd, bv).y, &r));
            assert_grad_close(&dx, &num_dx, 1e-3, 1e-4, &format!("{ctx}: dx"));
            assert_grad_close(&dgamma, &num_dg, 1e-4, 1e-5, &format!("{ctx}: dgamma"));
            assert_grad_close(&dbeta, &num_db, 1e-5, 1e-6, &format!("{ctx}: dbeta"));
        }
    }

    fn batchnorm_bwd_matches_formula_on_awkward_shapes() {
        // The standard closed form in f64, from the kernel's saved statistics.
        let p = BatchNormParams::default();
        for (k, shape) in shapes().into_iter().enumerate() {
            let g = BatchNormGeom::new(shape).unwrap();
            let mut rng = TestRng::new(80 + k as u64);
            let x = input(&g, &mut rng);
            let (gamma, beta, dy) = (rng.vec(g.c), rng.vec(g.c), rng.vec(g.len()));
            let t = run_train(&g, &p, &x, &gamma, &beta, (&vec![0.0; g.c], &vec![1.0; g.c]));
            let (dx, dgamma, dbeta) = run_bwd(&g, &x, &dy, &gamma, &t);
            let (c, m) = (g.c, g.rows as f64);
            let xhat = |i: usize| (x[i] as f64 - t.mean[i % c] as f64) * t.inv_std[i % c] as f64;
            let mut db = vec![0.0f64; c];
            let mut dg = vec![0.0f64; c];
            for i in 0..g.len() {
                db[i % c] += dy[i] as f64;
                dg[i % c] += dy[i] as f64 * xhat(i);
            }
            let want_dx: Vec<f64> = (0..g.len()).map(|i| {
                let ch = i % c;
                gamma[ch] as f64 * t.inv_std[ch] as f64 / m * (m * dy[i] as f64 - db[ch] - xhat(i) * dg[ch])
            }).collect();
            let ctx = format!("batchnorm_bwd {g:?}");
            let sum_abs_dy = |ch: usize| (0..g.rows).map(|r| (dy[r * c + ch] as f64).abs()).sum::<f64>();
            let tol: Vec<f64> = (0..c).map(|ch| 1e-5 * sum_abs_dy(ch).max(1.0)).collect();
            for ch in 0..c {
                assert_close(&dbeta[ch..ch + 1], &db[ch..ch + 1], 0.0, tol[ch], &format!("{ctx}: dbeta"));
                assert_close(&dgamma[ch..ch + 1], &dg[ch..ch + 1], 0.0, tol[ch] * 4.0, &format!("{ctx}: dgamma"));
            }
            assert_close(&dx, &want_dx, 1e-4, 1e-5, &format!("{ctx}: dx"));
        }
    }

    fn batchnorm_rejects_bad_parameters() {
        let msg = BatchNormGeom::new([2, 0, 3, 4]).unwrap_err().message;
        assert!(msg.contains("h must be >= 1, got 0") && msg.contains("[2, 0, 3, 4]"), "{msg}");
        assert!(BatchNormGeom::new([usize::MAX, 2, 2, 2]).is_err());
        let msg = BatchNormParams::new(1.5, 1e-3).unwrap_err().message;
        assert!(msg.contains("momentum must be in [0, 1], got 1.5"), "{msg}");
        let msg = BatchNormParams::new(0.99, 0.0).unwrap_err().message;
        assert!(msg.contains("epsilon must be finite and > 0, got 0"), "{msg}");
    }
}

#[cfg(all(test, feature = "threads"))]
#[test]
fn batchnorm_bit_identical_with_1_and_2_threads() {
    use crate::selftest::util::assert_bits_eq;
    let p = BatchNormParams::default();
    for shape in [[4, 33, 31, 17], [8, 64, 64, 1], [256, 1, 1, 130]] {
        // Each is above the parallel threshold and has several reduction chunks.
        let g = BatchNormGeom::new(shape).unwrap();
        let mut rng = TestRng::new(99);
        let x = input(&g, &mut rng);
        let (gamma, beta, dy) = (rng.vec(g.c), rng.vec(g.c), rng.vec(g.len()));
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let t = run_train(&g, &p, &x, &gamma, &beta, (&vec![0.1; g.c], &vec![0.9; g.c]));
                let grads = run_bwd(&g, &x, &dy, &gamma, &t);
                (t, grads)
            })
        };
        let ((a, ga), (b, gb)) = (run(1), run(2));
        let ctx = format!("{g:?}, 1 vs 2 threads");
        assert_bits_eq(&a.y, &b.y, &format!("batchnorm y {ctx}"));
        assert_bits_eq(&a.mean, &b.mean, &format!("batchnorm mean {ctx}"));
        assert_bits_eq(&a.inv_std, &b.inv_std, &format!("batchnorm inv_std {ctx}"));
        assert_bits_eq(&a.running_mean, &b.running_mean, &format!("batchnorm running_mean {ctx}"));
        assert_bits_eq(&a.running_var, &b.running_var, &format!("batchnorm running_var {ctx}"));
        assert_bits_eq(&ga.0, &gb.0, &format!("batchnorm dx {ctx}"));
        assert_bits_eq(&ga.1, &gb.1, &format!("batchnorm dgamma {ctx}"));
        assert_bits_eq(&ga.2, &gb.2, &format!("batchnorm dbeta {ctx}"));
    }
}
