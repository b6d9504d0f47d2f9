/**
 * @lite-cnn/sdk — the public API. Everything users can reach is exported
 * from here; nothing else is part of the package's surface.
 */
export { LiteCnnError, ShapeError, ConfigError, DataError, ModelFormatError, RuntimeError } from './errors.js';
export { Engine, type EngineOptions, type GemmArgs, type ThreadProbe } from './runtime/engine.js';
export { F32Buffer } from './runtime/buffer.js';
export type { ArtifactKind, WasmSource } from './runtime/artifact.js';
export { ErrorCode } from './runtime/error-codes.js';
export { readIdx, parseIdx, type IdxArray, type IdxDtype, type IdxOptions } from './data/idx.js';
export { loadMnist, type MnistData, type MnistSplit, type MnistOptions } from './data/mnist.js';
export {
  CompiledModel,
  type ModelDescription,
  type LayerDescription,
  type TrainDescription,
  type OptimizerDescription,
  type TensorPlacement,
  type TensorRole,
  type StepStats,
  type StepInput,
} from './exec/compiled-model.js';
export { LayerKind } from './exec/abi.js';
