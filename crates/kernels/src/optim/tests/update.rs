//! SGD (momentum, Nesterov), Adam and AdamW steps.

use super::{assert_close, in_ranges, some_ranges, to_f64, LENS};
use crate::error::ErrorCode;
use crate::optim::{adam_step, adamw_step, sgd_step, AdamParams, ParamRange, SgdParams, WeightDecay};
use crate::reference;
use crate::selftest::util::TestRng;

const STEPS: usize = 5;

/// Learning rate of step `s` (changes every step, as a schedule would).
fn lr_at(s: usize) -> f32 {
    0.05 / (1.0 + s as f32)
}

fn check_sgd(len: usize, momentum: f32, nesterov: bool, seed: u64) {
    let h = SgdParams::new(momentum, nesterov).unwrap();
    let mut rng = TestRng::new(seed);
    let mut p = rng.vec(len);
    let mut v = vec![0.0f32; len];
    let (mut p_ref, mut v_ref) = (to_f64(&p), vec![0.0f64; len]);
    for s in 0..STEPS {
        let g = rng.vec(len);
        let lr = lr_at(s);
        sgd_step(&h, lr, &mut p, &g, &mut v).unwrap();
        reference::sgd_step(lr as f64, momentum as f64, nesterov, &mut p_ref, &to_f64(&g), &mut v_ref);
        let ctx = format!("sgd len={len} momentum={momentum} nesterov={nesterov} step {s}");
        assert_close(&p, &p_ref, 0.0, 1e-6, &format!("{ctx}: params"));
        assert_close(&v, &v_ref, 1e-6, 1e-8, &format!("{ctx}: velocity"));
    }
}

/// Adam (`wd == 0`) or AdamW over `STEPS` steps against the reference.
fn check_adam(len: usize, wd: f32, ranges: &[ParamRange], seed: u64) {
    let h = AdamParams::KERAS;
    let mut rng = TestRng::new(seed);
    let mut p = rng.vec(len);
    let (mut m, mut v) = (vec![0.0f32; len], vec![0.0f32; len]);
    let (mut p_ref, mut m_ref, mut v_ref) = (to_f64(&p), vec![0.0f64; len], vec![0.0f64; len]);
    for s in 0..STEPS {
        let g = rng.vec(len);
        let (lr, t) = (lr_at(s), s as u32 + 1);
        if wd == 0.0 {
            adam_step(&h, lr, t, &mut p, &g, &mut m, &mut v).unwrap();
        } else {
            adamw_step(&h, lr, t, &WeightDecay { rate: wd, ranges }, &mut p, &g, &mut m, &mut v).unwrap();
        }
        let (b1, b2, eps) = (h.beta1, h.beta2, h.epsilon);
        let g64 = to_f64(&g);
        reference::adam_step(lr as f64, b1, b2, eps, t, wd as f64, ranges, &mut p_ref, &g64, &mut m_ref, &mut v_ref);
        let ctx = format!("adam len={len} wd={wd} step {t}");
        assert_close(&p, &p_ref, 0.0, 1e-6, &format!("{ctx}: params"));
        assert_close(&m, &m_ref, 1e-5, 1e-7, &format!("{ctx}: m"));
        assert_close(&v, &v_ref, 1e-5, 1e-10, &format!("{ctx}: v"));
    }
}

