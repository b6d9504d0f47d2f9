//! Per-step profiling (`exec::profile`): what each pass records, fused steps
//! included, and that it records nothing while off.

use super::model::{Model, StepTargets};
use super::ops::{Mode, Shape3};
use super::profile::Direction;
use super::spec::StepSpec;
use super::tests::{bn, conv, dense, init, sgd0};
use crate::selftest::util::TestRng;

const BATCH: usize = 4;

/// Conv → BatchNorm → ReLU (fused into the convolution for inference) →
/// Flatten (an alias, never run) → Dense → Softmax.
fn profiled_model() -> Model {
    use StepSpec::*;
    let mut m = Model::chain(Shape3 { h: 12, w: 12, c: 3 }, BATCH, &[conv(8, 3, 1), bn(), Relu, Flatten, dense(3), Softmax]).unwrap();
    init(&mut m, 3);
    m.configure(sgd0(), &[], &[]).unwrap();
    m
}

crate::kernel_tests! {
    fn profile_records_each_run_step_and_none_while_off() {
        let mut m = profiled_model();
        let x = TestRng::new(4).vec(BATCH * 12 * 12 * 3);
        m.forward(&x, BATCH, Mode::Infer, false).unwrap();
        assert!(m.step_times().is_none(), "profiling is off by default");

        m.set_profiling(true);
        let t = m.step_times().unwrap();
        assert_eq!(t.steps(), 6);
        assert!(t.ms(Direction::Forward).iter().all(|&ms| ms == 0.0), "a new profile starts from zero");
        for _ in 0..3 {
            m.forward(&x, BATCH, Mode::Infer, false).unwrap();
        }
        let t = m.step_times().unwrap();
        // Fused inference: the convolution runs with BatchNorm folded in and
        // the ReLU in its epilogue; Flatten aliases its input.
        assert_eq!(t.runs(Direction::Forward), &[3, 0, 0, 0, 3, 3], "forward runs per step");
        assert!(t.ms(Direction::Forward)[0] > 0.0, "the convolution took some time");
        for (ms, runs) in t.ms(Direction::Forward).iter().zip(t.runs(Direction::Forward)) {
            assert!(ms.is_finite() && *ms >= 0.0 && (*runs > 0 || *ms == 0.0), "{ms} ms over {runs} runs");
        }
        assert!(t.runs(Direction::Backward).iter().all(|&r| r == 0), "inference has no backward pass");

        // On again: from zero. A training step runs the unfolded BatchNorm
        // and every backward step.
        m.set_profiling(true);
        let labels = [0, 1, 2, 1];
        m.train_step(&x, StepTargets::Labels(&labels), BATCH, 0.0, 1, 9).unwrap();
        let t = m.step_times().unwrap();
        let (fwd, bwd) = (t.runs(Direction::Forward), t.runs(Direction::Backward));
        assert!(fwd[0] == 1 && fwd[1] == 1 && fwd[3] == 0 && fwd[4] == 1, "training forward runs {fwd:?}");
        assert!(bwd[0] == 1 && bwd[1] == 1 && bwd[4] == 1, "training backward runs {bwd:?}");
        assert!(t.ms(Direction::Backward)[0] > 0.0, "the convolution's backward took some time");

        m.set_profiling(false);
        assert!(m.step_times().is_none());
        m.forward(&x, BATCH, Mode::Infer, false).unwrap();
        assert!(m.step_times().is_none(), "off records nothing");
    }
}
