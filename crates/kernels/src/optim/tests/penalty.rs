//! L2 penalty (both forms) and clipping by global norm.

use super::{assert_close, in_ranges, some_ranges, to_f64, LENS};
use crate::error::ErrorCode;
use crate::optim::{clip_by_global_norm, global_norm, l2_penalty, L2Form, ParamRange};
use crate::reference;
use crate::selftest::util::TestRng;

const FORMS: [L2Form; 3] = [L2Form::Keras, L2Form::Study { batch: 32 }, L2Form::Study { batch: 1 }];

/// Asserts a scalar is within `rtol` of the reference.
fn assert_rel(got: f32, want: f64, rtol: f64, ctx: &str) {
    let err = (got as f64 - want).abs();
    assert!(got.is_finite() && err <= rtol * want.abs() + f64::MIN_POSITIVE, "{ctx}: got {got}, reference {want} (error {err:e})");
}

crate::kernel_tests! {
    fn l2_matches_reference() {
        let mut seed = 5000;
        for &len in &LENS {
            for form in FORMS {
                let mut rng = TestRng::new(seed);
                seed += 1;
                let ranges = some_ranges(len);
                let w = rng.vec(len);
                let g0 = rng.vec(len);
                let mut g = g0.clone();
                let penalty = l2_penalty(form, 0.1, &ranges, &w, &mut g).unwrap();
                let mut g_ref = to_f64(&g0);
                let want = reference::l2_penalty(form, 0.1f32 as f64, &ranges, &to_f64(&w), &mut g_ref);
                let ctx = format!("l2 {form:?} len={len}");
                if ranges.is_empty() {
                    assert_eq!(penalty, 0.0, "{ctx}: penalty without ranges");
                } else {
                    assert_rel(penalty, want, 1e-6, &format!("{ctx}: penalty"));
                }
                assert_close(&g, &g_ref, 1e-6, 1e-7, &format!("{ctx}: grads"));
                for i in (0..len).filter(|&i| !in_ranges(&ranges, i)) {
                    assert!(g[i].to_bits() == g0[i].to_bits(), "{ctx}: grad {i} outside the ranges changed");
                }
            }
        }
    }

    fn l2_known_values_both_forms() {
        // lambda 0.1, W = [1, 2]: Keras penalty 0.1 · 5 = 0.5, grad 2 · 0.1 · W.
        let all = [ParamRange { offset: 0, len: 2 }];
        let mut g = vec![0.0f32; 2];
        let penalty = l2_penalty(L2Form::Keras, 0.1, &all, &[1.0, 2.0], &mut g).unwrap();
        assert_eq!(penalty, 0.5);
        assert_eq!(g, vec![0.2, 0.4]);
        // The study's form at batch 32: 0.1 / 64 · 5 = 0.0078125, grad 0.1 / 32 · W.
        let mut g = vec![0.0f32; 2];
        let penalty = l2_penalty(L2Form::Study { batch: 32 }, 0.1, &all, &[1.0, 2.0], &mut g).unwrap();
        assert_eq!(penalty, 0.0078125);
        assert_eq!(g, vec![0.003125, 0.00625]);
        // Only the range is penalised; the gradient is added to what is there.
        let mut g = vec![1.0f32; 3];
        let penalty = l2_penalty(L2Form::Keras, 0.1, &[ParamRange { offset: 1, len: 1 }], &[5.0, 2.0, 7.0], &mut g).unwrap();
        assert!((penalty - 0.4).abs() <= 1e-7, "penalty {penalty}");
        assert_eq!(g, vec![1.0, 1.4, 1.0]);
    }

    fn l2_rejects_bad_input() {
        let all = [ParamRange { offset: 0, len: 2 }];
        let mut g = vec![0.0f32; 2];
        let err = l2_penalty(L2Form::Study { batch: 0 }, 0.1, &all, &[1.0, 2.0], &mut g).unwrap_err();
        assert!(err.code == ErrorCode::InvalidValue && err.message.contains("batch"), "{err}");
        let err = l2_penalty(L2Form::Keras, -0.1, &all, &[1.0, 2.0], &mut g).unwrap_err();
        assert!(err.message.contains("lambda"), "{err}");
        let err = l2_penalty(L2Form::Keras, 0.1, &[ParamRange { offset: 1, len: 2 }], &[1.0, 2.0], &mut g).unwrap_err();
        assert!(err.code == ErrorCode::InvalidGeometry && err.message.contains("outside the 2 parameters"), "{err}");
        let err = l2_penalty(L2Form::Keras, 0.1, &all, &[1.0, 2.0, 3.0], &mut g).unwrap_err();
        assert!(err.message.contains("grads has 2 elements"), "{err}");
        assert_eq!(g, vec![0.0, 0.0]);
    }

    fn clip_by_global_norm_values() {
        // [3, 4]: norm 5; clipped to 1 -> [0.6, 0.8]; a larger max leaves it.
        let mut g = vec![3.0f32, 4.0];
        assert_eq!(clip_by_global_norm(&mut g, 10.0).unwrap(), 5.0);
        assert_eq!(g, vec![3.0, 4.0]);
        assert_eq!(clip_by_global_norm(&mut g, 5.0).unwrap(), 5.0);
        assert_eq!(g, vec![3.0, 4.0]);
        assert_eq!(clip_by_global_norm(&mut g, 1.0).unwrap(), 5.0);
        assert!((g[0] - 0.6).abs() <= 1e-7 && (g[1] - 0.8).abs() <= 1e-7, "{g:?}");
        assert_eq!(global_norm(&[]), 0.0);
        // Non-finite norms leave the gradients alone.
        let mut g = vec![1.0f32, f32::INFINITY, 2.0];
        assert_eq!(clip_by_global_norm(&mut g, 1.0).unwrap(), f32::INFINITY);
        assert_eq!(g, vec![1.0, f32::INFINITY, 2.0]);
        let mut g = vec![1.0f32, f32::NAN];
        assert!(clip_by_global_norm(&mut g, 1.0).unwrap().is_nan());
        assert_eq!(g[0], 1.0);
        assert_eq!(clip_by_global_norm(&mut g, -1.0).unwrap_err().code, ErrorCode::InvalidValue);
    }

    fn clip_by_global_norm_matches_reference() {
        for (i, &len) in LENS.iter().enumerate() {
            let mut rng = TestRng::new(6000 + i as u64);
            let g0 = rng.vec(len);
            let exact = g0.iter().map(|&v| v as f64 * v as f64).sum::<f64>().sqrt();
            assert_rel(global_norm(&g0), exact, 1e-7, &format!("global_norm len={len}"));
            for max_norm in [0.5 * exact as f32, 2.0 * exact as f32] {
                let mut g = g0.clone();
                let norm = clip_by_global_norm(&mut g, max_norm).unwrap();
                let mut g_ref = to_f64(&g0);
                let want = reference::clip_by_global_norm(&mut g_ref, max_norm as f64);
                let ctx = format!("clip len={len} max_norm={max_norm}");
                assert_rel(norm, want, 1e-7, &ctx);
                assert_close(&g, &g_ref, 2e-7, 0.0, &ctx);
                let clipped = global_norm(&g) as f64;
                assert!(clipped <= max_norm as f64 * (1.0 + 1e-6), "{ctx}: norm after clipping {clipped}");
            }
        }
    }
}

#[cfg(all(test, feature = "threads"))]
#[test]
fn norm_and_l2_bit_identical_with_1_and_2_threads() {
    let len = 1_000_003;
    let mut rng = TestRng::new(17);
    let w = rng.vec(len);
    let g0 = rng.vec(len);
    let ranges = some_ranges(len);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let mut g = g0.clone();
            let penalty = l2_penalty(L2Form::Keras, 0.1, &ranges, &w, &mut g).unwrap();
            let norm = clip_by_global_norm(&mut g, 1.0).unwrap();
            (penalty, norm, g)
        })
    };
    let ((p1, n1, g1), (p2, n2, g2)) = (run(1), run(2));
    assert_eq!(p1.to_bits(), p2.to_bits(), "l2 penalty with 1 vs 2 threads: {p1} vs {p2}");
    assert_eq!(n1.to_bits(), n2.to_bits(), "global norm with 1 vs 2 threads: {n1} vs {n2}");
    crate::selftest::util::assert_bits_eq(&g1, &g2, "l2 + clip grads, 1 vs 2 threads");
}
