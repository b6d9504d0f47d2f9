//! Fused inference against the model's own graph: BatchNorm folded into the
//! preceding convolution or Dense layer agrees within a stated tolerance (the
//! fold rounds differently); a ReLU in the GEMM epilogue is bit-identical;
//! the folded weights follow every change of the trained ones; results are
//! bit-identical for any thread count.

use super::model::{Model, StepTargets};
use super::ops::{BufferKind, Mode, Role, Shape3};
use super::spec::{StepNode, StepSpec, TrainSpec, L2, LossKind, OptimizerKind};
use super::tests::{breakhis_net, mnist_net};
use crate::batchnorm::BatchNormParams;
use crate::geom::Padding;
use crate::optim::SgdParams;
use crate::selftest::util::{assert_bits_eq, TestRng};

/// Fused vs unfused tolerance: `|fused - unfused| <= FUSED_RTOL · max(1, max|unfused|)`
/// over the whole output. Folding rounds `w·scale` once per weight instead of
/// scaling each sum, a relative change of about one f32 ulp per term.
pub(super) const FUSED_RTOL: f32 = 1e-5;

/// Random weights, and BatchNorm statistics far from the identity (a fold of
/// mean 0, variance 1 would hide mistakes).
pub(super) fn init(m: &mut Model, seed: u64) {
    let mut rng = TestRng::new(seed);
    for t in m.tensors() {
        let r = t.range.offset..t.range.end();
        let fan_in = (t.range.len / m.step_output(t.step).unwrap().c).max(1) as f32;
        match (t.buffer, t.role) {
            (BufferKind::Params, Role::Kernel) => m.params[r].iter_mut().for_each(|p| *p = rng.uniform() * (3.0 / fan_in).sqrt()),
            (BufferKind::Params, Role::Gamma) => m.params[r].iter_mut().for_each(|p| *p = 1.0 + 0.5 * rng.uniform()),
            (BufferKind::Params, _) => m.params[r].iter_mut().for_each(|p| *p = 0.2 * rng.uniform()),
            (BufferKind::State, Role::MovingVariance) => m.state[r].iter_mut().for_each(|p| *p = 0.5 + 0.4 * rng.uniform()),
            (BufferKind::State, _) => m.state[r].iter_mut().for_each(|p| *p = 0.3 * rng.uniform()),
        }
    }
}

fn output(m: &Model) -> Vec<f32> {
    m.activation(m.steps().len() - 1).unwrap().to_vec()
}

/// Output of a fused inference pass and of the unfused graph over the same input.
fn fused_and_unfused(m: &mut Model, x: &[f32], batch: usize) -> (Vec<f32>, Vec<f32>) {
    m.forward(x, batch, Mode::Infer, false).unwrap();
    let fused = output(m)[..batch * m.output().size()].to_vec();
    m.forward_unfused(x, batch, Mode::Infer).unwrap();
    let plain = output(m)[..batch * m.output().size()].to_vec();
    (fused, plain)
}

/// Asserts the tolerance; returns the largest difference.
fn assert_fused_close(fused: &[f32], plain: &[f32], what: &str) -> f32 {
    let scale = plain.iter().fold(1.0f32, |a, v| a.max(v.abs()));
    let worst = fused.iter().zip(plain).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(fused.iter().all(|v| v.is_finite()), "{what}: fused output not finite");
    assert!(worst <= FUSED_RTOL * scale, "{what}: fused differs from unfused by {worst:e} > {FUSED_RTOL:e} · {scale}");
    eprintln!("{what}: fused vs unfused max difference {worst:e} (output scale {scale})");
    worst
}

/// A model with folded BatchNorms, initialised from `seed`, at its largest
/// batch: fused within tolerance of unfused, and not bit-identical (the
/// BatchNorms really were folded).
fn assert_folded_close(mut m: Model, seed: u64, what: &str) {
    init(&mut m, seed);
    let batch = m.max_batch;
    let x = TestRng::new(seed + 1).vec(batch * m.input.size());
    let (fused, plain) = fused_and_unfused(&mut m, &x, batch);
    assert!(assert_fused_close(&fused, &plain, what) > 0.0, "{what}: fused pass equals the unfused one bit for bit");
}

fn same_conv(filters: usize, k: usize, bias: bool) -> StepSpec {
    StepSpec::Conv2d { filters, kernel: [k, k], strides: [1, 1], padding: Padding::Same, use_bias: bias, regularized: false }
}
fn valid_conv(filters: usize, k: usize) -> StepSpec {
    StepSpec::Conv2d { filters, kernel: [k, k], strides: [1, 1], padding: Padding::Valid, use_bias: true, regularized: false }
}
fn bn() -> StepSpec {
    StepSpec::BatchNorm(BatchNormParams { momentum: 0.9, epsilon: 1e-3 })
}

