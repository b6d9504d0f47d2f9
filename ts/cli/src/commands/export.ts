/**
 * `lite-cnn export`: a model file as ONNX (`--format onnx`, one file) or as
 * a PyTorch module (`--format pytorch`, a folder with model.py and
 * model.safetensors). Files are written atomically.
 */
import { Command, Option } from 'commander';
import { ONNX_INPUT_NAME, ONNX_OPSET, ONNX_OUTPUT_NAME, PYTORCH_SOURCE_FILE, PYTORCH_WEIGHTS_FILE, savePytorch, writeFileAtomic, type Model } from '@lite-cnn/sdk';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { loadModel } from '../model/load.js';
import { makeOutput } from '../ui/output.js';
import { startEngine } from '../engine.js';

export const EXPORT_FORMATS = ['onnx', 'pytorch'] as const;
type ExportFormat = (typeof EXPORT_FORMATS)[number];

interface ExportOptions {
  model: string;
  format: ExportFormat;
  out: string;
  nchw?: boolean;
  json?: boolean;
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('write a model as ONNX (onnxruntime, Triton, TensorRT) or as a PyTorch module (model.py + model.safetensors)')
    .requiredOption('--model <file>', 'the model file (.safetensors) or an architecture (.json, exported with fresh weights)')
    .addOption(new Option('--format <format>', 'onnx: one .onnx file (opset 17); pytorch: a folder with model.py and model.safetensors').choices(EXPORT_FORMATS).makeOptionMandatory())
    .requiredOption('--out <path>', 'the .onnx file (onnx) or the folder (pytorch) to write')
    .option('--nchw', 'onnx: take PyTorch-style [batch, c, h, w] input instead of NHWC [batch, h, w, c]')
    .option('--json', 'print JSON (what was written)')
    .action(async (opts: ExportOptions) => {
      if (opts.nchw && opts.format !== 'onnx') throw new UsageError('--nchw applies to --format onnx (the PyTorch module always takes NCHW input)');
      const out = makeOutput(opts);
      const engine = await startEngine(1);
      const model = await loadModel(opts.model, engine);
      if (!model.built) await model.build();
      const written = opts.format === 'onnx' ? await writeOnnx(model, opts) : await writePytorch(model, opts.out);
      for (const f of written.files) out.line(`wrote ${f}`);
      out.line(`input ${written.input}, output ${written.output}`);
      out.result({ format: opts.format, ...written });
      await engine.shutdown();
    });
}

interface Written {
  files: string[];
  input: string;
  output: string;
}

const dims = (batch: string, shape: readonly number[]) => `[${[batch, ...shape].join(', ')}]`;

/** The flat `[batch, n]` shape of `[1, 1, n]` values, else spatial in `order`. */
function describe(shape: readonly [number, number, number], order: 'nhwc' | 'nchw'): string {
  const [h, w, c] = shape;
  if (h === 1 && w === 1) return dims('batch', [c]);
  return dims('batch', order === 'nhwc' ? [h, w, c] : [c, h, w]);
}

async function writeOnnx(model: Model, opts: ExportOptions): Promise<Written> {
  await writeFileAtomic(opts.out, model.toOnnx({ nchw: opts.nchw === true }));
  return {
    files: [opts.out],
    input: `'${ONNX_INPUT_NAME}' ${describe(model.inputShape, opts.nchw ? 'nchw' : 'nhwc')}`,
    output: `'${ONNX_OUTPUT_NAME}' ${describe(model.outputShape, 'nhwc')} (opset ${ONNX_OPSET})`,
  };
}

async function writePytorch(model: Model, dir: string): Promise<Written> {
  await savePytorch(model, dir);
  return {
    files: [join(dir, PYTORCH_SOURCE_FILE), join(dir, PYTORCH_WEIGHTS_FILE)],
    input: describe(model.inputShape, 'nchw'),
    output: describe(model.outputShape, 'nchw'),
  };
}
