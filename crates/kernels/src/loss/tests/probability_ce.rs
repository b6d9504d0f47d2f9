//! Cross-entropy of probabilities: an f64 reference, gradient checks, the
//! clip at Keras' epsilon, known values, errors and thread independence.

use super::softmax_ce::{class_weights, for_each_case, Data, KINDS};
use super::{assert_close_abs, assert_loss_close};
use crate::error::ErrorCode;
use crate::loss::{probability_cross_entropy, SoftmaxCeParams, Targets, PROBABILITY_EPSILON};
use crate::selftest::gradcheck::{assert_grad_close, numeric_grad};
use crate::selftest::util::{nan_filled, TestRng};

/// Rows of positive probabilities summing to 1 (a softmax of spread logits),
/// some entries far below the others.
fn distributions(n: usize, classes: usize, rng: &mut TestRng) -> Vec<f32> {
    let mut p: Vec<f32> = rng.vec(n * classes).iter().map(|v| (4.0 * v).exp()).collect();
    for row in p.chunks_mut(classes) {
        let s: f32 = row.iter().sum();
        row.iter_mut().for_each(|v| *v /= s);
    }
    p
}

/// The target distribution of row `i` (label smoothing `ls`) and the row's class.
fn target_row(data: &Data, i: usize, classes: usize, ls: f64) -> (Vec<f64>, usize) {
    let y: Vec<f64> = match data.targets() {
        Targets::Labels(l) => (0..classes).map(|j| (l[i] as usize == j) as u8 as f64).collect(),
        Targets::LabelsI32(l) => (0..classes).map(|j| (l[i] as usize == j) as u8 as f64).collect(),
        Targets::Dense(t) => t[i * classes..(i + 1) * classes].iter().map(|&v| v as f64).collect(),
    };
    let class = y.iter().enumerate().fold(0, |b, (j, &v)| if v > y[b] { j } else { b });
    (y.iter().map(|v| v * (1.0 - ls) + ls / classes as f64).collect(), class)
}

/// f64 reference: `sum_i w_i · -sum_j t_j ln max(p_j, eps) / n`, its gradient and the correct count.
fn reference(n: usize, classes: usize, p: &[f64], data: &Data, cw: Option<&[f32]>, ls: f64) -> (f64, Vec<f64>, usize) {
    let eps = PROBABILITY_EPSILON as f64;
    let (mut loss, mut grad, mut correct) = (0.0, vec![0.0; n * classes], 0);
    for i in 0..n {
        let (t, class) = target_row(data, i, classes, ls);
        let w = cw.map_or(1.0, |c| c[class] as f64);
        let row = &p[i * classes..(i + 1) * classes];
        for j in 0..classes {
            loss -= w * t[j] * row[j].max(eps).ln() / n as f64;
            grad[i * classes + j] = if row[j] > eps { -w * t[j] / row[j] / n as f64 } else { 0.0 };
        }
        let arg = row.iter().enumerate().fold(0, |b, (j, &v)| if v > row[b] { j } else { b });
        correct += (arg == class) as usize;
    }
    (loss, grad, correct)
}

fn wide(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| v as f64).collect()
}

