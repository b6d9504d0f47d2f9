//! Binary cross-entropy: reference, gradcheck, known values, errors.

use super::{assert_close_abs, assert_loss_close, to_f64};
use crate::error::ErrorCode;
use crate::loss::{binary_cross_entropy, BceParams, LossStats};
use crate::reference;
use crate::selftest::gradcheck::{assert_grad_close, numeric_grad};
use crate::selftest::util::{nan_filled, TestRng};

const NS: [usize; 6] = [1, 3, 4, 5, 33, 5000];

/// Hard 0/1 targets, or soft ones in [0, 1].
fn targets(n: usize, soft: bool, rng: &mut TestRng) -> Vec<f32> {
    (0..n)
        .map(|_| if soft { 0.5 * (rng.uniform() + 1.0) } else { (rng.next_u64() % 2) as f32 })
        .collect()
}

fn check(logits: &[f32], y: &[f32], cw: Option<[f32; 2]>, ls: f32, ctx: &str) -> LossStats {
    let n = logits.len();
    let p = BceParams::new(n, ls).unwrap();
    let mut d = nan_filled(n);
    let got = binary_cross_entropy(&p, logits, y, cw, &mut d).unwrap();
    let want = reference::binary_cross_entropy(n, &to_f64(logits), y, cw, ls as f64);
    assert_loss_close(got.loss, want.loss, ctx);
    assert_eq!(got.correct, want.correct, "{ctx}: correct count");
    let w_max = cw.map_or(1.0, |w| w[0].max(w[1])) as f64;
    assert_close_abs(&d, &want.dlogits, 2e-7 * w_max / n as f64, ctx);
    got
}

crate::kernel_tests! {
    fn bce_matches_reference() {
        let mut seed = 1000;
        for &n in &NS {
            for soft in [false, true] {
                for (cw, ls) in [(None, 0.0), (Some([0.5, 2.5]), 0.0), (None, 0.1), (Some([1.5, 0.25]), 0.2)] {
                    let mut rng = TestRng::new(seed);
                    seed += 1;
                    let logits: Vec<f32> = rng.vec(n).iter().map(|v| 6.0 * v).collect();
                    let y = targets(n, soft, &mut rng);
                    check(&logits, &y, cw, ls, &format!("bce n={n} soft={soft} weights={cw:?} ls={ls}"));
                }
            }
        }
    }

    fn bce_extreme_logits_stay_finite() {
        let logits = [80.0f32, -80.0, 1e4, -1e4, 80.0, -80.0, 1e4, -1e4, 0.0];
        let y = [1.0f32, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0];
        for (cw, ls) in [(None, 0.0), (Some([2.0, 0.5]), 0.1)] {
            let got = check(&logits, &y, cw, ls, &format!("bce extreme weights={cw:?} ls={ls}"));
            assert!(got.loss.is_finite());
        }
        // Confidently wrong by 1e4: the loss is the logit itself.
        let p = BceParams::new(1, 0.0).unwrap();
        let mut d = nan_filled(1);
        let got = binary_cross_entropy(&p, &[-1e4], &[1.0], None, &mut d).unwrap();
        assert_eq!((got.loss, got.correct, d[0]), (1e4, 0, -1.0));
    }

    fn bce_stable_form_equals_definition() {
        // The reference's stable form against -(y log σ + (1-y) log(1-σ)).
        for k in 0..41 {
            let z = -10.0 + 0.5 * k as f64;
            for y in [0.0f32, 0.3, 1.0] {
                let r = reference::binary_cross_entropy(1, &[z], &[y], None, 0.0);
                let s = 1.0 / (1.0 + (-z).exp());
                let def = -(y as f64 * s.ln() + (1.0 - y as f64) * (1.0 - s).ln());
                assert!((r.loss - def).abs() <= 1e-12 * def.abs().max(1.0), "z={z} y={y}: {} vs {def}", r.loss);
            }
        }
    }

    fn bce_gradcheck() {
        let mut seed = 1100;
        for &n in &[1usize, 3, 7] {
            for (soft, cw, ls) in [(false, None, 0.0), (true, Some([0.5, 2.0]), 0.1)] {
                let mut rng = TestRng::new(seed);
                seed += 1;
                let logits: Vec<f32> = rng.vec(n).iter().map(|v| 4.0 * v).collect();
                let y = targets(n, soft, &mut rng);
                let p = BceParams::new(n, ls).unwrap();
                let mut d = nan_filled(n);
                binary_cross_entropy(&p, &logits, &y, cw, &mut d).unwrap();
                let numeric = numeric_grad(&logits, 1e-6, |z| reference::binary_cross_entropy(n, z, &y, cw, ls as f64).loss);
                assert_grad_close(&d, &numeric, 1e-4, 1e-7, &format!("bce gradcheck n={n} soft={soft} weights={cw:?}"));
            }
        }
    }

    fn bce_known_values() {
        let ln2 = std::f32::consts::LN_2;
        // z = 0 predicts the negative class (σ = 0.5 is not > 0.5).
        let p = BceParams::new(2, 0.0).unwrap();
        let mut d = nan_filled(2);
        let got = binary_cross_entropy(&p, &[0.0, 0.0], &[0.0, 1.0], Some([1.0, 3.0]), &mut d).unwrap();
        assert!((got.loss - 2.0 * ln2).abs() <= 1e-6 && got.correct == 1, "{got:?}");
        assert_eq!(d, vec![0.25, -0.75]);
        // Threshold: z > 0 and y > 0.5.
        let p = BceParams::new(4, 0.0).unwrap();
        let mut d = nan_filled(4);
        let got = binary_cross_entropy(&p, &[0.1, -0.1, 2.0, -3.0], &[1.0, 0.0, 0.5, 0.9], None, &mut d).unwrap();
        assert_eq!(got.correct, 2);
    }

    fn bce_rejects_bad_input() {
        assert!(BceParams::new(0, 0.0).is_err());
        assert_eq!(BceParams::new(2, 1.1).unwrap_err().code, ErrorCode::InvalidValue);
        let p = BceParams::new(3, 0.0).unwrap();
        let mut d = nan_filled(3);
        let err = binary_cross_entropy(&p, &[0.0; 3], &[0.0, 1.5, 0.0], None, &mut d).unwrap_err();
        assert!(err.code == ErrorCode::InvalidValue && err.message.contains("target 1.5 at row 1"), "{err}");
        let err = binary_cross_entropy(&p, &[0.0; 3], &[0.0, 0.0, f32::NAN], None, &mut d).unwrap_err();
        assert!(err.message.contains("at row 2"), "{err}");
        let err = binary_cross_entropy(&p, &[0.0; 2], &[0.0; 3], None, &mut d).unwrap_err();
        assert!(err.code == ErrorCode::InvalidGeometry && err.message.contains("logits has 2 elements"), "{err}");
        let err = binary_cross_entropy(&p, &[0.0; 3], &[0.0; 3], Some([1.0, f32::INFINITY]), &mut d).unwrap_err();
        assert!(err.message.contains("class weight inf of class 1"), "{err}");
        assert!(d.iter().all(|v| v.is_nan()), "dlogits written despite the error");
    }
}
