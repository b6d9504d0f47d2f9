//! The training executor: TypeScript describes a model once (`spec`), the
//! executor plans it (`model`: shapes, tensor placement, buffers) and then runs
//! a whole training step — forward, loss, backward, penalty, clipping and the
//! optimizer update — or an inference batch as one call. Layer dispatch lives
//! in `layer`.

pub mod layer;
pub mod model;
pub mod spec;

pub use layer::{BufferKind, Mode, Role, Shape3, Tensor};
pub use model::{Model, StepStats, StepTargets};
pub use spec::{LayerSpec, TrainSpec};

#[cfg(any(test, feature = "selftest"))]
pub(crate) mod tests;