/// A residual block in the ResNet pattern: conv-BN-ReLU, conv-BN, Add with a
/// 1×1 projection (conv-BN), ReLU; a depthwise-BN-ReLU6; then a head.
fn resnet_block() -> Vec<StepNode> {
    use StepSpec::*;
    let node = |spec: StepSpec, inputs: &[usize]| StepNode { spec, inputs: inputs.to_vec() };
    let depthwise = DepthwiseConv2d { multiplier: 2, kernel: [3, 3], strides: [1, 1], padding: Padding::Same, use_bias: false, regularized: false };
    vec![
        node(same_conv(8, 3, false), &[0]), // s0 -> v1
        node(bn(), &[1]),                   // s1 -> v2
        node(Relu, &[2]),                   // s2 -> v3: s0..s2 fuse
        node(same_conv(8, 3, false), &[3]), // s3 -> v4
        node(bn(), &[4]),                   // s4 -> v5: s3, s4 fuse (v5 feeds the Add)
        node(same_conv(8, 1, false), &[0]), // s5 -> v6: projection
        node(bn(), &[6]),                   // s6 -> v7
        node(Add, &[5, 7]),                 // s7 -> v8
        node(Relu, &[8]),                   // s8 -> v9: after an Add, stays a step
        node(depthwise, &[9]),              // s9 -> v10
        node(bn(), &[10]),                  // s10 -> v11: folded into the depthwise kernel
        node(BoundedRelu { max: 6.0 }, &[11]), // s11 -> v12: stays a step
        node(GlobalAvgPool, &[12]),         // s12 -> v13
        node(StepSpec::Dense { units: 6, use_bias: true, regularized: false }, &[13]), // s13 -> v14
        node(bn(), &[14]),                  // s14 -> v15: Dense-BN-ReLU fuse
        node(Relu, &[15]),                  // s15 -> v16
        node(StepSpec::Dense { units: 3, use_bias: true, regularized: false }, &[16]), // s16 -> v17
        node(Softmax, &[17]),               // s17 -> v18
    ]
}

/// 3×3 stride-1 convolutions with at least 16 channels in and out, each
/// followed by a BatchNorm: their fused steps keep a transformed (Winograd)
/// folded kernel and take Winograd at any batch. On a 7×7 map (16 tiles per
/// image: the model's own graph takes im2col at batch 1, Winograd from 2) the
/// kept kernel is F(2×2, 3×3)'s; on `F4_MAP` (9×9), F(4×4, 3×3)'s, while the
/// model's own graph runs F(2×2, 3×3).
fn winograd_block() -> Vec<StepNode> {
    use StepSpec::*;
    let node = |spec: StepSpec, inputs: &[usize]| StepNode { spec, inputs: inputs.to_vec() };
    vec![
        node(same_conv(16, 1, true), &[0]),  // s0 -> v1: 3 channels in, no kept kernel
        node(same_conv(20, 3, false), &[1]), // s1 -> v2: kept kernel
        node(bn(), &[2]),                    // s2 -> v3
        node(Relu, &[3]),                    // s3 -> v4
        node(same_conv(16, 3, false), &[4]), // s4 -> v5: kept kernel
        node(bn(), &[5]),                    // s5 -> v6
        node(Add, &[6, 1]),                  // s6 -> v7
        node(GlobalAvgPool, &[7]),           // s7 -> v8
        node(StepSpec::Dense { units: 3, use_bias: true, regularized: false }, &[8]), // s8 -> v9
    ]
}

/// Plain SGD on softmax cross-entropy: a training step that changes every weight.
fn plain_sgd() -> TrainSpec {
    TrainSpec {
        loss: LossKind::SoftmaxCrossEntropy { label_smoothing: 0.0 },
        optimizer: OptimizerKind::Sgd(SgdParams { momentum: 0.0, nesterov: false }),
        l2: L2::None,
        clip_norm: None,
    }
}

/// The fused output of `m` at batch 1 on each of `x`'s `batch` samples in turn.
fn fused_one_at_a_time(m: &mut Model, x: &[f32], batch: usize) -> Vec<f32> {
    let (len, out) = (m.input.size(), m.output().size());
    (0..batch).flat_map(|i| {
        m.forward(&x[i * len..(i + 1) * len], 1, Mode::Infer, false).unwrap();
        output(m)[..out].to_vec()
    }).collect()
}

