/**
 * @lite-cnn/sdk — the public API. Everything users can reach is exported
 * from here; nothing else is part of the package's surface.
 */
export { LiteCnnError, ShapeError, ConfigError, DataError, ModelFormatError, RuntimeError, NonFiniteOutputError, OutOfMemoryError, MAX_ERROR_MESSAGE } from './errors.js';
export { Engine, type EngineOptions, type GemmArgs, type ThreadProbe } from './runtime/engine.js';
export { F32Buffer } from './runtime/buffer.js';
export type { ArtifactChoice, ArtifactKind, WasmSource } from './runtime/artifact.js';
export { setWasmPaths, type AssetLocations, type AssetName } from './runtime/asset-paths.js';
export { ErrorCode } from './runtime/error-codes.js';
export { readIdx, parseIdx, type IdxArray, type IdxDtype, type IdxOptions } from './data/idx.js';
export { loadMnist, type MnistData, type MnistSplit, type MnistOptions } from './data/mnist.js';
export { encodeSafetensors, decodeSafetensors, readSafetensorsMetadata, withSafetensorsMetadata, type SafetensorsTensor, type SafetensorsEntry, type SafetensorsFile, type SafetensorsDtype, type SafetensorsDecodeOptions } from './io/safetensors.js';
export {
  CompiledModel,
  type ModelDescription,
  type StepDescription,
  type TrainDescription,
  type OptimizerDescription,
  type TensorPlacement,
  type TensorRole,
  type StepStats,
  type StepInput,
} from './exec/compiled-model.js';
export { StepKind, EXECUTOR_ABI } from './exec/abi.js';
export { confusionMatrix, classificationReport, formatClassificationReport, rocCurve, rocAuc, rocAucOvr, thresholdForRecall, classScores, calibrationMetrics, MetricAccumulator, groupOutputs, poolGroups, decideClasses, subtypeRecall, GROUP_AGGREGATIONS, type GroupAggregation, type GroupOutputsOptions, type GroupedOutputs, type PooledOutputs, type SubtypeRecall, type ClassificationReport, type ClassificationReportOptions, type ClassMetrics, type AveragedMetrics, type DecisionRule, type FormatReportOptions, type RocCurve, type RecallThreshold, type CalibrationMetrics, type CalibrationMetricsOptions, type ReliabilityBin, type MetricAccumulatorOptions, type MetricBatch, type AccumulatedMetrics } from './metrics/index.js';
export { defaultEngine, setDefaultEngine } from './runtime/default-engine.js';
export { Conv2D, type Conv2DArgs, type Conv2DConfig } from './layers/conv2d.js';
export { Dense, type DenseArgs, type DenseConfig } from './layers/dense.js';
export { BatchNormalization, type BatchNormalizationArgs, type BatchNormalizationConfig } from './layers/batch-normalization.js';
export { ReLU, LeakyReLU, Softmax, Activation, type ActivationArgs, type LeakyReLUArgs, type ReLUArgs, type ActivationConfig } from './layers/activation-layers.js';
export { DepthwiseConv2D, type DepthwiseConv2DArgs, type DepthwiseConv2DConfig } from './layers/depthwise-conv2d.js';
export { Add, Average, Concatenate, Multiply, type MergeArgs, type ConcatenateArgs, type AddConfig, type AverageConfig, type ConcatenateConfig, type MultiplyConfig } from './layers/merge.js';
export { ZeroPadding2D, type ZeroPadding2DArgs, type ZeroPadding2DConfig } from './layers/zero-padding.js';
export { input, SymbolicTensor, type InputArgs } from './layers/symbolic.js';
export { MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, type Pooling2DArgs, type Pooling2DConfig, type GlobalAveragePooling2DConfig } from './layers/pooling.js';
export { Flatten, Dropout, type DropoutArgs, type FlattenConfig, type DropoutConfig } from './layers/reshape-layers.js';
export { Layer, type BaseLayerArgs, type BaseLayerConfig, type ParamSpec } from './layers/layer.js';
export { layerFromConfig, type LayerConfig, type AnyLayer } from './layers/config.js';
export type { ActivationName } from './layers/activations.js';
export type { Initializer, InitializerName, InitializerArg } from './layers/initializers.js';
export { l2, studyL2, type L2Regularizer } from './layers/regularizers.js';
export type { Shape3, Padding, PaddingArg, ExplicitPadding } from './layers/shape.js';
export { Model, type ModelArgs, type ModelOptions, type CompileArgs } from './model/model.js';
export { METRIC_NAMES, type MetricName } from './model/pass-metrics.js';
export { Sequential, type SequentialOptions } from './model/sequential.js';
export { modelToPytorch, savePytorch, PYTORCH_SOURCE_FILE, PYTORCH_WEIGHTS_FILE, type PytorchExport } from './interop/pytorch/index.js';
export { ONNX_OPSET, ONNX_INPUT_NAME, ONNX_OUTPUT_NAME, type OnnxExportOptions } from './interop/onnx/export/index.js';
export { ONNX_METADATA_KEY, ONNX_INPUT_LAYOUT_KEY, type OnnxInputLayout } from './interop/onnx/metadata.js';
export type { FitArgs } from './model/fit.js';
export { formatProfile, type ModelProfile, type LayerProfile, type ProfileArgs } from './model/profile.js';
export { History, type Logs } from './model/history.js';
export { SGD, Adam, AdamW, Optimizer, type SGDArgs, type AdamArgs, type AdamWArgs, type OptimizerConfig, type OptimizerName } from './model/optimizers.js';
export type { LossName, LossArg, LossConfig } from './model/losses.js';
export { ArrayDataset, type Dataset, type DataBatch, type BatchOptions, type TensorLike, type LabelsLike } from './model/data.js';
export { STAIN_NORMALIZATION_KINDS, type ModelMetadata, type PreprocessingConfig, type StainNormalizationConfig, type StainNormalizationKind } from './model/metadata.js';
export { calibrateProbabilities, carryThreshold, fitCalibration, fitTemperature, fitPlatt, CALIBRATION_KINDS, MIN_TEMPERATURE, MAX_TEMPERATURE, type CalibrationConfig, type CalibrationKind, type CalibrationFit } from './calibration/index.js';
export { predictWithTta, ttaViews, applyView, TTA_MODES, type TtaMode, type TtaOptions, type View as TtaView, type Predictor } from './inference/tta.js';
export { fitStainNormalization, normalizeStains, stainTarget, fitDatasetStains, stainNormalizedDataset, fitStainDistribution, fitDatasetStainDistribution, type StainDistribution, type StainOptions } from './stain/index.js';
export type { ParamCounts } from './model/summary.js';
export { Callback, type TrainingModel, type TrainingProgress } from './callbacks/callback.js';
export { EarlyStopping, type EarlyStoppingArgs } from './callbacks/early-stopping.js';
export { ModelCheckpoint, type ModelCheckpointArgs, type CheckpointInfo } from './callbacks/model-checkpoint.js';
export { BackupAndRestore, BACKUP_FILE, type BackupAndRestoreArgs, type BackupStorage } from './callbacks/backup-and-restore.js';
export { LearningRateScheduler, type Schedule } from './callbacks/lr-scheduler.js';
export { stepDecay, exponentialDecay, cosineDecay, type StepDecayArgs, type ExponentialDecayArgs, type CosineDecayArgs } from './callbacks/schedules.js';
export { ReduceLROnPlateau, type ReduceLROnPlateauArgs } from './callbacks/reduce-lr-on-plateau.js';
export { CSVLogger, type CSVLoggerOptions, type CSVLoggerSinkOptions } from './callbacks/csv-logger.js';
export { TerminateOnNaN } from './callbacks/terminate-on-nan.js';
export { ProgressLogger, type ProgressEvent, type ProgressListener, type ProgressLoggerOptions } from './callbacks/progress.js';
export type { MonitorMode } from './callbacks/monitor.js';
export { writeFileAtomic, type WriteFileAtomicOptions } from './io/atomic-write.js';
export { MAX_BATCH_SIZE } from './checks.js';
export { DEFAULT_LOAD_LIMITS, plannedBytes, type LoadLimits } from './io/load-limits.js';
export type { DecodeModelOptions } from './io/model-file.js';
export { permutation } from './runtime/rng.js';
export { featureMaps, gradCam, heatmapToRgba, overlay, resizeBilinear, normalizeMax, featureMapGrid, type FeatureGrid, type FeatureGridOptions, type FeatureMaps, type GradCamOptions, type GradCamResult, type GradCamMap, type ColormapName, type ColormapOptions, type LayerRef } from './explain/index.js';
export { type ImageSample, type ImageListing, IMAGE_EXTENSIONS, isImageFile } from './data/samples.js';
export { listImageFolder, type ImageFolderOptions, type ImageFolderListing } from './data/image-folder.js';
export { readManifest, parseManifest, manifestKey, type Manifest, type ManifestEntry, type ManifestOptions } from './data/manifest.js';
export { listBreakhis, parseBreakhisName, breakhisPersonId, BREAKHIS_MAGNIFICATIONS, type BreakhisName, type BreakhisOptions, type BreakhisListing } from './data/breakhis.js';
export { parseCsv, formatCsv, type CsvTable } from './data/csv.js';
export { decodeImage, decodeImages, type AspectPolicy, type BadImagePolicy, type DecodeOptions, type DecodeManyOptions, type DecodedImages, type SkippedImage } from './data/decode.js';
export { splitSamples, groupKFold, writeSplitCsv, readSplitCsv, parseSplitCsv, copySplit, SPLIT_NAMES, type SplitName, type SplitRatios, type SplitOptions, type SplitAssignment, type GroupFold, type GroupKFoldOptions, type SplitCsvOptions } from './data/split.js';
export { seededPermutation } from './data/seeded-shuffle.js';
export { classCounts, oversampledOrder } from './data/balance.js';
export { MIX_KINDS, mixedBatches, type MixKind, type MixArgs, type MixedBatchesOptions, type MixedDataset } from './data/mix.js';
export { ImageDataset, channelStats, type ImageDatasetOptions, type ImageDatasetInit, type FromSamplesOptions, type ImageBatchOptions, type PositionBatchOptions, type ChannelStats } from './data/image-dataset.js';
export { WasmImageTransformer, studyAugmentation, resolveAugmentation, type AugmentationConfig, type ResolvedAugmentation, type StainRandomization, type ResolvedStainRandomization, type FillMode, type WasmImageTransformerOptions, type TransformImagesArgs } from './data/augment.js';
export type { ImageBatch, ImageBatchTransformer, StagedTransform } from './data/transform.js';
export { mnistDataset, MNIST_CLASS_NAMES, type MnistDatasetOptions } from './data/mnist-dataset.js';
export { mnistNetLayers, breakhisNetLayers } from './presets.js';
export * as applications from './applications/index.js';
export type { Topology as ModelConfig } from './io/model-file.js';
export { importOnnx, readOnnx, SUPPORTED_OPS as ONNX_IMPORT_OPS, SUPPORTED_OPSETS as ONNX_IMPORT_OPSETS, type ImportOnnxOptions, type OnnxImport } from './interop/onnx/import/index.js';
export { withNewHead, freezeAllButLast, type NewHeadOptions } from './model/fine-tune.js';
export { ensembleMemberIssue, ensembleModels, ENSEMBLE_OUTPUT_LAYER, type EnsembleOptions } from './model/ensemble.js';
