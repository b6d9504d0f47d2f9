//! Gradient and optimizer memory: nothing for inference, the trainable
//! parameters only when layers are frozen, re-planned when the trainable set
//! changes between configurations (see exec/trainable.rs).

use super::model::{Model, StepTargets};
use super::ops::{Mode, Shape3};
use super::spec::{OptimizerKind, TrainSpec};
use super::tests::{breakhis_net, init, sgd0, trainable};
use crate::optim::AdamParams;
use crate::selftest::util::{assert_bits_eq, TestRng};

const SIDE: usize = 64;

fn adam() -> TrainSpec {
    TrainSpec { optimizer: OptimizerKind::Adam(AdamParams::KERAS), ..sgd0() }
}

fn net(batch: usize) -> Model {
    let mut m = Model::chain(Shape3 { h: SIDE, w: SIDE, c: 3 }, batch, &breakhis_net()).unwrap();
    init(&mut m, 31);
    m
}

/// Only the steps from `first` on train.
fn frozen_below(m: &Model, first: usize) -> Vec<bool> {
    (0..m.steps().len()).map(|s| s < first).collect()
}

fn step(m: &mut Model, rng: &mut TestRng, batch: usize, n: u32) {
    let x = rng.vec(batch * SIDE * SIDE * 3);
    let labels: Vec<u32> = (0..batch as u32).map(|i| i % 2).collect();
    m.train_step(&x, StepTargets::Labels(&labels), batch, 1e-2, n, 3).unwrap();
}

/// The parameters of steps `steps`, as (offset, len) ranges.
fn params_of(m: &Model, steps: std::ops::Range<usize>) -> Vec<std::ops::Range<usize>> {
    m.tensors().iter().filter(|t| steps.contains(&t.step) && t.buffer == super::ops::BufferKind::Params).map(|t| t.range.offset..t.range.end()).collect()
}

crate::kernel_tests! {
    fn exec_inference_only_models_allocate_no_gradients_or_optimizer_slots() {
        let batch = 2;
        let mut m = net(batch);
        let x = TestRng::new(32).vec(batch * SIDE * SIDE * 3);
        m.forward(&x, batch, Mode::Infer, false).unwrap();
        // Grad-CAM's backward in training mode (BatchNorm drops its parameter gradients).
        let train = Mode::Train { seed: 1, step: 1 };
        m.forward(&x, batch, train, true).unwrap();
        let dy = vec![1.0; batch * 2];
        m.backward_from(&x, batch, 13, &dy, 2, train).unwrap();
        m.configure(adam(), &[], &[]).unwrap();
        m.evaluate_batch(&x, StepTargets::Labels(&[0, 1]), batch).unwrap();
        assert!(m.grads.is_empty() && m.slot1.is_empty() && m.slot2.is_empty(), "no training buffers before the first training step");
        step(&mut m, &mut TestRng::new(33), batch, 1);
        let n = trainable(&m);
        assert_eq!((m.grads.len(), m.slot1.len(), m.slot2.len()), (n, n, n), "Adam: gradients and two slots per parameter");
    }

    fn exec_a_frozen_backbone_keeps_gradients_and_slots_for_the_trainable_part_only() {
        let batch = 2;
        let mut m = net(batch);
        let head = 13; // dense(2): 128·2 + 2 parameters
        m.configure(adam(), &[], &frozen_below(&m, head)).unwrap();
        step(&mut m, &mut TestRng::new(34), batch, 1);
        assert_eq!((m.grads.len(), m.slot1.len(), m.slot2.len()), (258, 258, 258));
        // Plain SGD keeps no slot at all.
        let mut m = net(batch);
        m.configure(sgd0(), &[], &frozen_below(&m, head)).unwrap();
        step(&mut m, &mut TestRng::new(34), batch, 1);
        assert_eq!((m.grads.len(), m.slot1.len(), m.slot2.len()), (258, 0, 0));
    }

    fn exec_unfreezing_between_configurations_replans_and_trains_the_new_layers() {
        let batch = 2;
        let mut m = net(batch);
        let mut rng = TestRng::new(35);
        m.configure(adam(), &[], &frozen_below(&m, 13)).unwrap();
        step(&mut m, &mut rng, batch, 1);
        step(&mut m, &mut rng, batch, 2);
        // The same trainable set (fit() reconfiguring its class weights): the optimizer state stays.
        let (s1, s2) = (m.slot1.clone(), m.slot2.clone());
        assert!(s1.iter().any(|&v| v != 0.0));
        m.configure(adam(), &[1.0, 2.0], &frozen_below(&m, 13)).unwrap();
        assert_bits_eq(&m.slot1, &s1, "slot 1 kept across a reconfiguration");
        assert_bits_eq(&m.slot2, &s2, "slot 2 kept across a reconfiguration");
        // Unfreeze dense(128) too: gradients and slots are re-planned for the new set (zeroed) ...
        m.configure(adam(), &[], &frozen_below(&m, 11)).unwrap();
        assert!(m.grads.is_empty() && m.slot1.is_empty(), "released until the next training step");
        let before = m.params.clone();
        step(&mut m, &mut rng, batch, 3);
        let n = m.step_output(10).unwrap().size() * 128 + 128 + 258; // Flatten's features · 128 + bias + dense(2)
        assert_eq!(m.grads.len(), n, "gradients for both Dense layers");
        // ... and the newly trainable layer trains, the frozen ones do not.
        let moved = |r: &std::ops::Range<usize>| m.params[r.clone()].iter().zip(&before[r.clone()]).any(|(a, b)| a != b);
        assert!(params_of(&m, 11..12).iter().all(moved), "dense(128) trains once unfrozen");
        assert!(!params_of(&m, 0..11).iter().any(moved), "the frozen backbone does not move");
    }
}
