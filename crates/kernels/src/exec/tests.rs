//! Executor tests: planning (shapes, parameter counts, errors), the wiring of
//! forward and backward across layers (a whole-model gradient check), the
//! training step, inference and backward-from-a-layer.

use super::layer::{BufferKind, Mode, Role, Shape3};
use super::model::{Model, StepTargets};
use super::spec::{L2, LayerSpec, LossKind, OptimizerKind, TrainSpec};
use crate::batchnorm::BatchNormParams;
use crate::geom::Padding;
use crate::optim::{AdamParams, SgdParams};
use crate::selftest::util::{assert_bits_eq, TestRng};

fn conv(filters: usize, k: usize, s: usize) -> LayerSpec {
    LayerSpec::Conv2d { filters, kernel: [k, k], strides: [s, s], padding: Padding::Valid, use_bias: true, regularized: true }
}
fn dense(units: usize) -> LayerSpec {
    LayerSpec::Dense { units, use_bias: true, regularized: true }
}
fn bn() -> LayerSpec {
    LayerSpec::BatchNorm(BatchNormParams::default())
}
fn maxpool(k: usize) -> LayerSpec {
    LayerSpec::MaxPool { pool: [k, k], strides: [k, k], padding: Padding::Valid }
}

pub fn breakhis_net() -> Vec<LayerSpec> {
    use LayerSpec::*;
    vec![conv(16, 3, 4), bn(), Relu, conv(32, 3, 2), bn(), Relu, maxpool(2), conv(64, 3, 2), bn(), Relu, Flatten, dense(128), Relu, dense(2), Softmax]
}

pub fn mnist_net() -> Vec<LayerSpec> {
    use LayerSpec::*;
    vec![conv(8, 3, 2), Relu, conv(8, 3, 2), Relu, Flatten, dense(10), Softmax]
}

fn trainable(m: &Model) -> usize {
    m.tensors().iter().filter(|t| t.buffer == BufferKind::Params).map(|t| t.range.len).sum()
}

/// He-normal-like initialisation from the test generator.
fn init(m: &mut Model, seed: u64) {
    let mut rng = TestRng::new(seed);
    for t in m.tensors() {
        let layer = &m.layers[t.layer];
        let fan_in = layer.input.size().min(match layer.spec {
            LayerSpec::Conv2d { kernel, .. } => kernel[0] * kernel[1] * layer.input.c,
            _ => layer.input.c,
        });
        let r = t.range.offset..t.range.end();
        match (t.buffer, t.role) {
            (BufferKind::Params, Role::Kernel) => {
                let s = (6.0 / fan_in as f32).sqrt();
                m.params[r].iter_mut().for_each(|p| *p = rng.uniform() * s);
            }
            (BufferKind::Params, Role::Gamma) => m.params[r].iter_mut().for_each(|p| *p = 1.0 + 0.1 * rng.uniform()),
            (BufferKind::Params, _) => m.params[r].iter_mut().for_each(|p| *p = 0.05 * rng.uniform()),
            (BufferKind::State, Role::MovingVariance) => m.state[r].fill(1.0),
            (BufferKind::State, _) => m.state[r].fill(0.0),
        }
    }
}

fn sgd0() -> TrainSpec {
    TrainSpec {
        loss: LossKind::SoftmaxCrossEntropy { label_smoothing: 0.0 },
        optimizer: OptimizerKind::Sgd(SgdParams { momentum: 0.0, nesterov: false }),
        l2: L2::None,
        clip_norm: None,
    }
}

