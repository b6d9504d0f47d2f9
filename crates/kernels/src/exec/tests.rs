//! Executor tests: planning (shapes, parameter counts, errors), the wiring of
//! forward and backward across layers (a whole-model gradient check), the
//! training step, inference and backward-from-a-layer.

use super::ops::{BufferKind, Mode, Role, Shape3};
use super::model::{Model, StepTargets};
use super::graph::Purpose;
use super::spec::{PoolMode, StepNode, StepSpec, L2, LossKind, OptimizerKind, TrainSpec};
use crate::batchnorm::BatchNormParams;
use crate::geom::Padding;
use crate::optim::{AdamParams, SgdParams};
use crate::selftest::util::{assert_bits_eq, TestRng};

pub(super) fn conv(filters: usize, k: usize, s: usize) -> StepSpec {
    StepSpec::Conv2d { filters, kernel: [k, k], strides: [s, s], padding: Padding::Valid, use_bias: true, regularized: true }
}
pub(super) fn dense(units: usize) -> StepSpec {
    StepSpec::Dense { units, use_bias: true, regularized: true }
}
pub(super) fn bn() -> StepSpec {
    StepSpec::BatchNorm(BatchNormParams::default())
}
fn maxpool(k: usize) -> StepSpec {
    StepSpec::MaxPool { pool: [k, k], strides: [k, k], padding: Padding::Valid, mode: PoolMode::default() }
}

pub fn breakhis_net() -> Vec<StepSpec> {
    use StepSpec::*;
    vec![conv(16, 3, 4), bn(), Relu, conv(32, 3, 2), bn(), Relu, maxpool(2), conv(64, 3, 2), bn(), Relu, Flatten, dense(128), Relu, dense(2), Softmax]
}

pub fn mnist_net() -> Vec<StepSpec> {
    use StepSpec::*;
    vec![conv(8, 3, 2), Relu, conv(8, 3, 2), Relu, Flatten, dense(10), Softmax]
}

pub(super) fn trainable(m: &Model) -> usize {
    m.tensors().iter().filter(|t| t.buffer == BufferKind::Params).map(|t| t.range.len).sum()
}

