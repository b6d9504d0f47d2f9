// "Baselines" section of docs/results.md (issue 12, item 7): the study's ImageNet ResNet50 and VGG16,
// fine-tuned on the BreakHis tiles as the study did — the last 20 layers trainable, a new 2-class head,
// `lite-cnn train --from` with its fine-tuning recipe, split by patient.
//
// With ImageNet ONNX files (--resnet50 PATH --vgg16 PATH; scripts/export-imagenet-onnx.py makes them):
// the fine-tuning runs and their test metrics. Without: the time side only, on randomly initialized
// applications.resnet50 / vgg16 (written here by the SDK) with the same freezing — seconds per
// fine-tuning epoch, ms per image, model size — next to the study's figures; their accuracy would mean
// nothing and is not shown. With --baseline-limit N, each split is cut to N images and the epoch time
// is scaled to the full training split (said so in the table).
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { one, table } from './format.mjs';

export const ARCHS = ['resnet50', 'vgg16'];
const TRAINABLE_LAST = '20';
/** The study's figures (CPU): ResNet50 6-8 min per epoch and 1.85 s per image, VGG16 1.75 s per image. */
const STUDY = { resnet50: { epoch: '6–8 min', perImage: '1.85 s' }, vgg16: { epoch: '—', perImage: '1.75 s' } };

async function trainingImages(splitCsv) {
  const [header, ...rows] = (await readFile(splitCsv, 'utf8')).split(/\r?\n/).filter((l) => l !== '');
  const col = header.split(',').indexOf('split');
  return rows.filter((r) => r.split(',')[col] === 'train').length;
}

/** A randomly initialized ImageNet-shaped network saved as a model file (the time side without weights). */
async function randomApplication(arch, file) {
  const sdk = await import('../../ts/sdk/dist/index.js');
  const engine = await sdk.Engine.create({ threads: 1 });
  try {
    const model = sdk.applications[arch]({ classes: 1000, seed: 0, engine });
    await model.build({ batchSize: 1 });
    model.metadata = { ...model.metadata, preprocessing: sdk.applications.TORCHVISION_PREPROCESSING };
    await model.save(file);
    model.dispose();
  } finally {
    await engine.shutdown();
  }
}

/**
 * Fine-tunes (or times) each network: `train --from`, then `evaluate --batch-size 1` for the
 * time per image. `weights` maps an arch to its ImageNet ONNX file, or nothing. A network that
 * fails (does not fit the engine) is a row saying so.
 */
export async function runBaselines({ cli, runs, data, weights, limit, batchSize }) {
  const results = [];
  for (const arch of ARCHS) {
    const pretrained = weights[arch] ?? null;
    try {
      results.push(await runBaseline({ arch, pretrained, cli, runs, data, limit, batchSize }));
    } catch (error) {
      // A network the engine cannot hold (VGG16's 138M weights with their gradients and Adam slots) is reported, not hidden.
      process.stderr.write(`baselines: ${arch} failed: ${error.message}\n`);
      results.push({ arch, pretrained, error: error.message.split('\n')[0] });
    }
  }
  return results;
}

async function runBaseline({ arch, pretrained, cli, runs, data, limit, batchSize }) {
  const from = pretrained ?? path.join(runs, `${arch}-random.safetensors`);
  if (!pretrained) await randomApplication(arch, from);
  const out = path.join(runs, `baseline-${arch}`);
  const cut = limit ? ['--limit', String(limit)] : [];
  const train = await cli(['train', '--from', from, '--trainable-last', TRAINABLE_LAST, '--data', data, '--batch-size', String(batchSize), ...(pretrained ? [] : ['--epochs', '1']), ...cut, '--out', out, '--json']);
  const model = path.join(out, 'model.safetensors');
  // ImageNet-sized networks plan more than the default 512 MiB load limit (its estimate counts training activations).
  const evaluation = await cli(['evaluate', '--model', model, '--data', data, '--batch-size', '1', '--limit', String(limit ?? 32), '--max-memory', '16384', '--json']);
  const config = JSON.parse(await readFile(path.join(out, 'config.json'), 'utf8'));
  const limitedTrain = config.data?.source?.splits?.find((s) => s.split === 'train')?.images ?? null;
  const fullTrain = await trainingImages(path.join(out, 'split.csv'));
  const epochSeconds = train.seconds.perEpoch?.[0] ?? train.seconds.training / train.epochs.completed;
  return {
    arch,
    pretrained,
    error: null,
    trainableLast: Number(TRAINABLE_LAST),
    epochSeconds: limitedTrain ? (epochSeconds * fullTrain) / limitedTrain : epochSeconds,
    scaledFrom: limitedTrain && limitedTrain !== fullTrain ? limitedTrain : null,
    fullTrain,
    msPerImage: evaluation.msPerImage,
    modelBytes: (await stat(model)).size,
    test: pretrained ? train.test : null,
  };
}

export function baselinesMarkdown(results, { load }) {
  const md = ['## Baselines: ImageNet ResNet50 and VGG16, last 20 layers fine-tuned', ''];
  const pretrained = results.some((r) => r.pretrained);
  md.push(
    'The study fine-tuned ImageNet ResNet50 and VGG16 (last 20 layers trainable). Here: `lite-cnn train --from NET --trainable-last 20` ' +
      '(a new 2-class head; Adam 1e-4, torchvision preprocessing, the study\'s augmentation, balanced class weights, split by patient) ' +
      'and `lite-cnn evaluate --batch-size 1` for the time per image.',
  );
  md.push('');
  if (!pretrained) {
    md.push(
      '*No ImageNet weights were given* (`--resnet50 PATH --vgg16 PATH`, made by `scripts/export-imagenet-onnx.py` on a machine that can download them), ' +
        'so this is the time side only: randomly initialized `applications.resnet50` / `vgg16` with the same freezing. Their accuracy would mean nothing and is not shown.',
    );
    md.push('');
  }
  md.push(
    table(
      ['network', 'weights', 's / fine-tuning epoch', 'ms / image (batch 1)', 'model file', 'study: time / epoch', 'study: time / image'],
      results.map((r) => [
        r.arch,
        r.pretrained ? 'ImageNet (ONNX)' : 'random',
        ...(r.error
          ? ['failed (below)', '—', '—']
          : [`${one(r.epochSeconds, 0)}${r.scaledFrom ? ` (measured on ${r.scaledFrom} images, scaled to ${r.fullTrain})` : ''}`, one(r.msPerImage, 1), `${one(r.modelBytes / 2 ** 20, 0)} MiB`]),
        STUDY[r.arch].epoch,
        STUDY[r.arch].perImage,
      ]),
    ),
  );
  md.push('');
  if (pretrained) {
    md.push(table(['network', 'test accuracy', 'malignant recall', 'AUC'], results.filter((r) => r.test?.accuracy !== undefined).map((r) => [r.arch, `${one(r.test.accuracy, 1, 100)}%`, r.test.positive ? `${one(r.test.positive.recall, 1, 100)}%` : 'n/a', one(r.test.auc, 3)])));
    md.push('');
  }
  for (const r of results.filter((x) => x.error)) md.push(`- **${r.arch} failed**: \`${r.error}\``, '');
  md.push(`Load average when the section started: ${load.map((x) => x.toFixed(1)).join(', ')} (1, 5, 15 min).`);
  md.push('');
  return md;
}
