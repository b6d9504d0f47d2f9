//! Training with a frozen backbone runs the backbone fused (BatchNorm
//! folded, ReLU in the GEMM epilogue; see exec/fusion.rs): the result is the
//! one of training the trainable part alone on the backbone's (unfused)
//! output, within the fusion's tolerance, and bit-identical for any thread count.

use super::fusion_tests::{init, FUSED_RTOL};
use super::model::{Model, StepTargets};
use super::ops::{BufferKind, Mode, Shape3};
use super::spec::{OptimizerKind, StepSpec, TrainSpec};
use super::tests::{breakhis_net, dense, sgd0};
use crate::optim::SgdParams;
use crate::selftest::util::{assert_bits_eq, TestRng};

const SIDE: usize = 64;
/// breakhis_net: steps 0..=10 are the backbone (three conv-BN-ReLU groups, a
/// max-pool, Flatten), 11.. the head (Dense, ReLU, Dense, Softmax).
const HEAD: usize = 11;

fn momentum() -> TrainSpec {
    TrainSpec { optimizer: OptimizerKind::Sgd(SgdParams { momentum: 0.9, nesterov: false }), ..sgd0() }
}

fn backbone_frozen(m: &Model) -> Vec<bool> {
    (0..m.steps().len()).map(|s| s < HEAD).collect()
}

/// Where the head's parameters start (they run to the end of the buffer).
fn head_params(m: &Model) -> usize {
    m.tensors().iter().find(|t| t.step == HEAD && t.buffer == BufferKind::Params).unwrap().range.offset
}

/// The largest difference over `a` and `b`, asserted within the fusion tolerance.
fn assert_close(a: &[f32], b: &[f32], what: &str) {
    let scale = b.iter().fold(1.0f32, |s, v| s.max(v.abs()));
    let worst = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    assert!(worst <= FUSED_RTOL * scale, "{what}: differs by {worst:e} > {FUSED_RTOL:e} · {scale}");
    eprintln!("{what}: max difference {worst:e} (scale {scale})");
}

crate::kernel_tests! {
    fn exec_a_fused_frozen_backbone_trains_like_the_head_on_the_backbone_output() {
        let batch = 4;
        let mut m = Model::chain(Shape3 { h: SIDE, w: SIDE, c: 3 }, batch, &breakhis_net()).unwrap();
        init(&mut m, 41);
        m.configure(momentum(), &[], &backbone_frozen(&m)).unwrap();
        assert_eq!(m.fused_prefix_groups(), 3, "the backbone's three conv-BN-ReLU groups fuse");
        // The head alone, on the backbone's output, with the same weights.
        let features = m.step_output(HEAD - 1).unwrap();
        let head = vec![dense(128), StepSpec::Relu, dense(2), StepSpec::Softmax];
        let mut alone = Model::chain(features, batch, &head).unwrap();
        let at = head_params(&m);
        alone.params.copy_from_slice(&m.params[at..]);
        alone.configure(momentum(), &[], &[]).unwrap();
        let (backbone, state) = (m.params[..at].to_vec(), m.state.clone());
        let mut rng = TestRng::new(42);
        let labels = [0, 1, 1, 0];
        for step in 1..=3 {
            let x = rng.vec(batch * SIDE * SIDE * 3);
            // The backbone's output through the model's own (unfused) graph;
            // its frozen BatchNorms use their moving statistics in training too.
            m.forward(&x, batch, Mode::Infer, true).unwrap();
            let f = m.activation(HEAD - 1).unwrap()[..batch * features.size()].to_vec();
            let tuned = m.train_step(&x, StepTargets::Labels(&labels), batch, 0.05, step, 7).unwrap();
            let plain = alone.train_step(&f, StepTargets::Labels(&labels), batch, 0.05, step, 7).unwrap();
            assert_close(&[tuned.loss, tuned.grad_norm], &[plain.loss, plain.grad_norm], &format!("step {step}: loss and gradient norm"));
        }
        assert_close(&m.params[at..], &alone.params, "head weights after 3 steps");
        assert_bits_eq(&m.params[..at], &backbone, "the frozen backbone's weights");
        assert_bits_eq(&m.state, &state, "the frozen backbone's moving statistics");
        // So the steps kept the backbone's folds: only an outside write refolds them.
        assert!(!m.fused_prefix_stale(), "a training step made the frozen prefix's folds stale");
        m.weights_changed();
        assert!(m.fused_prefix_stale(), "a write of the weights must refold the frozen prefix");
        // Nothing the fused backbone skips is handed out as if it were kept.
        assert!(m.activation(0).is_err(), "a fused-away activation is not readable");
    }

    fn exec_an_all_trainable_model_trains_unfused() {
        let mut m = Model::chain(Shape3 { h: SIDE, w: SIDE, c: 3 }, 2, &breakhis_net()).unwrap();
        m.configure(momentum(), &[], &[]).unwrap();
        assert_eq!(m.fused_prefix_groups(), 0, "batch statistics need the BatchNorms as steps");
    }
}

#[cfg(all(test, feature = "threads"))]
#[test]
fn exec_training_with_a_fused_frozen_backbone_is_bit_identical_with_1_and_2_threads() {
    let batch = 8;
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let mut m = Model::chain(Shape3 { h: SIDE, w: SIDE, c: 3 }, batch, &breakhis_net()).unwrap();
            init(&mut m, 43);
            m.configure(momentum(), &[], &backbone_frozen(&m)).unwrap();
            let mut rng = TestRng::new(44);
            for step in 1..=3 {
                let x = rng.vec(batch * SIDE * SIDE * 3);
                let labels: Vec<u32> = (0..batch as u32).map(|i| i % 2).collect();
                m.train_step(&x, StepTargets::Labels(&labels), batch, 0.05, step, 5).unwrap();
            }
            m.params.clone()
        })
    };
    assert_bits_eq(&run(1), &run(2), "params after 3 steps with a fused frozen backbone, 1 vs 2 threads");
}