/// He-normal-like initialisation from the test generator.
pub(super) fn init(m: &mut Model, seed: u64) {
    let mut rng = TestRng::new(seed);
    for t in m.tensors() {
        let input = m.graph.shapes[m.graph.inputs[t.step][0]];
        let out = m.step_output(t.step).unwrap();
        // Kernels are [.., c_out]: their fan-in is their length over c_out.
        let fan_in = input.size().min(if t.role == Role::Kernel { t.range.len / out.c } else { input.c });
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

pub(super) fn sgd0() -> TrainSpec {
    TrainSpec {
        loss: LossKind::SoftmaxCrossEntropy { label_smoothing: 0.0 },
        optimizer: OptimizerKind::Sgd(SgdParams { momentum: 0.0, nesterov: false }),
        l2: L2::None,
        clip_norm: None,
    }
}


/// A graph with every kind of junction: a residual Add whose input feeds
/// three steps (fan-out), a Concatenate of two branches, an Add of a value
/// with itself, an Average of three reads (one value twice), zero padding,
/// and a Flatten alias before the head.
pub(super) fn residual_graph() -> Vec<StepNode> {
    use StepSpec::*;
    let node = |spec: StepSpec, inputs: &[usize]| StepNode { spec, inputs: inputs.to_vec() };
    let same = |filters, k| StepSpec::Conv2d { filters, kernel: [k, k], strides: [1, 1], padding: Padding::Same, use_bias: true, regularized: false };
    vec![
        node(same(4, 3), &[0]),            // s0 -> v1 [6, 6, 4]
        node(Sigmoid, &[1]),               // s1 -> v2 (feeds s2, s5, s6)
        node(same(4, 1), &[2]),            // s2 -> v3
        node(bn(), &[3]),                  // s3 -> v4
        node(Sigmoid, &[4]),               // s4 -> v5
        node(Add, &[5, 2]),                // s5 -> v6: residual
        node(ZeroPad { top: 1, bottom: 0, left: 0, right: 1 }, &[2]), // s6 -> v7 [7, 7, 4]
        node(conv(3, 4, 1), &[7]),         // s7 -> v8 [4, 4, 3]
        node(conv(2, 3, 1), &[6]),         // s8 -> v9 [4, 4, 2]
        node(Concat, &[8, 9]),             // s9 -> v10 [4, 4, 5]
        node(Add, &[10, 10]),              // s10 -> v11: a value read twice by one step
        node(Average, &[11, 10, 11]),      // s11 -> v12: dy / 3 to each read, v11's twice
        node(Flatten, &[12]),              // s12 -> v13 (aliases v12)
        node(dense(3), &[13]),             // s13 -> v14
        node(Softmax, &[14]),              // s14 -> v15
    ]
}

/// Central differences of the (f32) training loss for every `stride`-th
/// parameter, against the gradients of one step at lr = 0.
fn check_param_gradients(m: &mut Model, x: &[f32], labels: &[u32], only: impl Fn(usize) -> bool) -> usize {
    let batch = labels.len();
    m.train_step(x, StepTargets::Labels(labels), batch, 0.0, 1, 0).unwrap();
    let analytic = full_grads(m);
    let loss_at = |m: &mut Model| -> f64 { m.train_step(x, StepTargets::Labels(labels), batch, 0.0, 1, 0).unwrap().loss as f64 };
    let h = 1e-2f32;
    let mut checked = 0;
    for p in (0..m.params.len()).filter(|&p| only(p)).step_by(2) {
        let orig = m.params[p];
        m.params[p] = orig + h;
        let plus = loss_at(m);
        m.params[p] = orig - h;
        let minus = loss_at(m);
        m.params[p] = orig;
        let numeric = (plus - minus) / (2.0 * h as f64);
        let err = (analytic[p] as f64 - numeric).abs();
        assert!(err <= 2e-4 + 2e-2 * numeric.abs(), "param {p}: analytic {}, numeric {numeric} (error {err:e})", analytic[p]);
        checked += 1;
    }
    checked
}

/// The compact gradients laid out like the parameters (0 for frozen ones).
pub(super) fn full_grads(m: &Model) -> Vec<f32> {
    let mut full = vec![0.0; m.params.len()];
    for r in m.trainable_runs() {
        full[r.params.offset..r.params.end()].copy_from_slice(&m.grads[r.at..r.at + r.params.len]);
    }
    full
}

/// The parameter ranges of step `step`.
fn step_params(m: &Model, step: usize) -> Vec<std::ops::Range<usize>> {
    m.tensors().iter().filter(|t| t.step == step && t.buffer == BufferKind::Params).map(|t| t.range.offset..t.range.end()).collect()
}

crate::kernel_tests! {
    fn exec_reference_nets_have_the_documented_parameter_counts() {
        let m = Model::chain(Shape3 { h: 224, w: 224, c: 3 }, 2, &breakhis_net()).unwrap();
        assert_eq!(trainable(&m), 319_106, "BreakHis net trainable parameters");
        assert_eq!(m.state.len(), 2 * (16 + 32 + 64), "BreakHis net moving statistics");
        let shapes: Vec<_> = (0..m.steps().len()).map(|i| m.step_output(i).unwrap()).map(|o| (o.h, o.w, o.c)).collect();
        assert_eq!(shapes[0], (56, 56, 16));
        assert_eq!(shapes[3], (27, 27, 32));
        assert_eq!(shapes[6], (13, 13, 32));
        assert_eq!(shapes[7], (6, 6, 64));
        assert_eq!(shapes[10], (1, 1, 2304));
        let m = Model::chain(Shape3 { h: 28, w: 28, c: 1 }, 4, &mnist_net()).unwrap();
        assert_eq!(trainable(&m), 3_554, "MNIST net trainable parameters");
        assert_eq!(m.step_output(4).unwrap().c, 288);
    }

    fn exec_forward_work_counts_kernel_multiply_adds() {
        // MNIST net per sample: conv1 13·13·(3·3·1·8), ReLU 1,352, conv2 6·6·(3·3·8·8),
        // ReLU 288, Flatten 288, Dense 288·10, Softmax 10.
        let m = Model::chain(Shape3 { h: 28, w: 28, c: 1 }, 4, &mnist_net()).unwrap();
        let per_sample = (13 * 13 * 72 + 1352 + 6 * 6 * 576 + 288 + 288 + 2880 + 10) as f64;
        assert_eq!(m.forward_work(1), per_sample);
        assert_eq!(m.forward_work(3), 3.0 * per_sample);
        // BreakHis: conv1 alone is 56·56·(3·3·3·16) multiply-adds per sample.
        let m = Model::chain(Shape3 { h: 224, w: 224, c: 3 }, 1, &breakhis_net()).unwrap();
        assert_eq!(m.steps()[0].forward_work(), (56 * 56 * 432) as f64);
    }

    fn exec_rejects_impossible_models_with_messages() {
        let err = Model::chain(Shape3 { h: 28, w: 28, c: 1 }, 1, &[dense(10)]).unwrap_err();
        assert!(err.message.contains("step 0: Dense expects a flat input") && err.message.contains("add a Flatten"), "{}", err.message);
        let err = Model::chain(Shape3 { h: 2, w: 2, c: 1 }, 1, &[conv(4, 3, 1)]).unwrap_err();
        assert!(err.message.starts_with("step 0:"), "{}", err.message);
        assert!(Model::chain(Shape3 { h: 8, w: 8, c: 1 }, 0, &[StepSpec::Relu]).is_err());
        assert!(Model::chain(Shape3 { h: 8, w: 8, c: 1 }, 1, &[]).is_err());
        let mut m = Model::chain(Shape3 { h: 4, w: 4, c: 1 }, 2, &[StepSpec::Flatten, dense(1)]).unwrap();
        let err = m.configure(sgd0(), &[], &[]).unwrap_err();
        assert!(err.message.contains("needs >= 2 classes"), "{}", err.message);
        let mut m = Model::chain(Shape3 { h: 4, w: 4, c: 1 }, 2, &[StepSpec::Flatten, dense(3)]).unwrap();
        m.configure(sgd0(), &[], &[]).unwrap();
        let x = vec![0.5; 16 * 3];
        let err = m.train_step(&x, StepTargets::Labels(&[0, 1, 2]), 3, 0.1, 1, 0).unwrap_err();
        assert!(err.message.contains("batch must be in 1..=2, got 3"), "{}", err.message);
        let err = m.train_step(&x, StepTargets::Labels(&[0, 7]), 2, 0.1, 1, 0).unwrap_err();
        assert!(err.message.contains("label 7") && err.message.contains("3 classes"), "{}", err.message);
    }

    fn exec_whole_model_gradients_match_finite_differences() {
        // conv -> BN (batch statistics) -> sigmoid -> avgpool -> conv -> flatten -> dense -> softmax.
        // Smooth activations keep central differences of the f32 loss meaningful.
        use StepSpec::*;
        let specs = [
            conv(3, 3, 1), bn(), Sigmoid, StepSpec::AvgPool { pool: [2, 2], strides: [2, 2], padding: Padding::Valid, mode: PoolMode::default() },
            StepSpec::Conv2d { filters: 4, kernel: [2, 2], strides: [1, 1], padding: Padding::Same, use_bias: true, regularized: false },
            Flatten, dense(3), Softmax,
        ];
        let batch = 3;
        let mut m = Model::chain(Shape3 { h: 7, w: 6, c: 2 }, batch, &specs).unwrap();
        init(&mut m, 5);
        m.configure(sgd0(), &[], &[]).unwrap();
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

    fn exec_gradients_through_tanh_swish_and_the_hard_activations_match_finite_differences() {
        // Each activation between convolutions, so its backward (from its
        // output or from its input) carries every earlier layer's gradient.
        use StepSpec::*;
        let specs = [conv(3, 3, 1), Tanh, conv(3, 3, 1), Swish, conv(4, 1, 1), HardSwish, conv(3, 1, 1), HardSigmoid, Flatten, dense(3), Softmax];
        let batch = 3;
        let mut m = Model::chain(Shape3 { h: 6, w: 5, c: 2 }, batch, &specs).unwrap();
        init(&mut m, 41);
        m.configure(sgd0(), &[], &[]).unwrap();
        let x = TestRng::new(42).vec(batch * 6 * 5 * 2);
        // Central differences need the hard activations' inputs (steps 4 and 6, the same in inference: no BatchNorm) away from their kinks at ±3.
        m.forward(&x, batch, Mode::Infer, true).unwrap();
        for step in [4, 6] {
            let pre = m.activation(step).unwrap();
            assert!(pre.iter().all(|v| (v.abs() - 3.0).abs() > 0.1), "step {step}: an input within 0.1 of a kink: {pre:?}");
        }
        let checked = check_param_gradients(&mut m, &x, &[1, 2, 0], |_| true);
        assert!(checked > 40, "checked {checked} parameters");
    }

    fn exec_gradients_through_multiply_match_finite_differences() {
        // A squeeze-and-excitation gate (global pool, 1x1 convolution,
        // sigmoid, the [1, 1, c] gate scaling the map it came from: fan-out)
        // and a same-shape Multiply of a value by another.
        use StepSpec::*;
        let node = |spec: StepSpec, inputs: &[usize]| StepNode { spec, inputs: inputs.to_vec() };
        let nodes = vec![
            node(conv(4, 3, 1), &[0]),   // s0 -> v1 [4, 3, 4]
            node(GlobalAvgPool, &[1]),   // s1 -> v2 [1, 1, 4]
            node(conv(4, 1, 1), &[2]),   // s2 -> v3
            node(Sigmoid, &[3]),         // s3 -> v4: the gate
            node(Multiply, &[1, 4]),     // s4 -> v5: map · gate
            node(Tanh, &[1]),            // s5 -> v6
            node(Multiply, &[6, 5]),     // s6 -> v7: same shape
            node(Flatten, &[7]),         // s7 -> v8
            node(dense(3), &[8]),        // s8 -> v9
            node(Softmax, &[9]),         // s9 -> v10
        ];
        let batch = 3;
        let mut m = Model::new(Shape3 { h: 6, w: 5, c: 2 }, batch, &nodes).unwrap();
        init(&mut m, 51);
        m.configure(sgd0(), &[], &[]).unwrap();
        let x = TestRng::new(52).vec(batch * 6 * 5 * 2);
        let checked = check_param_gradients(&mut m, &x, &[2, 0, 1], |_| true);
        assert!(checked > 40, "checked {checked} parameters");
        // A shape that neither matches nor scales the other is refused by name.
        let bad = vec![node(conv(4, 3, 1), &[0]), node(conv(3, 1, 1), &[1]), node(Multiply, &[1, 2])];
        let err = Model::new(Shape3 { h: 6, w: 5, c: 2 }, batch, &bad).unwrap_err();
        assert!(err.message.contains("Multiply needs inputs of one shape, or one of [1, 1, c] scaling the other"), "{}", err.message);
    }

    fn exec_training_learns_a_synthetic_task() {
        // Class = which half of the image holds a bright square.
        use StepSpec::*;
        let (batch, side) = (16, 8);
        let mut m = Model::chain(Shape3 { h: side, w: side, c: 1 }, batch, &[conv(4, 3, 1), bn(), Relu, maxpool(2), Flatten, dense(2), Softmax]).unwrap();
        init(&mut m, 1);
        let adam = OptimizerKind::Adam(AdamParams::KERAS);
        m.configure(TrainSpec { optimizer: adam, ..sgd0() }, &[], &[]).unwrap();
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
        m.forward(&x, batch, Mode::Infer, false).unwrap();
        let out = m.activation(m.steps().len() - 1).unwrap();
        let correct = (0..batch).filter(|&b| ((out[b * 2 + 1] > out[b * 2]) as u32) == y[b]).count();
        assert!(correct >= 15, "inference accuracy {correct}/16 after training (first loss {first}, last train correct {last_correct})");
        for row in out[..batch * 2].chunks(2) {
            assert!((row[0] + row[1] - 1.0).abs() < 1e-6, "softmax rows sum to 1: {row:?}");
        }
    }

    fn exec_an_average_of_softmax_outputs_is_trained_on_its_probabilities() {
        // Two classifiers on one input, their softmax outputs averaged (an
        // ensemble): the loss is the cross-entropy of the averaged
        // probabilities, not of a softmax over them.
        use StepSpec::*;
        let node = |spec: StepSpec, inputs: &[usize]| StepNode { spec, inputs: inputs.to_vec() };
        let nodes = vec![
            node(Flatten, &[0]),         // s0 -> v1
            node(dense(3), &[1]),        // s1 -> v2
            node(Softmax, &[2]),         // s2 -> v3
            node(dense(3), &[1]),        // s3 -> v4
            node(Softmax, &[4]),         // s4 -> v5
            node(Average, &[3, 5]),      // s5 -> v6
        ];
        let batch = 4;
        let mut m = Model::new(Shape3 { h: 2, w: 2, c: 2 }, batch, &nodes).unwrap();
        init(&mut m, 31);
        m.configure(sgd0(), &[], &[]).unwrap();
        let x = TestRng::new(32).vec(batch * 8);
        let labels = [2u32, 0, 1, 2];
        m.forward(&x, batch, Mode::Infer, false).unwrap();
        let out = m.activation(nodes.len() - 1).unwrap()[..batch * 3].to_vec();
        let want: f64 = labels.iter().enumerate().map(|(i, &y)| -(out[i * 3 + y as usize] as f64).ln()).sum::<f64>() / batch as f64;
        let e = m.evaluate_batch(&x, StepTargets::Labels(&labels), batch).unwrap();
        assert!((e.loss as f64 - want).abs() <= 1e-6 * want, "evaluate loss {} vs -mean ln p_y {want}", e.loss);
        let checked = check_param_gradients(&mut m, &x, &labels, |_| true);
        assert!(checked >= 24, "checked {checked} parameters");
        // Binary cross-entropy cannot read averaged softmax outputs.
        let err = m.configure(TrainSpec { loss: LossKind::BinaryCrossEntropy { label_smoothing: 0.0 }, ..sgd0() }, &[], &[]).unwrap_err();
        assert!(err.message.contains("this model averages softmax outputs"), "{}", err.message);
    }

    fn exec_l2_and_clipping_are_applied() {
        let mut m = Model::chain(Shape3 { h: 1, w: 1, c: 2 }, 1, &[dense(2)]).unwrap();
        m.params.copy_from_slice(&[1.0, 2.0, 3.0, 4.0, 0.0, 0.0]);
        m.configure(TrainSpec { l2: L2::Keras { lambda: 0.1 }, ..sgd0() }, &[], &[]).unwrap();
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
        m.configure(TrainSpec { clip_norm: Some(0.5), ..sgd0() }, &[], &[]).unwrap();
        let s = m.train_step(&[0.0, 0.0], StepTargets::Labels(&[0]), 1, 0.0, 1, 0).unwrap();
        assert!((s.grad_norm - 0.5f32.sqrt()).abs() < 1e-6, "norm before clipping {}", s.grad_norm);
        let norm: f32 = m.grads.iter().map(|g| g * g).sum::<f32>().sqrt();
        assert!((norm - 0.5).abs() < 1e-6, "norm after clipping {norm}");
    }

    fn exec_nan_gradients_leave_weights_untouched() {
        let mut m = Model::chain(Shape3 { h: 1, w: 1, c: 2 }, 1, &[dense(2)]).unwrap();
        m.params.copy_from_slice(&[1.0, 2.0, 3.0, 4.0, 0.0, 0.0]);
        m.configure(sgd0(), &[], &[]).unwrap();
        let before = m.params.clone();
        let s = m.train_step(&[f32::NAN, 0.0], StepTargets::Labels(&[0]), 1, 0.1, 1, 0).unwrap();
        assert_eq!(s.updated, 0);
        assert!(!s.loss.is_finite());
        assert_bits_eq(&m.params, &before, "weights after a NaN step");
    }


    fn exec_graph_gradients_through_fan_out_add_average_and_concat_match_finite_differences() {
        let batch = 3;
        let mut m = Model::new(Shape3 { h: 6, w: 6, c: 2 }, batch, &residual_graph()).unwrap();
        assert_eq!(m.output(), Shape3 { h: 1, w: 1, c: 3 });
        assert_eq!(m.step_output(9).unwrap(), Shape3 { h: 4, w: 4, c: 5 }, "concat joins channels");
        init(&mut m, 11);
        m.configure(sgd0(), &[], &[]).unwrap();
        let x = TestRng::new(12).vec(batch * 6 * 6 * 2);
        let checked = check_param_gradients(&mut m, &x, &[2, 0, 1], |_| true);
        assert!(checked > 60, "checked {checked} parameters");
    }

    fn exec_frozen_steps_get_no_update_and_stop_the_backward_pass() {
        let batch = 3;
        let nodes = residual_graph();
        let mut m = Model::new(Shape3 { h: 6, w: 6, c: 2 }, batch, &nodes).unwrap();
        init(&mut m, 13);
        // Freeze the stem conv (s0) and the BatchNorm (s3): Keras' trainable = false.
        let mut frozen = vec![false; nodes.len()];
        frozen[0] = true;
        frozen[3] = true;
        m.configure(sgd0(), &[], &frozen).unwrap();
        let x = TestRng::new(14).vec(batch * 6 * 6 * 2);
        let frozen_ranges: Vec<_> = [0, 3].iter().flat_map(|&s| step_params(&m, s)).collect();
        let is_frozen = |p: usize| frozen_ranges.iter().any(|r| r.contains(&p));
        // The trainable parameters' gradients are those of the frozen model
        // (BatchNorm with its moving statistics) ...
        let checked = check_param_gradients(&mut m, &x, &[1, 2, 0], |p| !is_frozen(p));
        assert!(checked > 40, "checked {checked} parameters");
        // ... the frozen ones get none: nothing below s1 runs backward.
        let grads = full_grads(&m);
        for r in &frozen_ranges {
            assert!(grads[r.clone()].iter().all(|&g| g == 0.0), "frozen steps have no gradients");
        }
        let frozen_len: usize = frozen_ranges.iter().map(|r| r.len()).sum();
        assert_eq!(m.grads.len(), m.params.len() - frozen_len, "gradients are kept for trainable parameters only");
        let schedule = m.graph.schedule(Purpose::Train { head: 14, fused_last: true, frozen: &frozen }).unwrap();
        assert!(!schedule.backprop[0] && !schedule.backprop[1], "no backward below the lowest trainable step");
        assert!(schedule.backprop[3] && !schedule.param_grads[3], "a frozen BatchNorm passes gradients but gets none");
        // An update moves the trainable weights only; a frozen BatchNorm keeps its moving statistics.
        let (params, state) = (m.params.clone(), m.state.clone());
        m.train_step(&x, StepTargets::Labels(&[1, 2, 0]), batch, 0.1, 1, 0).unwrap();
        for p in 0..params.len() {
            if is_frozen(p) {
                assert_eq!(m.params[p].to_bits(), params[p].to_bits(), "frozen param {p} changed");
            }
        }
        assert!((0..params.len()).any(|p| !is_frozen(p) && m.params[p] != params[p]), "trainable weights move");
        assert_bits_eq(&m.state, &state, "a frozen BatchNorm's moving statistics");
    }

    fn exec_buffers_are_placed_by_liveness() {
        let batch = 8;
        let mut m = Model::chain(Shape3 { h: 224, w: 224, c: 3 }, batch, &breakhis_net()).unwrap();
        let all: usize = (0..m.steps().len()).filter(|&i| !m.steps()[i].aliases_input()).map(|i| m.step_output(i).unwrap().size() * batch).sum();
        let head = m.steps().len() - 1;
        let keep = m.graph.schedule(Purpose::Forward { keep_all: true, head }).unwrap();
        let infer = m.graph.schedule(Purpose::Forward { keep_all: false, head }).unwrap();
        assert!(keep.acts.len >= all, "keeping every activation needs them all: {} < {all}", keep.acts.len);
        assert!(infer.acts.len * 2 < all, "inference reuses memory: {} of {all}", infer.acts.len);
        m.configure(sgd0(), &[], &[]).unwrap();
        let train = m.graph.schedule(Purpose::Train { head, fused_last: true, frozen: &[false; 15] }).unwrap();
        let mut frozen = [true; 15];
        frozen[11] = false; // only the first Dense trains
        let tuned = m.graph.schedule(Purpose::Train { head, fused_last: true, frozen: &frozen }).unwrap();
        assert!(tuned.acts.len < train.acts.len, "a frozen backbone keeps fewer activations: {} vs {}", tuned.acts.len, train.acts.len);
        assert!(tuned.grads.len < train.grads.len, "and fewer gradients: {} vs {}", tuned.grads.len, train.grads.len);
        // Inference after training still works, and what it did not keep is not readable.
        let x = TestRng::new(15).vec(batch * 224 * 224 * 3);
        m.forward(&x, batch, Mode::Infer, false).unwrap();
        assert_eq!(m.activation(head).unwrap().len(), batch * 2);
        assert!(m.activation(0).is_err(), "a reused buffer is not handed out");
        m.forward(&x, batch, Mode::Infer, true).unwrap();
        assert_eq!(m.activation(0).unwrap().len(), batch * 56 * 56 * 16);
    }

    fn exec_rejects_malformed_graphs() {
        let node = |spec: StepSpec, inputs: &[usize]| StepNode { spec, inputs: inputs.to_vec() };
        let s = Shape3 { h: 4, w: 4, c: 2 };
        let err = Model::new(s, 1, &[node(StepSpec::Relu, &[1])]).unwrap_err();
        assert!(err.message.contains("step 0: reads value 1"), "{}", err.message);
        let err = Model::new(s, 1, &[node(StepSpec::Add, &[0])]).unwrap_err();
        assert!(err.message.contains("needs at least 2 inputs"), "{}", err.message);
        let err = Model::new(s, 1, &[node(StepSpec::Relu, &[0, 0])]).unwrap_err();
        assert!(err.message.contains("reads exactly 1 input"), "{}", err.message);
        let err = Model::new(s, 1, &[node(StepSpec::Flatten, &[0]), node(StepSpec::Add, &[0, 1])]).unwrap_err();
        assert!(err.message.contains("Add needs inputs of one shape"), "{}", err.message);
        let err = Model::new(s, 1, &[node(conv(3, 1, 1), &[0]), node(StepSpec::Concat, &[0, 1]), node(StepSpec::Concat, &[2, 2])]).map(|_| ()).err();
        assert!(err.is_none(), "channel concatenation of one spatial size plans");
        let mut m = Model::new(s, 2, &[node(StepSpec::Flatten, &[0]), node(dense(3), &[1])]).unwrap();
        let err = m.configure(sgd0(), &[], &[true]).unwrap_err();
        assert!(err.message.contains("expected 2 frozen flags"), "{}", err.message);
    }

    fn exec_backward_from_a_layer_gives_the_activation_gradient() {
        // Flatten -> Dense(3): d(sum(dy·out))/d(flatten output) = dy·Wᵀ.
        let mut m = Model::chain(Shape3 { h: 1, w: 2, c: 1 }, 1, &[StepSpec::Flatten, dense(3), StepSpec::Relu]).unwrap();
        m.params.copy_from_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 0.0, 0.0, 0.0]);
        let x = [1.0, 1.0];
        m.forward(&x, 1, Mode::Infer, true).unwrap();
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
            let mut m = Model::chain(Shape3 { h: 64, w: 64, c: 3 }, batch, &breakhis_small()).unwrap();
            init(&mut m, 3);
            m.configure(
                TrainSpec { optimizer: OptimizerKind::Adam(AdamParams::KERAS), l2: L2::Keras { lambda: 0.01 }, ..sgd0() },
                &[],
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
fn breakhis_small() -> Vec<StepSpec> {
    use StepSpec::*;
    vec![conv(16, 3, 2), bn(), Relu, conv(32, 3, 2), bn(), Relu, maxpool(2), conv(64, 3, 1), bn(), Relu, Flatten, dense(128), Relu, StepSpec::Dropout { rate: 0.25 }, dense(2), Softmax]
}

#[cfg(all(test, feature = "threads"))]
#[test]
fn exec_graph_training_with_frozen_steps_is_bit_identical_with_1_and_2_threads() {
    let batch = 16;
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let nodes = residual_graph();
            let mut m = Model::new(Shape3 { h: 24, w: 24, c: 2 }, batch, &nodes).unwrap();
            init(&mut m, 21);
            let mut frozen = vec![false; nodes.len()];
            frozen[3] = true;
            m.configure(TrainSpec { optimizer: OptimizerKind::Adam(AdamParams::KERAS), ..sgd0() }, &[], &frozen).unwrap();
            let mut rng = TestRng::new(22);
            for step in 1..=3 {
                let x = rng.vec(batch * 24 * 24 * 2);
                let labels: Vec<u32> = (0..batch as u32).map(|i| i % 3).collect();
                m.train_step(&x, StepTargets::Labels(&labels), batch, 1e-3, step, 5).unwrap();
            }
            (m.params.clone(), m.state.clone())
        })
    };
    let (p1, s1) = run(1);
    let (p2, s2) = run(2);
    assert_bits_eq(&p1, &p2, "graph params after 3 steps, 1 vs 2 threads");
    assert_bits_eq(&s1, &s2, "graph state after 3 steps, 1 vs 2 threads");
}
