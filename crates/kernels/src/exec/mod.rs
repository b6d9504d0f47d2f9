//! The training executor: TypeScript describes a model once (`spec`: a graph
//! of steps), the executor plans it (`ops`: one module per step kind; `graph`:
//! schedules and buffer placement; `model`: the buffers and the passes) and
//! then runs a whole training step — forward, loss, backward, penalty,
//! clipping and the optimizer update — or an inference batch as one call.

pub mod abi;
pub mod fusion;
pub mod graph;
pub mod model;
pub mod ops;
pub mod profile;
pub mod spec;
pub mod train_fusion;
pub mod trainable;

pub use model::{Model, StepStats, StepTargets};
pub use ops::{BufferKind, Mode, Role, Shape3, Step, Tensor};
pub use spec::{StepNode, StepSpec, TrainSpec};

#[cfg(any(test, feature = "selftest"))]
pub(crate) mod tests;
#[cfg(any(test, feature = "selftest"))]
pub(crate) mod fusion_tests;
#[cfg(any(test, feature = "selftest"))]
pub(crate) mod train_fusion_tests;
#[cfg(any(test, feature = "selftest"))]
pub(crate) mod trainable_tests;
#[cfg(any(test, feature = "selftest"))]
pub(crate) mod frozen_prefix_tests;
#[cfg(any(test, feature = "selftest"))]
pub(crate) mod replan_tests;
#[cfg(any(test, feature = "selftest"))]
pub(crate) mod profile_tests;
