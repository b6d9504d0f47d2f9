/**
 * A lite-cnn model as a PyTorch module: `model.py` (an `nn.Module` taking
 * NCHW input, with `load()`) and `model.safetensors` (its state dict: OIHW
 * convolutions, `[out, in]` linear weights, BatchNorm running statistics).
 * The module computes what `model.predict` does; see docs/scaling.md for
 * training it further with torchrun.
 */
import { encodeSafetensors } from '../../io/safetensors.js';
import { writeFileAtomic } from '../../io/atomic-write.js';
import type { Model } from '../../model/model.js';
import { exportedModel, type ExportedLayer } from '../exported-model.js';
import { isFlatShape } from '../layouts.js';
import { TorchLayerContext, type TorchLayerExporter } from './layer-context.js';
import { ModuleBuilder } from './module-builder.js';
import { pythonSource } from './python-source.js';
import { PYTORCH_EXPORTERS } from './table.js';
import { TorchValue } from './values.js';

export interface PytorchExport {
  /** The text of model.py. */
  source: string;
  /** model.safetensors: the module's state dict. */
  weights: Uint8Array;
}

export const PYTORCH_SOURCE_FILE = 'model.py';
export const PYTORCH_WEIGHTS_FILE = 'model.safetensors';

export function modelToPytorch(model: Model): PytorchExport {
  const m = exportedModel(model, 'PyTorch export');
  const module = new ModuleBuilder();
  const [h, w, c] = m.inputShape;
  const flatInput = isFlatShape(m.inputShape);
  // `x`: forward's parameter (reserved, so no layer takes the name).
  const input = new TorchValue(module.emit, m.inputShape, flatInput ? 'flat' : 'nchw', 'x');
  const values: TorchValue[] = [];
  for (const layer of m.layers) values.push(exportLayer(layer, layer.inputs.map((j) => (j < 0 ? input : values[j]!)), module));
  const last = values.at(-1)!;
  const flatOutput = isFlatShape(last.shape);
  const [oh, ow, oc] = last.shape;
  const output = last.as(flatOutput ? 'flat' : 'nchw');
  const source = pythonSource({
    modelName: m.name || 'model',
    inputShape: flatInput ? [c] : [c, h, w],
    outputDescription: flatOutput ? `[batch, ${oc}]` : `[batch, ${oc}, ${oh}, ${ow}] (NCHW)`,
    metadata: m.metadata,
    submodules: module.submodules,
    forward: module.forward,
    output,
  });
  return { source, weights: encodeSafetensors(module.stateDict, { format: 'pt' }) };
}

/** Writes `dir/model.py` and `dir/model.safetensors` (each atomically; `dir` is created when missing). Node only. */
export async function savePytorch(model: Model, dir: string): Promise<void> {
  const { source, weights } = modelToPytorch(model);
  const path = await import('node:path');
  await writeFileAtomic(path.join(dir, PYTORCH_WEIGHTS_FILE), weights, { makeDirs: true });
  await writeFileAtomic(path.join(dir, PYTORCH_SOURCE_FILE), source);
}

function exportLayer(layer: ExportedLayer, reads: TorchValue[], module: ModuleBuilder): TorchValue {
  // The table's row for this kind, whose config type the lookup cannot narrow by itself.
  const exporter = PYTORCH_EXPORTERS[layer.config.kind] as TorchLayerExporter<typeof layer.config>;
  return exporter(new TorchLayerContext(layer, reads, module));
}
