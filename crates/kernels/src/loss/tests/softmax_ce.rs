//! Softmax cross-entropy: reference, gradcheck, known values, errors.

use super::{assert_close_abs, assert_loss_close, to_f64};
use crate::error::ErrorCode;
use crate::loss::{softmax_cross_entropy, LossStats, SoftmaxCeParams, Targets};
use crate::reference;
use crate::selftest::gradcheck::{assert_grad_close, numeric_grad};
use crate::selftest::util::{nan_filled, TestRng};

pub(super) const NS: [usize; 4] = [1, 3, 5, 33];
pub(super) const CLASSES: [usize; 4] = [2, 3, 10, 17];

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Kind {
    LabelsU32,
    LabelsI32,
    OneHot,
    Soft,
}
pub(super) const KINDS: [Kind; 4] = [Kind::LabelsU32, Kind::LabelsI32, Kind::OneHot, Kind::Soft];

/// Storage for the targets of one case.
pub(super) struct Data {
    labels: Vec<u32>,
    labels_i32: Vec<i32>,
    dense: Vec<f32>,
    kind: Kind,
}

impl Data {
    pub(super) fn new(kind: Kind, n: usize, classes: usize, rng: &mut TestRng) -> Self {
        let labels: Vec<u32> = (0..n).map(|_| (rng.next_u64() % classes as u64) as u32).collect();
        let labels_i32 = labels.iter().map(|&l| l as i32).collect();
        let dense = match kind {
            Kind::Soft => {
                let mut d: Vec<f32> = (0..n * classes).map(|_| rng.uniform() + 1.0).collect();
                for row in d.chunks_mut(classes) {
                    let s: f32 = row.iter().sum();
                    row.iter_mut().for_each(|v| *v /= s);
                }
                d
            }
            _ => (0..n * classes).map(|k| (labels[k / classes] as usize == k % classes) as u8 as f32).collect(),
        };
        Self { labels, labels_i32, dense, kind }
    }
    pub(super) fn targets(&self) -> Targets<'_> {
        match self.kind {
            Kind::LabelsU32 => Targets::Labels(&self.labels),
            Kind::LabelsI32 => Targets::LabelsI32(&self.labels_i32),
            Kind::OneHot | Kind::Soft => Targets::Dense(&self.dense),
        }
    }
}

pub(super) fn class_weights(classes: usize, rng: &mut TestRng) -> Vec<f32> {
    (0..classes).map(|_| 1.125 + 0.875 * rng.uniform()).collect()
}

/// Runs the kernel on `logits` and compares with the reference.
fn check(n: usize, classes: usize, logits: &[f32], data: &Data, cw: Option<&[f32]>, ls: f32, ctx: &str) -> LossStats {
    let p = SoftmaxCeParams::new(n, classes, ls).unwrap();
    let mut d = nan_filled(n * classes);
    let got = softmax_cross_entropy(&p, logits, data.targets(), cw, &mut d).unwrap();
    let want = reference::softmax_cross_entropy(n, classes, &to_f64(logits), data.targets(), cw, ls as f64);
    assert_loss_close(got.loss, want.loss, ctx);
    assert_eq!(got.correct, want.correct, "{ctx}: correct count");
    let w_max = cw.map_or(1.0, |w| w.iter().cloned().fold(0.0f32, f32::max)) as f64;
    assert_close_abs(&d, &want.dlogits, 2e-6 * w_max / n as f64, ctx);
    got
}

/// Every case of the reference tests (batch, classes, target kind, class
/// weights or not, label smoothing), each with its own generator seeded from
/// `seed0` on.
pub(super) fn for_each_case(seed0: u64, mut f: impl FnMut(usize, usize, Kind, bool, f32, &mut TestRng)) {
    let mut seed = seed0;
    for &n in &NS {
        for &classes in &CLASSES {
            for kind in KINDS {
                for (weighted, ls) in [(false, 0.0), (true, 0.0), (false, 0.1), (true, 0.2)] {
                    let mut rng = TestRng::new(seed);
                    seed += 1;
                    f(n, classes, kind, weighted, ls, &mut rng);
                }
            }
        }
    }
}