crate::kernel_tests! {
    fn probability_ce_matches_reference_on_awkward_shapes() {
        for_each_case(2000, |n, classes, kind, weighted, ls, rng| {
            let probs = distributions(n, classes, rng);
            let data = Data::new(kind, n, classes, rng);
            let cw = weighted.then(|| class_weights(classes, rng));
            let p = SoftmaxCeParams::new(n, classes, ls).unwrap();
            let mut d = nan_filled(n * classes);
            let got = probability_cross_entropy(&p, &probs, data.targets(), cw.as_deref(), &mut d).unwrap();
            let (loss, grad, correct) = reference(n, classes, &wide(&probs), &data, cw.as_deref(), ls as f64);
            let ctx = format!("probability_ce n={n} classes={classes} {kind:?} weighted={weighted} ls={ls}");
            assert_loss_close(got.loss, loss, &ctx);
            assert_eq!(got.correct, correct, "{ctx}: correct count");
            // t / p: one division and one product, each rounded once (relative), on
            // magnitudes up to max|grad|.
            let scale = grad.iter().fold(0.0f64, |m, g| m.max(g.abs()));
            assert_close_abs(&d, &grad, 4.0 * f32::EPSILON as f64 * scale, &ctx);
        });
    }

    fn probability_ce_gradcheck() {
        let mut seed = 2500;
        for &(n, classes) in &[(1, 2), (3, 3), (5, 10)] {
            for kind in KINDS {
                for (weighted, ls) in [(false, 0.0), (true, 0.1)] {
                    let mut rng = TestRng::new(seed);
                    seed += 1;
                    let probs = distributions(n, classes, &mut rng);
                    let data = Data::new(kind, n, classes, &mut rng);
                    let cw = weighted.then(|| class_weights(classes, &mut rng));
                    let p = SoftmaxCeParams::new(n, classes, ls).unwrap();
                    let mut d = nan_filled(n * classes);
                    probability_cross_entropy(&p, &probs, data.targets(), cw.as_deref(), &mut d).unwrap();
                    // Steps well inside each probability (the smallest here are ~1e-4).
                    let numeric = numeric_grad(&probs, 1e-8, |q| reference(n, classes, q, &data, cw.as_deref(), ls as f64).0);
                    let ctx = format!("probability_ce gradcheck n={n} classes={classes} {kind:?} weighted={weighted} ls={ls}");
                    assert_grad_close(&d, &numeric, 1e-4, 1e-6, &ctx);
                }
            }
        }
    }

    fn probability_ce_known_values_and_the_clip() {
        let p = SoftmaxCeParams::new(2, 2, 0.0).unwrap();
        let mut d = nan_filled(4);
        // Row 0: -ln 0.25 for class 0; row 1: class 1 has probability 0, clipped at 1e-7.
        let got = probability_cross_entropy(&p, &[0.25, 0.75, 1.0, 0.0], Targets::Labels(&[0, 1]), None, &mut d).unwrap();
        let want = (-(0.25f64).ln() - (PROBABILITY_EPSILON as f64).ln()) / 2.0;
        assert!((got.loss as f64 - want).abs() <= 1e-6 * want, "loss {} vs {want}", got.loss);
        assert_eq!(got.correct, 0, "row 0 predicts 1, row 1 predicts 0");
        // -t / p / n, and no gradient through the clip (nor for targets of 0).
        assert_eq!(d, vec![-2.0, 0.0, 0.0, 0.0]);
    }

    fn probability_ce_rejects_bad_input() {
        let p = SoftmaxCeParams::new(2, 3, 0.0).unwrap();
        let mut d = nan_filled(6);
        let err = probability_cross_entropy(&p, &[0.5; 5], Targets::Labels(&[0, 1]), None, &mut d).unwrap_err();
        assert!(err.code == ErrorCode::InvalidGeometry, "{err}");
        assert!(err.message.contains("probability_cross_entropy: probs has 5 elements, expected n·classes = 6"), "{}", err.message);
        let err = probability_cross_entropy(&p, &[0.5; 6], Targets::Labels(&[0, 3]), None, &mut d).unwrap_err();
        assert!(err.message.contains("probability_cross_entropy: label 3 at row 1 is out of range for 3 classes"), "{}", err.message);
        assert!(d.iter().all(|v| v.is_nan()), "nothing written on an error");
    }
}

#[cfg(all(test, feature = "threads"))]
#[test]
fn probability_ce_bit_identical_with_1_and_2_threads() {
    let (n, classes) = (3000, 17);
    let mut rng = TestRng::new(2900);
    let probs = distributions(n, classes, &mut rng);
    let labels: Vec<u32> = (0..n as u32).map(|i| i % classes as u32).collect();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let mut d = nan_filled(n * classes);
            let s = probability_cross_entropy(&SoftmaxCeParams::new(n, classes, 0.1).unwrap(), &probs, Targets::Labels(&labels), None, &mut d).unwrap();
            (s, d)
        })
    };
    let ((s1, d1), (s2, d2)) = (run(1), run(2));
    assert_eq!(s1.loss.to_bits(), s2.loss.to_bits(), "loss with 1 vs 2 threads");
    crate::selftest::util::assert_bits_eq(&d1, &d2, "probability_ce dprobs, 1 vs 2 threads");
}
