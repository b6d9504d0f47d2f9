//! The training fusion (BatchNorm → ReLU as one step in a training step):
//! which pairs it fuses, and that fused training steps are bit-identical to
//! the unfused graph's (weights, moving statistics, gradients, loss).

use super::graph::Purpose;
use super::model::{Model, StepTargets};
use super::ops::Shape3;
use super::spec::{StepNode, StepSpec, TrainSpec, L2, OptimizerKind};
use super::tests::{bn, breakhis_net, conv, init, sgd0};
use super::train_fusion;
use crate::geom::Padding;
use crate::optim::AdamParams;
use crate::selftest::util::{assert_bits_eq, TestRng};

/// Steps of the fused training graph that became aliases of their input.
fn absorbed(m: &Model, frozen: &[bool]) -> Vec<usize> {
    let n = m.graph.len();
    let head = m.graph.inputs[n - 1][0];
    let Some(g) = train_fusion::plan(&m.graph, frozen, &[n, head]) else { return Vec::new() };
    (0..n).filter(|&s| g.steps[s].aliases_input() && !m.graph.steps[s].aliases_input()).collect()
}

/// A graph where one BatchNorm's output has a second reader (not fused) and
/// another's ReLU output fans out to two steps (fused).
fn fan_out_graph() -> Vec<StepNode> {
    use StepSpec::*;
    let node = |spec: StepSpec, inputs: &[usize]| StepNode { spec, inputs: inputs.to_vec() };
    let same = |filters| StepSpec::Conv2d { filters, kernel: [3, 3], strides: [1, 1], padding: Padding::Same, use_bias: true, regularized: false };
    vec![
        node(same(4), &[0]),   // s0 -> v1
        node(bn(), &[1]),      // s1 -> v2, read by s2 and s3: not fused
        node(Relu, &[2]),      // s2 -> v3
        node(Add, &[3, 2]),    // s3 -> v4
        node(same(4), &[4]),   // s4 -> v5
        node(bn(), &[5]),      // s5 -> v6: fused with s6
        node(Relu, &[6]),      // s6 -> v7, read by s7 twice and by s8
        node(Add, &[7, 7]),    // s7 -> v8
        node(Add, &[8, 7]),    // s8 -> v9
        node(Flatten, &[9]),   // s9
        node(StepSpec::Dense { units: 3, use_bias: true, regularized: false }, &[10]),
        node(Softmax, &[11]),
    ]
}

struct Trained {
    params: Vec<f32>,
    state: Vec<f32>,
    grads: Vec<f32>,
    losses: Vec<f32>,
}

/// Three Adam steps (with L2 and dropout where the model has it) from `seed`.
fn train(mut m: Model, fuse: bool, frozen: &[bool], seed: u64) -> Trained {
    m.fuse_training = fuse;
    init(&mut m, seed);
    let spec = TrainSpec { optimizer: OptimizerKind::Adam(AdamParams::KERAS), l2: L2::Keras { lambda: 0.01 }, ..sgd0() };
    m.configure(spec, &[], frozen).unwrap();
    let batch = m.max_batch;
    let classes = m.output().c as u32;
    let labels: Vec<u32> = (0..batch as u32).map(|i| (i * 7 + 1) % classes).collect();
    let mut rng = TestRng::new(seed + 1);
    let losses = (1..=3)
        .map(|step| {
            let x = rng.vec(batch * m.input.size());
            let stats = m.train_step(&x, StepTargets::Labels(&labels), batch, 1e-2, step, 7).unwrap();
            assert_eq!(stats.updated, 1);
            stats.loss
        })
        .collect();
    Trained { params: m.params.clone(), state: m.state.clone(), grads: m.grads.clone(), losses }
}