crate::kernel_tests! {
    fn sgd_matches_reference() {
        let mut seed = 2000;
        for &len in &LENS {
            for (momentum, nesterov) in [(0.0, false), (0.9, false), (0.9, true), (0.5, true)] {
                check_sgd(len, momentum, nesterov, seed);
                seed += 1;
            }
        }
    }

    fn sgd_momentum_known_values() {
        // lr 0.1, momentum 0.9, g 0.5: v = -0.05, p = 0.95; then v = -0.095, p = 0.855.
        let h = SgdParams::new(0.9, false).unwrap();
        let (mut p, mut v) = (vec![1.0f32], vec![0.0f32]);
        sgd_step(&h, 0.1, &mut p, &[0.5], &mut v).unwrap();
        assert!((v[0] + 0.05).abs() <= 1e-8 && (p[0] - 0.95).abs() <= 1e-7, "step 1: p {p:?} v {v:?}");
        sgd_step(&h, 0.1, &mut p, &[0.5], &mut v).unwrap();
        assert!((v[0] + 0.095).abs() <= 1e-8 && (p[0] - 0.855).abs() <= 1e-7, "step 2: p {p:?} v {v:?}");
        // Nesterov: p = 1 + 0.9 · (-0.05) - 0.1 · 0.5 = 0.905.
        let h = SgdParams::new(0.9, true).unwrap();
        let (mut p, mut v) = (vec![1.0f32], vec![0.0f32]);
        sgd_step(&h, 0.1, &mut p, &[0.5], &mut v).unwrap();
        assert!((p[0] - 0.905).abs() <= 1e-7, "nesterov: p {p:?}");
        // Plain SGD needs no velocity.
        let h = SgdParams::new(0.0, false).unwrap();
        let mut p = vec![1.0f32, 2.0];
        sgd_step(&h, 0.5, &mut p, &[1.0, -1.0], &mut []).unwrap();
        assert_eq!(p, vec![0.5, 2.5]);
    }

    fn adam_matches_reference() {
        for (i, &len) in LENS.iter().enumerate() {
            check_adam(len, 0.0, &[], 3000 + i as u64);
        }
    }

    fn adam_known_values() {
        // Keras defaults, lr 0.001, p = 1. Step 1 with g = 0.5: m = 0.05,
        // v = 2.5e-4, m̂ = 0.5, v̂ = 0.25, p = 1 - 0.001 · 0.5 / (0.5 + 1e-7).
        // Step 2 with g = -0.25: m = 0.02, v = 3.1225e-4, p = 0.99873366...
        let h = AdamParams::KERAS;
        let (mut p, mut m, mut v) = (vec![1.0f32], vec![0.0f32], vec![0.0f32]);
        adam_step(&h, 0.001, 1, &mut p, &[0.5], &mut m, &mut v).unwrap();
        assert!((m[0] - 0.05).abs() <= 1e-8 && (v[0] - 2.5e-4).abs() <= 1e-10, "step 1: m {m:?} v {v:?}");
        assert!((p[0] as f64 - 0.999_000_000_2).abs() <= 1e-7, "step 1: p {p:?}");
        adam_step(&h, 0.001, 2, &mut p, &[-0.25], &mut m, &mut v).unwrap();
        assert!((m[0] - 0.02).abs() <= 1e-8 && (v[0] - 3.1225e-4).abs() <= 1e-10, "step 2: m {m:?} v {v:?}");
        assert!((p[0] as f64 - 0.998_733_663_2).abs() <= 2e-7, "step 2: p {p:?}");
    }

    fn adamw_matches_reference() {
        for (i, &len) in LENS.iter().enumerate() {
            check_adam(len, 0.004, &some_ranges(len), 4000 + i as u64);
            // A decay so strong that a missed or doubled range shows.
            check_adam(len, 3.0, &some_ranges(len), 4100 + i as u64);
        }
    }

    fn adamw_decays_only_masked_ranges() {
        // With zero gradients and moments the Adam part is exactly 0, so only
        // the decay moves the parameters: p · (1 - lr·wd) inside the ranges,
        // bit-unchanged outside.
        let h = AdamParams::KERAS;
        let (lr, wd) = (0.5f32, 0.25f32);
        for &len in &LENS {
            let ranges = some_ranges(len);
            let p0 = TestRng::new(len as u64).vec(len);
            let mut p = p0.clone();
            let (mut m, mut v, g) = (vec![0.0f32; len], vec![0.0f32; len], vec![0.0f32; len]);
            adamw_step(&h, lr, 1, &WeightDecay { rate: wd, ranges: &ranges }, &mut p, &g, &mut m, &mut v).unwrap();
            for i in 0..len {
                let want = if in_ranges(&ranges, i) { p0[i] - p0[i] * (lr * wd) } else { p0[i] };
                assert!(p[i].to_bits() == want.to_bits(), "adamw len={len}: element {i}: got {}, want {want}", p[i]);
            }
        }
    }

    fn optimizers_reject_bad_input() {
        assert_eq!(SgdParams::new(1.5, false).unwrap_err().code, ErrorCode::InvalidValue);
        assert!(AdamParams::new(1.0, 0.999, 1e-7).is_err());
        assert!(AdamParams::new(0.9, -0.1, 1e-7).is_err());
        assert!(AdamParams::new(0.9, 0.999, 0.0).is_err());
        let h = SgdParams::new(0.9, false).unwrap();
        let (mut p, mut v) = (vec![0.0f32; 4], vec![0.0f32; 4]);
        let err = sgd_step(&h, 0.1, &mut p, &[0.0; 3], &mut v).unwrap_err();
        assert!(err.code == ErrorCode::InvalidGeometry && err.message.contains("grads has 3 elements"), "{err}");
        let err = sgd_step(&h, 0.1, &mut p, &[0.0; 4], &mut []).unwrap_err();
        assert!(err.message.contains("velocity has 0 elements"), "{err}");
        for lr in [-1.0, f32::NAN, f32::INFINITY] {
            let err = sgd_step(&h, lr, &mut p, &[0.0; 4], &mut v).unwrap_err();
            assert!(err.code == ErrorCode::InvalidValue && err.message.contains("learning rate"), "{err}");
        }
        let a = AdamParams::KERAS;
        let (mut m, mut v) = (vec![0.0f32; 4], vec![0.0f32; 4]);
        let err = adam_step(&a, 0.1, 0, &mut p, &[0.0; 4], &mut m, &mut v).unwrap_err();
        assert!(err.message.contains("step t must be >= 1"), "{err}");
        let err = adam_step(&a, 0.1, 1, &mut p, &[0.0; 4], &mut m, &mut v[..3]).unwrap_err();
        assert!(err.message.contains("v has 3 elements"), "{err}");
        let bad: [&[ParamRange]; 3] = [
            &[ParamRange { offset: 2, len: 3 }],
            &[ParamRange { offset: 0, len: 2 }, ParamRange { offset: 1, len: 2 }],
            &[ParamRange { offset: 2, len: 1 }, ParamRange { offset: 0, len: 1 }],
        ];
        for ranges in bad {
            let err = adamw_step(&a, 0.1, 1, &WeightDecay { rate: 0.1, ranges }, &mut p, &[0.0; 4], &mut m, &mut v).unwrap_err();
            assert!(err.code == ErrorCode::InvalidGeometry && err.message.contains("range"), "{ranges:?}: {err}");
        }
        assert!(p.iter().chain(&m).chain(&v).all(|&x| x == 0.0), "state written despite an error");
    }
}