crate::kernel_tests! {
    fn exec_reference_nets_have_the_documented_parameter_counts() {
        let m = Model::new(Shape3 { h: 224, w: 224, c: 3 }, 2, &breakhis_net()).unwrap();
        assert_eq!(trainable(&m), 319_106, "BreakHis net trainable parameters");
        assert_eq!(m.state.len(), 2 * (16 + 32 + 64), "BreakHis net moving statistics");
        let shapes: Vec<_> = m.layers.iter().map(|l| (l.output.h, l.output.w, l.output.c)).collect();
        assert_eq!(shapes[0], (56, 56, 16));
        assert_eq!(shapes[3], (27, 27, 32));
        assert_eq!(shapes[6], (13, 13, 32));
        assert_eq!(shapes[7], (6, 6, 64));
        assert_eq!(shapes[10], (1, 1, 2304));
        let m = Model::new(Shape3 { h: 28, w: 28, c: 1 }, 4, &mnist_net()).unwrap();
        assert_eq!(trainable(&m), 3_554, "MNIST net trainable parameters");
        assert_eq!(m.layers[4].output.c, 288);
    }

    fn exec_forward_work_counts_kernel_multiply_adds() {
        // MNIST net per sample: conv1 13·13·(3·3·1·8), ReLU 1,352, conv2 6·6·(3·3·8·8),
        // ReLU 288, Flatten 288, Dense 288·10, Softmax 10.
        let m = Model::new(Shape3 { h: 28, w: 28, c: 1 }, 4, &mnist_net()).unwrap();
        let per_sample = (13 * 13 * 72 + 1352 + 6 * 6 * 576 + 288 + 288 + 2880 + 10) as f64;
        assert_eq!(m.forward_work(1), per_sample);
        assert_eq!(m.forward_work(3), 3.0 * per_sample);
        // BreakHis: conv1 alone is 56·56·(3·3·3·16) multiply-adds per sample.
        let m = Model::new(Shape3 { h: 224, w: 224, c: 3 }, 1, &breakhis_net()).unwrap();
        assert_eq!(m.layers[0].forward_work(), (56 * 56 * 432) as f64);
    }

    fn exec_rejects_impossible_models_with_messages() {
        let err = Model::new(Shape3 { h: 28, w: 28, c: 1 }, 1, &[dense(10)]).unwrap_err();
        assert!(err.message.contains("layer 0: Dense expects a flat input") && err.message.contains("add a Flatten"), "{}", err.message);
        let err = Model::new(Shape3 { h: 2, w: 2, c: 1 }, 1, &[conv(4, 3, 1)]).unwrap_err();
        assert!(err.message.starts_with("layer 0:"), "{}", err.message);
        assert!(Model::new(Shape3 { h: 8, w: 8, c: 1 }, 0, &[LayerSpec::Relu]).is_err());
        assert!(Model::new(Shape3 { h: 8, w: 8, c: 1 }, 1, &[]).is_err());
        let mut m = Model::new(Shape3 { h: 4, w: 4, c: 1 }, 2, &[LayerSpec::Flatten, dense(1)]).unwrap();
        let err = m.configure(sgd0(), &[]).unwrap_err();
        assert!(err.message.contains("needs >= 2 classes"), "{}", err.message);
        let mut m = Model::new(Shape3 { h: 4, w: 4, c: 1 }, 2, &[LayerSpec::Flatten, dense(3)]).unwrap();
        m.configure(sgd0(), &[]).unwrap();
        let x = vec![0.5; 16 * 3];
        let err = m.train_step(&x, StepTargets::Labels(&[0, 1, 2]), 3, 0.1, 1, 0).unwrap_err();
        assert!(err.message.contains("batch must be in 1..=2, got 3"), "{}", err.message);
        let err = m.train_step(&x, StepTargets::Labels(&[0, 7]), 2, 0.1, 1, 0).unwrap_err();
        assert!(err.message.contains("label 7") && err.message.contains("3 classes"), "{}", err.message);
    }

    fn exec_whole_model_gradients_match_finite_differences() {
        // conv -> BN (batch statistics) -> sigmoid -> avgpool -> conv -> flatten -> dense -> softmax.
        // Smooth activations keep central differences of the f32 loss meaningful.
        use LayerSpec::*;
        let specs = [
            conv(3, 3, 1), bn(), Sigmoid, LayerSpec::AvgPool { pool: [2, 2], strides: [2, 2], padding: Padding::Valid },
            LayerSpec::Conv2d { filters: 4, kernel: [2, 2], strides: [1, 1], padding: Padding::Same, use_bias: true, regularized: false },
            Flatten, dense(3), Softmax,
        ];
        let batch = 3;
        let mut m = Model::new(Shape3 { h: 7, w: 6, c: 2 }, batch, &specs).unwrap();
        init(&mut m, 5);
        m.configure(sgd0(), &[]).unwrap();
        let mut rng = TestRng::new(6);
        let x = rng.vec(batch * 7 * 6 * 2);
        let labels = [2u32, 0, 1];
        // lr = 0: the step leaves the weights and returns the gradients.
        let stats = m.train_step(&x, StepTargets::Labels(&labels), batch, 0.0, 1, 0).unwrap();
        let analytic = m.grads.clone();
        let loss_at = |m: &mut Model| -> f64 {
            m.train_step(&x, StepTargets::Labels(&labels), batch, 0.0, 1, 0).unwrap().loss as f64
        };
        assert!((loss_at(&mut m) - stats.loss as f64).abs() < 1e-7, "the loss is reproducible");
        let h = 1e-2f32;
        let mut checked = 0;
        for p in (0..m.params.len()).step_by(3) {
            let orig = m.params[p];
            m.params[p] = orig + h;
            let plus = loss_at(&mut m);
            m.params[p] = orig - h;
            let minus = loss_at(&mut m);
            m.params[p] = orig;
            let numeric = (plus - minus) / (2.0 * h as f64);
            let err = (analytic[p] as f64 - numeric).abs();
            assert!(err <= 2e-4 + 2e-2 * numeric.abs(), "param {p}: analytic {}, numeric {numeric} (error {err:e})", analytic[p]);
            checked += 1;
        }
        assert!(checked > 50);
    }

    fn exec_training_learns_a_synthetic_task() {
        // Class = which half of the image holds a bright square.
        use LayerSpec::*;
        let (batch, side) = (16, 8);
        let mut m = Model::new(Shape3 { h: side, w: side, c: 1 }, batch, &[conv(4, 3, 1), bn(), Relu, maxpool(2), Flatten, dense(2), Softmax]).unwrap();
        init(&mut m, 1);
        let adam = OptimizerKind::Adam(AdamParams::KERAS);
        m.configure(TrainSpec { optimizer: adam, ..sgd0() }, &[]).unwrap();
        let mut rng = TestRng::new(2);
        let make = |rng: &mut TestRng| {
            let mut x = vec![0.0f32; batch * side * side];
            let mut y = vec![0u32; batch];
            for b in 0..batch {
                let label = (rng.next_u64() % 2) as u32;
                y[b] = label;
                let r0 = (rng.next_u64() % 3) as usize;
                let c0 = if label == 0 { (rng.next_u64() % 2) as usize } else { 4 + (rng.next_u64() % 2) as usize };
                for r in r0..r0 + 3 {
                    for c in c0..c0 + 2 {
                        x[b * side * side + r * side + c] = 1.0;
                    }
                }
                for v in &mut x[b * side * side..(b + 1) * side * side] {
                    *v += 0.1 * rng.uniform();
                }
            }
            (x, y)
        };
        let mut first = 0.0;
        let mut last_correct = 0;
        for step in 1..=60 {
            let (x, y) = make(&mut rng);
            let s = m.train_step(&x, StepTargets::Labels(&y), batch, 0.01, step, 7).unwrap();
            assert_eq!(s.updated, 1);
            if step == 1 { first = s.loss; }
            last_correct = s.correct;
        }
        let (x, y) = make(&mut rng);
        m.forward(&x, batch, Mode::Infer).unwrap();
        let out = &m.acts[m.layers.len() - 1];
        let correct = (0..batch).filter(|&b| ((out[b * 2 + 1] > out[b * 2]) as u32) == y[b]).count();
        assert!(correct >= 15, "inference accuracy {correct}/16 after training (first loss {first}, last train correct {last_correct})");
        for row in out[..batch * 2].chunks(2) {
            assert!((row[0] + row[1] - 1.0).abs() < 1e-6, "softmax rows sum to 1: {row:?}");
        }
    }

    fn exec_l2_and_clipping_are_applied() {
        let mut m = Model::new(Shape3 { h: 1, w: 1, c: 2 }, 1, &[dense(2)]).unwrap();
        m.params.copy_from_slice(&[1.0, 2.0, 3.0, 4.0, 0.0, 0.0]);
        m.configure(TrainSpec { l2: L2::Keras { lambda: 0.1 }, ..sgd0() }, &[]).unwrap();
        let s = m.train_step(&[0.0, 0.0], StepTargets::Labels(&[0]), 1, 0.0, 1, 0).unwrap();
        // Keras l2(0.1) on the kernel only: 0.1·(1+4+9+16) = 3.
        assert!((s.penalty - 3.0).abs() < 1e-6, "penalty {}", s.penalty);
        assert!((s.loss - std::f32::consts::LN_2).abs() < 1e-6, "data loss {}", s.loss);
        // evaluate reports the same penalty (Keras adds regularization to val_loss too).
        let e = m.evaluate_batch(&[0.0, 0.0], StepTargets::Labels(&[0]), 1).unwrap();
        assert!((e.penalty - 3.0).abs() < 1e-6 && (e.loss - std::f32::consts::LN_2).abs() < 1e-6, "evaluate {e:?}");
        m.train_step(&[0.0, 0.0], StepTargets::Labels(&[0]), 1, 0.0, 1, 0).unwrap();
        // Kernel gradient is 2·0.1·W (x = 0 contributes nothing); bias gradient is softmax - onehot.
        let want = [0.2, 0.4, 0.6, 0.8, -0.5, 0.5];
        for (g, w) in m.grads.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "grads {:?}", m.grads);
        }
        m.configure(TrainSpec { clip_norm: Some(0.5), ..sgd0() }, &[]).unwrap();
        let s = m.train_step(&[0.0, 0.0], StepTargets::Labels(&[0]), 1, 0.0, 1, 0).unwrap();
        assert!((s.grad_norm - 0.5f32.sqrt()).abs() < 1e-6, "norm before clipping {}", s.grad_norm);
        let norm: f32 = m.grads.iter().map(|g| g * g).sum::<f32>().sqrt();
        assert!((norm - 0.5).abs() < 1e-6, "norm after clipping {norm}");
    }

    fn exec_nan_gradients_leave_weights_untouched() {
        let mut m = Model::new(Shape3 { h: 1, w: 1, c: 2 }, 1, &[dense(2)]).unwrap();
        m.params.copy_from_slice(&[1.0, 2.0, 3.0, 4.0, 0.0, 0.0]);
        m.configure(sgd0(), &[]).unwrap();
        let before = m.params.clone();
        let s = m.train_step(&[f32::NAN, 0.0], StepTargets::Labels(&[0]), 1, 0.1, 1, 0).unwrap();
        assert_eq!(s.updated, 0);
        assert!(!s.loss.is_finite());
        assert_bits_eq(&m.params, &before, "weights after a NaN step");
    }

    fn exec_backward_from_a_layer_gives_the_activation_gradient() {
        // Flatten -> Dense(3): d(sum(dy·out))/d(flatten output) = dy·Wᵀ.
        let mut m = Model::new(Shape3 { h: 1, w: 2, c: 1 }, 1, &[LayerSpec::Flatten, dense(3), LayerSpec::Relu]).unwrap();
        m.params.copy_from_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 0.0, 0.0, 0.0]);
        let x = [1.0, 1.0];
        m.forward(&x, 1, Mode::Infer).unwrap();
        let len = m.backward_from(&x, 1, 1, &[1.0, 0.0, -1.0], 0, Mode::Infer).unwrap();
        assert_eq!(len, 2);
        assert_eq!(&m.backward_result[..2], &[1.0 - 3.0, 4.0 - 6.0]);
        // Through the ReLU (all outputs positive here).
        m.backward_from(&x, 1, 2, &[1.0, 0.0, -1.0], 0, Mode::Infer).unwrap();
        assert_eq!(&m.backward_result[..2], &[-2.0, -2.0]);
        assert!(m.backward_from(&x, 1, 1, &[0.0; 3], 1, Mode::Infer).is_err());
    }
}