fn assert_same_training(make: impl Fn() -> Model, frozen: &[bool], seed: u64, what: &str) {
    let (fused, plain) = (train(make(), true, frozen, seed), train(make(), false, frozen, seed));
    assert_bits_eq(&fused.losses, &plain.losses, &format!("{what}: losses, fused vs unfused"));
    assert_bits_eq(&fused.grads, &plain.grads, &format!("{what}: gradients, fused vs unfused"));
    assert_bits_eq(&fused.params, &plain.params, &format!("{what}: weights, fused vs unfused"));
    assert_bits_eq(&fused.state, &plain.state, &format!("{what}: moving statistics, fused vs unfused"));
}

fn breakhis(batch: usize) -> Model {
    Model::chain(Shape3 { h: 64, w: 64, c: 3 }, batch, &breakhis_net()).unwrap()
}

crate::kernel_tests! {
    fn exec_training_fusion_fuses_only_unshared_trainable_batchnorm_relu_pairs() {
        // BreakHis: the three BatchNorm → ReLU pairs; not Dense → ReLU.
        let m = breakhis(2);
        assert_eq!(absorbed(&m, &[]), vec![2, 5, 9]);
        // A frozen BatchNorm runs in inference mode and stays unfused.
        let mut frozen = vec![false; m.graph.len()];
        frozen[4] = true;
        assert_eq!(absorbed(&m, &frozen), vec![2, 9]);
        // A BatchNorm output with a second reader stays; a ReLU output may fan out.
        let g = Model::new(Shape3 { h: 5, w: 4, c: 2 }, 2, &fan_out_graph()).unwrap();
        assert_eq!(absorbed(&g, &[]), vec![6]);
        // A BatchNorm → ReLU whose BatchNorm output is the model output, and a
        // bounded ReLU: nothing fuses.
        let tail = Model::chain(Shape3 { h: 3, w: 3, c: 2 }, 2, &[conv(3, 2, 1), bn()]).unwrap();
        assert_eq!(absorbed(&tail, &[]), Vec::<usize>::new());
        let relu6 = Model::chain(Shape3 { h: 3, w: 3, c: 2 }, 2, &[conv(3, 2, 1), bn(), StepSpec::BoundedRelu { max: 6.0 }]).unwrap();
        assert_eq!(absorbed(&relu6, &[]), Vec::<usize>::new());
    }

    fn exec_training_fusion_needs_less_memory() {
        // BreakHis at 224x224: a fused pair keeps no separate ReLU output.
        let batch = 4;
        let m = Model::chain(Shape3 { h: 224, w: 224, c: 3 }, batch, &breakhis_net()).unwrap();
        let n = m.graph.len();
        let head = m.graph.inputs[n - 1][0];
        let frozen = vec![false; n];
        let purpose = || Purpose::Train { head, fused_last: true, frozen: &frozen };
        let fused = train_fusion::plan(&m.graph, &frozen, &[n, head]).unwrap().schedule(purpose()).unwrap();
        let plain = m.graph.schedule(purpose()).unwrap();
        eprintln!("training arenas at batch {batch}: activations {} -> {}, gradients {} -> {} floats", plain.acts.len, fused.acts.len, plain.grads.len, fused.grads.len);
        // Measured: 695,424 -> 629,120 activation floats; the gradient arena's
        // peak (around conv1 and conv2) is unchanged.
        assert!(fused.acts.len < plain.acts.len, "activations: fused {} vs {}", fused.acts.len, plain.acts.len);
        assert!(fused.grads.len <= plain.grads.len, "gradients: fused {} vs {}", fused.grads.len, plain.grads.len);
    }

    fn exec_fused_training_is_bit_identical_to_unfused() {
        assert_same_training(|| breakhis(4), &[], 31, "BreakHis 64x64");
        let mut frozen = vec![false; breakhis_net().len()];
        frozen[4] = true;
        assert_same_training(|| breakhis(3), &frozen, 32, "BreakHis 64x64, BatchNorm 4 frozen");
        assert_same_training(|| Model::new(Shape3 { h: 5, w: 4, c: 2 }, 5, &fan_out_graph()).unwrap(), &[], 33, "fan-out graph");
    }
}
