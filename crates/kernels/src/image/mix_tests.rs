//! MixUp and CutMix: the mixed batch against a naive per-element reference on
//! awkward shapes, the Beta draws' moments, the keying of the draws, the
//! validation, and thread independence.

use super::mix::{mix_batch, sample_mix, MixKind, MixSpec};
use crate::selftest::util::{assert_bits_eq, nan_filled, TestRng};

fn spec(n: usize, h: usize, w: usize, c: usize, kind: MixKind, alpha: f32) -> MixSpec {
    MixSpec { n, h, w, c, kind, alpha, seed: 0x1234_5678_9abc, epoch: 3, first: 7 }
}

/// Runs the kernel on a random batch: (input, mixed, lambdas).
fn run(s: &MixSpec) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let x = TestRng::new(s.n as u64 * 31 + s.h as u64).vec(s.batch_len());
    let mut mixed = x.clone();
    let mut lambdas = nan_filled(s.n);
    let mut scratch = nan_filled(s.batch_len() + 5);
    mix_batch(s, &mut mixed, &mut lambdas, &mut scratch);
    (x, mixed, lambdas)
}

/// Shapes with odd planes (tails that are not whole vectors), one channel and three, a batch of one.
const SHAPES: [(usize, usize, usize, usize); 4] = [(3, 5, 7, 3), (4, 9, 6, 1), (1, 4, 4, 3), (5, 13, 11, 3)];

crate::kernel_tests! {
    fn mixup_matches_naive_reference() {
        for (n, h, w, c) in SHAPES {
            for alpha in [0.2f32, 1.0, 3.5] {
                let s = spec(n, h, w, c, MixKind::MixUp, alpha);
                let (x, mixed, lambdas) = run(&s);
                let plane = s.plane();
                let mut want = vec![0f32; s.batch_len()];
                for i in 0..n {
                    let l = sample_mix(&s, i).lambda;
                    assert!((0.0..=1.0).contains(&l), "lambda {l} out of [0, 1]");
                    assert_eq!(lambdas[i].to_bits(), l.to_bits(), "lambda {i} of {s:?}");
                    let partner = (i + n - 1) % n;
                    for e in 0..plane {
                        want[i * plane + e] = x[i * plane + e] * l + x[partner * plane + e] * (1.0 - l);
                    }
                }
                assert_bits_eq(&mixed, &want, &format!("MixUp {s:?}"));
            }
        }
    }

    fn cutmix_pastes_the_partner_box_and_reports_the_share_left() {
        let mut saw_box = false;
        for (n, h, w, c) in SHAPES {
            for alpha in [0.5f32, 1.0] {
                let s = spec(n, h, w, c, MixKind::CutMix, alpha);
                let (x, mixed, lambdas) = run(&s);
                let plane = s.plane();
                for i in 0..n {
                    let m = sample_mix(&s, i);
                    let b = m.cut.expect("CutMix has a box");
                    assert!(b.y0 <= b.y1 && b.y1 <= h && b.x0 <= b.x1 && b.x1 <= w, "box {b:?} outside {h}x{w}");
                    let area = (b.y1 - b.y0) * (b.x1 - b.x0);
                    saw_box |= area > 0 && area < h * w;
                    assert_eq!(lambdas[i], (1.0 - area as f64 / (h * w) as f64) as f32, "lambda {i} of {s:?}");
                    let partner = (i + n - 1) % n;
                    for y in 0..h {
                        for xw in 0..w {
                            let inside = (b.y0..b.y1).contains(&y) && (b.x0..b.x1).contains(&xw);
                            let from = if inside { partner } else { i };
                            for k in 0..c {
                                let e = (y * w + xw) * c + k;
                                assert_eq!(mixed[i * plane + e].to_bits(), x[from * plane + e].to_bits(), "CutMix {s:?} image {i} at ({y}, {xw}, {k}), box {b:?}");
                            }
                        }
                    }
                }
            }
        }
        assert!(saw_box, "no test case drew a proper box");
    }

    fn beta_draws_have_the_beta_moments() {
        // Beta(α, α): mean 1/2, variance 1 / (4·(2α + 1)). 20,000 draws: the
        // standard error of the variance is below 0.001 for these α.
        for alpha in [0.2f32, 0.4, 1.0, 2.0] {
            let s = MixSpec { n: 1, h: 1, w: 1, c: 1, kind: MixKind::MixUp, alpha, seed: 99, epoch: 0, first: 0 };
            let draws: Vec<f64> = (0..20_000).map(|i| sample_mix(&s, i).lambda as f64).collect();
            let mean = draws.iter().sum::<f64>() / draws.len() as f64;
            let var = draws.iter().map(|l| (l - mean) * (l - mean)).sum::<f64>() / draws.len() as f64;
            let want = 1.0 / (4.0 * (2.0 * alpha as f64 + 1.0));
            assert!((mean - 0.5).abs() < 0.01, "alpha {alpha}: mean {mean}");
            assert!((var - want).abs() < 0.004, "alpha {alpha}: variance {var}, want {want}");
            assert!(draws.iter().all(|l| (0.0..=1.0).contains(l)), "alpha {alpha}: a draw outside [0, 1]");
        }
    }

    fn draws_are_keyed_by_seed_epoch_and_position() {
        let s = spec(4, 6, 6, 3, MixKind::CutMix, 1.0);
        // Sample i of a batch starting at position `first` is the sample at position first + i.
        let later = MixSpec { first: s.first + 2, ..s };
        assert_eq!(sample_mix(&s, 3), sample_mix(&later, 1));
        assert_ne!(sample_mix(&s, 0), sample_mix(&s, 1));
        assert_ne!(sample_mix(&s, 0), sample_mix(&MixSpec { epoch: s.epoch + 1, ..s }, 0));
        assert_ne!(sample_mix(&s, 0), sample_mix(&MixSpec { seed: s.seed + 1, ..s }, 0));
    }

    fn validation_names_the_bad_value() {
        let good = spec(2, 3, 3, 3, MixKind::MixUp, 0.4);
        assert!(good.validate().is_ok());
        for (bad, what) in [
            (MixSpec { alpha: 0.0, ..good }, "alpha must be finite and > 0, got 0"),
            (MixSpec { alpha: f32::NAN, ..good }, "alpha must be finite and > 0, got NaN"),
            (MixSpec { n: 0, ..good }, "n must be >= 1"),
            (MixSpec { c: 0, ..good }, "c must be >= 1"),
            (MixSpec { first: u32::MAX, ..good }, "first + n must be at most 2^32"),
        ] {
            let err = bad.validate().expect_err(what).to_string();
            assert!(err.contains(what), "{err:?} should say {what:?}");
        }
        assert!(MixKind::from_code(3).expect_err("code 3").to_string().contains("kind must be 1 (MixUp) or 2 (CutMix), got 3"));
    }
}

#[cfg(all(test, feature = "threads"))]
#[test]
fn mix_batch_bit_identical_with_1_and_2_threads() {
    for kind in [MixKind::MixUp, MixKind::CutMix] {
        let s = spec(6, 40, 37, 3, kind, 0.4);
        let run_with = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| run(&s))
        };
        let (a, b) = (run_with(1), run_with(2));
        assert_bits_eq(&a.1, &b.1, &format!("{kind:?} 6x40x37x3, 1 vs 2 threads"));
        assert_bits_eq(&a.2, &b.2, &format!("{kind:?} lambdas, 1 vs 2 threads"));
    }
}