#[cfg(all(test, feature = "threads"))]
#[test]
fn exec_training_is_bit_identical_with_1_and_2_threads() {
    let batch = 4;
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let mut m = Model::new(Shape3 { h: 64, w: 64, c: 3 }, batch, &breakhis_small()).unwrap();
            init(&mut m, 3);
            m.configure(
                TrainSpec { optimizer: OptimizerKind::Adam(AdamParams::KERAS), l2: L2::Keras { lambda: 0.01 }, ..sgd0() },
                &[],
            )
            .unwrap();
            let mut rng = TestRng::new(4);
            for step in 1..=3 {
                let x = rng.vec(batch * 64 * 64 * 3);
                m.train_step(&x, StepTargets::Labels(&[0, 1, 1, 0]), batch, 1e-3, step, 9).unwrap();
            }
            (m.params.clone(), m.state.clone())
        })
    };
    let (p1, s1) = run(1);
    let (p2, s2) = run(2);
    assert_bits_eq(&p1, &p2, "params after 3 steps, 1 vs 2 threads");
    assert_bits_eq(&s1, &s2, "moving statistics after 3 steps, 1 vs 2 threads");
}

/// The BreakHis architecture on 64×64 inputs (quick enough for a test).
#[cfg(all(test, feature = "threads"))]
fn breakhis_small() -> Vec<LayerSpec> {
    use LayerSpec::*;
    vec![conv(16, 3, 2), bn(), Relu, conv(32, 3, 2), bn(), Relu, maxpool(2), conv(64, 3, 1), bn(), Relu, Flatten, dense(128), Relu, LayerSpec::Dropout { rate: 0.25 }, dense(2), Softmax]
}