/// A map on which kept Winograd kernels are F(4×4, 3×3)'s.
const F4_MAP: Shape3 = Shape3 { h: 9, w: 9, c: 3 };

crate::kernel_tests! {
    fn fusion_kept_winograd_kernels_match_unfused_and_any_batch() {
        let batch = 2;
        for input in [Shape3 { h: 7, w: 7, c: 3 }, F4_MAP] {
            let mut m = Model::new(input, batch, &winograd_block()).unwrap();
            init(&mut m, 15);
            let x = TestRng::new(16).vec(batch * m.input.size());
            // At batch 2 both graphs run Winograd: they differ by the folding
            // (and on F4_MAP the tile) only.
            let (fused, plain) = fused_and_unfused(&mut m, &x, batch);
            assert_fused_close(&fused, &plain, &format!("Winograd block {input:?}"));
            // Batch 1 (kept kernels, all tiles one block, the GEMMs as units)
            // computes each sample as batch 2 does: the same bits.
            assert_bits_eq(&fused_one_at_a_time(&mut m, &x, batch), &fused, &format!("fused Winograd block {input:?}, batch 1 vs 2"));
        }
    }

    fn fusion_kept_winograd_kernels_follow_the_weights() {
        // After a training step, and after weights written from outside, the
        // fused pass equals that of a fresh model given the same weights: the
        // kept transformed kernels were rebuilt, not reused.
        let batch = 2;
        let nodes = winograd_block();
        for input in [Shape3 { h: 7, w: 7, c: 3 }, F4_MAP] {
            let mut m = Model::new(input, batch, &nodes).unwrap();
            init(&mut m, 17);
            let x = TestRng::new(18).vec(batch * m.input.size());
            let before = fused_one_at_a_time(&mut m, &x, batch);
            let fresh = |m: &Model| {
                let mut f = Model::new(input, batch, &nodes).unwrap();
                f.params.copy_from_slice(&m.params);
                f.state.copy_from_slice(&m.state);
                f.weights_changed();
                fused_one_at_a_time(&mut f, &x, batch)
            };
            m.configure(plain_sgd(), &[], &[]).unwrap();
            m.train_step(&x, StepTargets::Labels(&[0, 2]), batch, 0.5, 1, 1).unwrap();
            let trained = fused_one_at_a_time(&mut m, &x, batch);
            assert!(trained != before, "the training step changed nothing");
            assert_bits_eq(&trained, &fresh(&m), &format!("{input:?}: after a training step vs a fresh model"));
            let kernel = m.tensors().into_iter().filter(|t| t.role == Role::Kernel).nth(1).unwrap().range;
            m.params[kernel.offset..kernel.end()].iter_mut().for_each(|w| *w *= -0.5);
            m.weights_changed();
            let written = fused_one_at_a_time(&mut m, &x, batch);
            assert!(written != trained, "the new kernel changed nothing");
            assert_bits_eq(&written, &fresh(&m), &format!("{input:?}: after writing a kernel vs a fresh model"));
        }
    }

    fn fusion_breakhis_net_matches_unfused_within_tolerance() {
        // Without the final Softmax: the logits show differences that
        // probabilities would squash.
        let net = breakhis_net();
        let m = Model::chain(Shape3 { h: 67, w: 67, c: 3 }, 3, &net[..net.len() - 1]).unwrap();
        assert_folded_close(m, 1, "BreakHis net");
    }

    fn fusion_graph_net_matches_unfused_within_tolerance() {
        let nodes = resnet_block();
        let m = Model::new(Shape3 { h: 9, w: 7, c: 3 }, 2, &nodes[..nodes.len() - 1]).unwrap();
        assert_folded_close(m, 3, "residual block");
    }

    fn fusion_relu_epilogue_is_bit_identical_on_every_conv_path() {
        // No BatchNorm: only the clamp moves into the GEMM, which computes
        // exactly what the ReLU step computes. Covers the three forward paths:
        // 1x1 on x in place, implicit im2col (valid 3x3) and im2col (same).
        use StepSpec::*;
        let specs = [valid_conv(5, 1), Relu, valid_conv(6, 3), BoundedRelu { max: 0.3 }, same_conv(7, 3, true), Relu, Flatten, StepSpec::Dense { units: 4, use_bias: true, regularized: false }, Relu];
        let batch = 2;
        let mut m = Model::chain(Shape3 { h: 11, w: 10, c: 3 }, batch, &specs).unwrap();
        init(&mut m, 5);
        let x = TestRng::new(6).vec(batch * m.input.size());
        let (fused, plain) = fused_and_unfused(&mut m, &x, batch);
        assert_bits_eq(&fused, &plain, "conv/dense + ReLU fused vs unfused");
        let mut mn = Model::chain(Shape3 { h: 28, w: 28, c: 1 }, batch, &mnist_net()).unwrap();
        init(&mut mn, 7);
        let x = TestRng::new(8).vec(batch * mn.input.size());
        let (fused, plain) = fused_and_unfused(&mut mn, &x, batch);
        assert_bits_eq(&fused, &plain, "MNIST net fused vs unfused");
    }

    fn fusion_keeps_the_trained_weights_and_follows_their_changes() {
        let batch = 2;
        let mut m = Model::new(Shape3 { h: 9, w: 7, c: 3 }, batch, &resnet_block()).unwrap();
        init(&mut m, 9);
        let x = TestRng::new(10).vec(batch * m.input.size());
        let (params, state) = (m.params.clone(), m.state.clone());
        let (before, _) = fused_and_unfused(&mut m, &x, batch);
        assert_bits_eq(&m.params, &params, "trained parameters after a fused pass");
        assert_bits_eq(&m.state, &state, "moving statistics after a fused pass");
        // A training step changes weights and statistics: the next fused pass refolds.
        m.configure(plain_sgd(), &[], &[]).unwrap();
        m.train_step(&x, StepTargets::Labels(&[0, 2]), batch, 0.5, 1, 1).unwrap();
        let (after, plain) = fused_and_unfused(&mut m, &x, batch);
        assert!(after.iter().zip(&before).any(|(a, b)| a != b), "the training step changed nothing");
        assert_fused_close(&after, &plain, "after a training step");
        // Weights written from outside (setWeights, load) announce themselves.
        let gamma = m.tensors().into_iter().find(|t| t.role == Role::Gamma).unwrap().range;
        m.params[gamma.offset..gamma.end()].iter_mut().for_each(|g| *g *= -2.0);
        m.weights_changed();
        let (changed, plain) = fused_and_unfused(&mut m, &x, batch);
        assert!(changed.iter().zip(&after).any(|(a, b)| a != b), "new gamma changed nothing");
        assert_fused_close(&changed, &plain, "after writing gamma");
    }

    fn fusion_hides_the_absorbed_activations_and_inspection_runs_unfused() {
        let batch = 2;
        let mut m = Model::new(Shape3 { h: 9, w: 7, c: 3 }, batch, &resnet_block()).unwrap();
        init(&mut m, 11);
        let x = TestRng::new(12).vec(batch * m.input.size());
        m.forward(&x, batch, Mode::Infer, false).unwrap();
        for step in [0, 1, 3, 9, 13, 14] {
            let err = m.activation(step).unwrap_err().message;
            assert!(err.contains("not kept"), "step {step}: {err}");
        }
        // A kept forward (feature maps, Grad-CAM) has every step's own output.
        m.forward(&x, batch, Mode::Infer, true).unwrap();
        let conv0 = m.activation(0).unwrap()[..batch * m.step_output(0).unwrap().size()].to_vec();
        let bn0 = m.activation(1).unwrap()[..conv0.len()].to_vec();
        assert!(conv0.iter().any(|v| *v < 0.0) && bn0 != conv0, "inspection sees the raw convolution and the BatchNorm output");
    }
}

#[cfg(all(test, feature = "threads"))]
#[test]
fn fusion_bit_identical_with_1_and_2_threads() {
    let batch = 4;
    let run = |threads: usize, nodes: &[StepNode], input: Shape3| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let mut m = Model::new(input, batch, nodes).unwrap();
            init(&mut m, 13);
            let x = TestRng::new(14).vec(batch * input.size());
            m.forward(&x, batch, Mode::Infer, false).unwrap();
            output(&m)
        })
    };
    let chain: Vec<StepNode> = breakhis_net().into_iter().enumerate().map(|(i, spec)| StepNode { spec, inputs: vec![i] }).collect();
    for (nodes, input, what) in [
        (chain, Shape3 { h: 67, w: 67, c: 3 }, "BreakHis net"),
        (resnet_block(), Shape3 { h: 9, w: 7, c: 3 }, "residual block"),
        (winograd_block(), Shape3 { h: 7, w: 7, c: 3 }, "Winograd block"),
    ] {
        assert_bits_eq(&run(1, &nodes, input), &run(2, &nodes, input), &format!("{what} fused inference, 1 vs 2 threads"));
    }
}
