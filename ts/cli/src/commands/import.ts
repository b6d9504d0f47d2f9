/** `lite-cnn import model.onnx --out model.safetensors`: an ONNX file as a lite-cnn model file, with its summary and the ops found. */
import path from 'node:path';
import { Command } from 'commander';
import { ONNX_IMPORT_OPS, ONNX_IMPORT_OPSETS } from '@lite-cnn/sdk';
import { startEngine } from '../engine.js';
import { UsageError } from '../errors.js';
import { importOnnxFile, isOnnxPath } from '../model/load.js';
import { count } from '../ui/format.js';
import { makeOutput } from '../ui/output.js';

interface ImportOptions {
  out: string;
  json?: boolean;
}

export function registerImport(program: Command): void {
  program
    .command('import')
    .description('import an ONNX model (e.g. torch.onnx.export of a torchvision CNN) as a lite-cnn model file')
    .argument('<model.onnx>', 'the ONNX file (self-contained: no external data)')
    .requiredOption('--out <model.safetensors>', 'where to write the lite-cnn model file')
    .option('--json', 'print a JSON summary (ops found, opset, parameters)')
    .addHelpText(
      'after',
      `
Supported: opsets ${ONNX_IMPORT_OPSETS.min}-${ONNX_IMPORT_OPSETS.max}; ops ${ONNX_IMPORT_OPS.join(', ')}.
BatchNorm-folded (torch.onnx.export in eval mode) and BatchNorm-preserving exports both import.
The model takes NHWC input like every lite-cnn model; weights move from OIHW to HWIO.

Examples:
  lite-cnn import resnet50.onnx --out resnet50.safetensors
  lite-cnn train --from resnet50.onnx --trainable-last 20 --data DIR --preprocess torchvision`,
    )
    .action(async (file: string, opts: ImportOptions) => {
      if (!isOnnxPath(file)) throw new UsageError(`import reads an .onnx file, got '${file}'`);
      const out = makeOutput(opts);
      const engine = await startEngine(null);
      const imported = await importOnnxFile(path.resolve(file), engine);
      const { model } = imported;
      await model.save(path.resolve(opts.out));
      const ops = Object.fromEntries([...imported.ops].sort(([a], [b]) => a.localeCompare(b)));
      const params = model.countParams();
      if (opts.json) {
        out.result({ file, out: opts.out, opset: imported.opset, producer: imported.producer, ops, inputShape: model.inputShape, outputShape: model.outputShape, layers: model.layers.length, params });
      } else {
        model.summary((text) => out.line(text));
        out.line(`ONNX opset ${imported.opset}${imported.producer ? `, made by ${imported.producer}` : ''}; ops found: ${Object.entries(ops).map(([op, n]) => `${op} x${n}`).join(', ')}`);
        out.line(`Wrote ${opts.out}: ${model.layers.length} layers, ${count(params.total)} parameters, input [${model.inputShape.join(', ')}] (NHWC)`);
      }
      await engine.shutdown();
    });
}