crate::kernel_tests! {
    fn softmax_ce_matches_reference_on_awkward_shapes() {
        for_each_case(1, |n, classes, kind, weighted, ls, rng| {
            let logits: Vec<f32> = rng.vec(n * classes).iter().map(|v| 4.0 * v).collect();
            let data = Data::new(kind, n, classes, rng);
            let cw = weighted.then(|| class_weights(classes, rng));
            let ctx = format!("softmax_ce n={n} classes={classes} {kind:?} weighted={weighted} ls={ls}");
            check(n, classes, &logits, &data, cw.as_deref(), ls, &ctx);
        });
    }

    fn softmax_ce_extreme_logits_stay_finite() {
        let values = [80.0f32, -80.0, 1e4, -1e4, 0.0, 1e4, -1e4];
        let mut seed = 500;
        for &n in &NS {
            for &classes in &CLASSES {
                for kind in KINDS {
                    let mut rng = TestRng::new(seed);
                    seed += 1;
                    let logits: Vec<f32> = (0..n * classes).map(|_| values[(rng.next_u64() % 7) as usize] + rng.uniform()).collect();
                    let data = Data::new(kind, n, classes, &mut rng);
                    let cw = class_weights(classes, &mut rng);
                    let ctx = format!("softmax_ce extreme n={n} classes={classes} {kind:?}");
                    let got = check(n, classes, &logits, &data, Some(&cw), 0.1, &ctx);
                    assert!(got.loss.is_finite(), "{ctx}: loss {}", got.loss);
                }
            }
        }
        // A label on a -1e4 logit next to a +1e4 one: ce = 2e4 exactly.
        let p = SoftmaxCeParams::new(1, 2, 0.0).unwrap();
        let mut d = nan_filled(2);
        let got = softmax_cross_entropy(&p, &[1e4, -1e4], Targets::Labels(&[1]), None, &mut d).unwrap();
        assert_eq!((got.loss, got.correct), (2e4, 0));
        assert_eq!(d, vec![1.0, -1.0]);
    }

    fn softmax_ce_gradcheck() {
        let mut seed = 900;
        for &(n, classes) in &[(1, 2), (3, 3), (5, 10), (2, 17)] {
            for kind in KINDS {
                for (weighted, ls) in [(false, 0.0), (true, 0.1)] {
                    let mut rng = TestRng::new(seed);
                    seed += 1;
                    let logits: Vec<f32> = rng.vec(n * classes).iter().map(|v| 3.0 * v).collect();
                    let data = Data::new(kind, n, classes, &mut rng);
                    let cw = weighted.then(|| class_weights(classes, &mut rng));
                    let p = SoftmaxCeParams::new(n, classes, ls).unwrap();
                    let mut d = nan_filled(n * classes);
                    softmax_cross_entropy(&p, &logits, data.targets(), cw.as_deref(), &mut d).unwrap();
                    let numeric = numeric_grad(&logits, 1e-6, |z| {
                        reference::softmax_cross_entropy(n, classes, z, data.targets(), cw.as_deref(), ls as f64).loss
                    });
                    let ctx = format!("softmax_ce gradcheck n={n} classes={classes} {kind:?} weighted={weighted} ls={ls}");
                    assert_grad_close(&d, &numeric, 1e-4, 1e-6, &ctx);
                }
            }
        }
    }

    fn softmax_ce_known_values() {
        let ln2 = std::f32::consts::LN_2;
        let p = SoftmaxCeParams::new(1, 2, 0.0).unwrap();
        let mut d = nan_filled(2);
        let got = softmax_cross_entropy(&p, &[0.0, 0.0], Targets::Labels(&[0]), None, &mut d).unwrap();
        assert_eq!(got, LossStats { loss: ln2, correct: 1 });
        assert_eq!(d, vec![-0.5, 0.5]);

        // Label smoothing 0.1 over 2 classes: t = [0.95, 0.05].
        let p = SoftmaxCeParams::new(1, 2, 0.1).unwrap();
        let got = softmax_cross_entropy(&p, &[0.0, 0.0], Targets::Labels(&[0]), None, &mut d).unwrap();
        assert!((got.loss - ln2).abs() <= 1e-7, "smoothed loss {}", got.loss);
        assert!((d[0] + 0.45).abs() <= 1e-7 && (d[1] - 0.45).abs() <= 1e-7, "smoothed dlogits {d:?}");

        // Keras class_weight: divided by n (2), not by the weight sum (4).
        let p = SoftmaxCeParams::new(2, 2, 0.0).unwrap();
        let mut d = nan_filled(4);
        let got = softmax_cross_entropy(&p, &[0.0; 4], Targets::Labels(&[0, 1]), Some(&[3.0, 1.0]), &mut d).unwrap();
        assert!((got.loss - 2.0 * ln2).abs() <= 1e-6, "weighted loss {}", got.loss);
        assert_eq!(d, vec![-0.75, 0.75, 0.25, -0.25]);
    }

    fn softmax_ce_correct_count() {
        // Row argmax: 1, 0 (tie: first), 0 (tie), 2.
        let logits = [1.0, 3.0, 2.0, 5.0, 5.0, 1.0, 0.0, 0.0, 0.0, -1.0, -2.0, -0.5];
        let p = SoftmaxCeParams::new(4, 3, 0.0).unwrap();
        let mut d = nan_filled(12);
        let got = softmax_cross_entropy(&p, &logits, Targets::Labels(&[1, 1, 0, 2]), None, &mut d).unwrap();
        assert_eq!(got.correct, 3);
        let got = softmax_cross_entropy(&p, &logits, Targets::LabelsI32(&[0, 0, 1, 2]), None, &mut d).unwrap();
        assert_eq!(got.correct, 2);
        // Dense rows: the class is the first argmax of the target row.
        let dense = [0.0, 1.0, 0.0, 0.5, 0.5, 0.0, 0.2, 0.7, 0.1, 0.0, 0.0, 1.0];
        let got = softmax_cross_entropy(&p, &logits, Targets::Dense(&dense), None, &mut d).unwrap();
        assert_eq!(got.correct, 3);
    }

    fn softmax_ce_large_batch_runs_in_chunks() {
        // 3000 x 17 logits: several chunks, parallel.
        let (n, classes) = (3000, 17);
        let mut rng = TestRng::new(77);
        let logits: Vec<f32> = rng.vec(n * classes).iter().map(|v| 5.0 * v).collect();
        let data = Data::new(Kind::LabelsU32, n, classes, &mut rng);
        let cw = class_weights(classes, &mut rng);
        check(n, classes, &logits, &data, Some(&cw), 0.1, "softmax_ce n=3000 classes=17");
    }

    fn softmax_ce_rejects_bad_input() {
        let err = SoftmaxCeParams::new(3, 1, 0.0).unwrap_err();
        assert!(err.code == ErrorCode::InvalidGeometry && err.message.contains("classes must be >= 2"), "{err}");
        assert!(SoftmaxCeParams::new(0, 3, 0.0).is_err());
        for ls in [-0.1, 1.5, f32::NAN] {
            let err = SoftmaxCeParams::new(3, 3, ls).unwrap_err();
            assert!(err.code == ErrorCode::InvalidValue && err.message.contains("label_smoothing"), "{err}");
        }
        let p = SoftmaxCeParams::new(3, 3, 0.0).unwrap();
        let logits = [0.0f32; 9];
        let mut d = nan_filled(9);
        let err = softmax_cross_entropy(&p, &logits, Targets::Labels(&[0, 2, 5]), None, &mut d).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidValue);
        assert!(err.message.contains("label 5 at row 2") && err.message.contains("3 classes"), "{err}");
        assert!(d.iter().all(|v| v.is_nan()), "dlogits written despite the error");
        let err = softmax_cross_entropy(&p, &logits, Targets::LabelsI32(&[-1, 0, 0]), None, &mut d).unwrap_err();
        assert!(err.message.contains("label -1 at row 0"), "{err}");
        let err = softmax_cross_entropy(&p, &logits, Targets::LabelsI32(&[0, 3, 0]), None, &mut d).unwrap_err();
        assert!(err.message.contains("label 3 at row 1"), "{err}");
        let err = softmax_cross_entropy(&p, &logits[..8], Targets::Labels(&[0, 0, 0]), None, &mut d).unwrap_err();
        assert!(err.code == ErrorCode::InvalidGeometry && err.message.contains("logits has 8 elements"), "{err}");
        let err = softmax_cross_entropy(&p, &logits, Targets::Labels(&[0, 0]), None, &mut d).unwrap_err();
        assert!(err.message.contains("labels has 2 elements"), "{err}");
        let err = softmax_cross_entropy(&p, &logits, Targets::Labels(&[0, 0, 0]), Some(&[1.0, 1.0]), &mut d).unwrap_err();
        assert!(err.message.contains("class_weights has 2 elements"), "{err}");
        let err = softmax_cross_entropy(&p, &logits, Targets::Labels(&[0, 0, 0]), Some(&[1.0, -1.0, 1.0]), &mut d).unwrap_err();
        assert!(err.message.contains("class weight -1 of class 1"), "{err}");
        let mut dense = [0.0f32; 9];
        dense[4] = -0.5;
        let err = softmax_cross_entropy(&p, &logits, Targets::Dense(&dense), None, &mut d).unwrap_err();
        assert!(err.message.contains("row 1, class 1"), "{err}");
    }
}

#[cfg(all(test, feature = "threads"))]
#[test]
fn softmax_ce_bit_identical_with_1_and_2_threads() {
    use crate::selftest::util::assert_bits_eq;
    let (n, classes) = (3000, 17);
    let mut rng = TestRng::new(5);
    let logits: Vec<f32> = rng.vec(n * classes).iter().map(|v| 6.0 * v).collect();
    let data = Data::new(Kind::Soft, n, classes, &mut rng);
    let cw = class_weights(classes, &mut rng);
    let p = SoftmaxCeParams::new(n, classes, 0.1).unwrap();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let mut d = nan_filled(n * classes);
        let stats = pool.install(|| softmax_cross_entropy(&p, &logits, data.targets(), Some(&cw), &mut d).unwrap());
        (stats, d)
    };
    let ((s1, d1), (s2, d2)) = (run(1), run(2));
    assert_eq!(s1.loss.to_bits(), s2.loss.to_bits(), "loss with 1 vs 2 threads: {} vs {}", s1.loss, s2.loss);
    assert_eq!(s1.correct, s2.correct);
    assert_bits_eq(&d1, &d2, "softmax_ce dlogits 3000x17, 1 vs 2 threads");
}
