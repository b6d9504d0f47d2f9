//! Re-planning a model for another batch size in place (`Model::replan`):
//! weights, moving statistics, training configuration and optimizer state
//! stay, and training continues exactly as in a model planned for the larger
//! batch all along.

use super::model::{Model, StepTargets};
use super::ops::{Mode, Shape3};
use super::spec::{OptimizerKind, TrainSpec};
use super::tests::{breakhis_net, init, sgd0};
use crate::optim::AdamParams;
use crate::selftest::util::{assert_bits_eq, TestRng};

const SIDE: usize = 64;
const BATCH: usize = 2;

fn net(max_batch: usize, frozen_steps: usize) -> Model {
    let mut m = Model::chain(Shape3 { h: SIDE, w: SIDE, c: 3 }, max_batch, &breakhis_net()).unwrap();
    init(&mut m, 41);
    let frozen: Vec<bool> = (0..m.steps().len()).map(|s| s < frozen_steps).collect();
    m.configure(TrainSpec { optimizer: OptimizerKind::Adam(AdamParams::KERAS), ..sgd0() }, &[], &frozen).unwrap();
    m
}

fn step(m: &mut Model, seed: u64, n: u32) {
    let x = TestRng::new(seed).vec(BATCH * SIDE * SIDE * 3);
    let labels: Vec<u32> = (0..BATCH as u32).map(|i| i % 2).collect();
    let s = m.train_step(&x, StepTargets::Labels(&labels), BATCH, 1e-2, n, 3).unwrap();
    assert_eq!(s.updated, 1);
}

fn predict(m: &mut Model) -> Vec<f32> {
    let x = TestRng::new(99).vec(BATCH * SIDE * SIDE * 3);
    m.forward(&x, BATCH, Mode::Infer, false).unwrap();
    let last = m.steps().len() - 1;
    m.activation(last).unwrap()[..BATCH * 2].to_vec()
}

crate::kernel_tests! {
    fn exec_replanning_keeps_the_weights_and_optimizer_state_and_trains_on_identically() {
        // 0: every step trains; 7: conv1..conv2 blocks frozen (the frozen prefix runs fused).
        for frozen in [0, 7] {
            let mut all_along = net(8, frozen);
            let mut replanned = net(BATCH, frozen);
            for n in 1..=3 {
                step(&mut all_along, 50 + n as u64, n);
            }
            step(&mut replanned, 51, 1);
            replanned.replan(8).unwrap();
            assert_eq!(replanned.max_batch, 8);
            step(&mut replanned, 52, 2);
            replanned.replan(3).unwrap();
            step(&mut replanned, 53, 3);
            let what = format!("frozen below step {frozen}");
            assert_bits_eq(&replanned.params, &all_along.params, &format!("{what}: parameters"));
            assert_bits_eq(&replanned.state, &all_along.state, &format!("{what}: moving statistics"));
            assert_bits_eq(&replanned.slot1, &all_along.slot1, &format!("{what}: Adam slot 1"));
            assert_bits_eq(&replanned.slot2, &all_along.slot2, &format!("{what}: Adam slot 2"));
            assert_bits_eq(&predict(&mut replanned), &predict(&mut all_along), &format!("{what}: predictions"));
        }
    }

    fn exec_a_model_replanned_smaller_refuses_larger_batches_and_a_failed_replan_keeps_the_old_plan() {
        let mut m = net(8, 0);
        step(&mut m, 60, 1);
        m.replan(BATCH).unwrap();
        let x = TestRng::new(61).vec(3 * SIDE * SIDE * 3);
        let err = m.forward(&x, 3, Mode::Infer, false).unwrap_err();
        assert!(err.message.contains("batch must be in 1..=2"), "{}", err.message);
        // An impossible size is refused before anything is freed: the model still works.
        let before = predict(&mut m);
        assert!(m.replan(0).is_err());
        assert_eq!(m.max_batch, BATCH);
        assert_bits_eq(&predict(&mut m), &before, "predictions after a refused re-plan");
        step(&mut m, 62, 2);
    }
}
