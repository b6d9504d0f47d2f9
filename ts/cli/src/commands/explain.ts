/**
 * `lite-cnn explain`: why a model predicts what it predicts, per image file.
 *
 * Writes into `--out`, per image `<stem>` (its file name without extension;
 * `-2`, `-3`... when two inputs share a name):
 *
 * - `<stem>.gradcam.png`: the Grad-CAM heatmap over the image, at the image's
 *   original resolution (capped at 4096 px on the longer side): the
 *   layer-resolution map resized bilinearly to that size, max-normalized,
 *   coloured and blended by the SDK (`resizeBilinear`, `normalizeMax`,
 *   `overlay`). The model saw the image squashed to its input size, so the
 *   map is stretched back the same way.
 * - `<stem>.heatmap.png`: the raw map at the layer's resolution, one cell per
 *   `s × s` block (nearest neighbour, `s` = the integer factor bringing the
 *   longer side to 256 px), max-normalized and coloured.
 * - `<stem>.heatmap.json`: the raw map's values (row-major) and what they explain.
 * - `<stem>.features-<layer>.png` for every Conv2D layer: its channels in a
 *   near-square grid, each min-max normalized (grey), 1 px blue separators, tiles
 *   enlarged (nearest neighbour) to about 64 px.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import {
  featureMaps, gradCam, heatmapToRgba, normalizeMax, overlay, resizeBilinear, writeFileAtomic,
  type ColormapName, type FeatureMaps, type GradCamMap,
} from '@lite-cnn/sdk';
import * as parse from '../args.js';
import { startEngine } from '../engine.js';
import { decodeForModel, decodeRgb, overlaySize, storedSize } from '../explain/inputs.js';
import { alpha, COLORMAPS } from '../explain/options.js';
import { encodePng, enlarge, featureGrid, HEATMAP_TARGET, scaleFor } from '../explain/render.js';
import { classNames, convLayers, resolveClass, resolveLayer, safeName, stems, type LayerInfo } from '../explain/targets.js';
import { loadClassifier, maxMemoryOption } from '../model/load.js';
import { RunError } from '../errors.js';
import { percent } from '../ui/format.js';
import { makeOutput } from '../ui/output.js';
import { describeCalibration } from '../model/calibration.js';

interface ExplainOptions {
  model: string;
  out: string;
  layer?: string;
  class?: string;
  colormap: ColormapName;
  alpha: number;
  threads?: number;
  maxMemory?: number;
  json?: boolean;
}

/** Images explained per pass (bounds the memory of the float inputs and feature maps). */
const CHUNK = 16;

export function registerExplain(program: Command): void {
  program
    .command('explain')
    .description('explain predictions on image files: Grad-CAM heatmaps and convolution feature maps as PNG (and the raw map as JSON)')
    .argument('<image...>', 'image files (png, jpg, tif, bmp)')
    .requiredOption('--model <file>', 'model file (.safetensors)')
    .requiredOption('--out <dir>', 'output directory (created): <stem>.gradcam.png, <stem>.heatmap.png, <stem>.heatmap.json, <stem>.features-<layer>.png')
    .option('--layer <name>', 'layer to explain, by name or index (default: the output of the last convolution block)')
    .option('--class <name>', 'class to explain, by name or index (default: each image\'s predicted class)')
    .addOption(new Option('--colormap <name>', 'heatmap colours').choices(COLORMAPS).default('jet'))
    .option('--alpha <a>', 'heatmap opacity over the image, in [0, 1]', alpha, 0.45)
    .option('--threads <n>', 'compute threads (default: all cores)', parse.positiveInt)
    .addOption(maxMemoryOption())
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nThe overlay (<stem>.gradcam.png) has the image\'s original size (at most 4096 px on the longer side);\n' +
        'the raw heatmap PNG has the layer\'s resolution enlarged by an integer factor (crisp cells).',
    )
    .action(async (images: string[], opts: ExplainOptions) => {
      const out = makeOutput(opts);
      const engine = await startEngine(opts.threads);
      try {
        const model = await loadClassifier(opts.model, engine, { maxMemory: opts.maxMemory, command: 'explain' });
        const layer = resolveLayer(model, opts.layer);
        const forced = resolveClass(model, opts.class);
        const names = classNames(model);
        const convs = convLayers(model);
        const threshold = model.metadata.threshold;
        const inputs = await decodeForModel(images, model);
        const sizes: [number, number][] = [];
        for (const p of images) sizes.push(await storedSize(p));
        try {
          await mkdir(opts.out, { recursive: true });
        } catch (cause) {
          throw new RunError(`cannot create the output directory ${opts.out}: ${(cause as Error).message}`, { cause });
        }
        if (model.metadata.calibration) out.line(`probabilities calibrated (stored in the model): ${describeCalibration(model.metadata.calibration)}`);
        if (threshold) out.line(`decision threshold (stored in the model): ${threshold.value} on '${names[threshold.positiveClass] ?? threshold.positiveClass}'`);

        const fileStems = stems(images);
        const rows: unknown[] = [];
        for (let start = 0; start < images.length; start += CHUNK) {
          const end = Math.min(images.length, start + CHUNK);
          const x = inputs.tensor(start, end);
          const cam = await gradCam(model, x, { layer: layer.index, ...(forced !== undefined ? { classIndex: forced } : {}) });
          // The model's decision, from the outputs Grad-CAM's forward pass already computed.
          const predicted = cam.maps.map((m) => model.classesFromProbabilities(m.probabilities)[0]!);
          const features: FeatureMaps[] = [];
          for (const conv of convs) features.push(await featureMaps(model, x, conv.index));
          for (let s = 0; s < end - start; s++) {
            const i = start + s;
            const map = cam.maps[s]!;
            const probs = classProbabilities(map.probabilities);
            const files = await writeImageOutputs({
              dir: opts.out, stem: fileStems[i]!, image: images[i]!, size: sizes[i]!, map, heatmapSize: cam.heatmapSize, inputSize: cam.size,
              layer, score: cam.score, names, probs, features, sample: s, colormap: opts.colormap, alpha: opts.alpha,
            });
            const cls = predicted[s]!;
            rows.push({
              file: images[i],
              class: names[cls],
              classIndex: cls,
              probabilities: Object.fromEntries(probs.map((p, j) => [names[j], p])),
              threshold: threshold ? { class: names[threshold.positiveClass], value: threshold.value } : null,
              explained: { class: names[map.classIndex], classIndex: map.classIndex, layer: layer.name, score: cam.score },
              outputs: files,
            });
            out.line(`${images[i]}: ${names[cls]}  (${probs.map((p, j) => `${names[j]} ${percent(p, 1)}`).join(', ')})`);
            out.line(`  Grad-CAM of '${names[map.classIndex]}' at ${layer.name} (${cam.heatmapSize.join('x')}): ${files.gradcam}, ${files.heatmap}, ${files.heatmapJson}`);
            if (files.features.length) out.line(`  feature maps: ${files.features.map((f) => f.file).join(', ')}`);
          }
        }
        inputs.free();
        out.result(rows);
      } finally {
        await engine.shutdown();
      }
    });
}

/** One probability per class: a single sigmoid unit `p` is the two classes `[1 − p, p]`. */
function classProbabilities(output: Float32Array): number[] {
  return output.length === 1 ? [1 - output[0]!, output[0]!] : Array.from(output);
}

interface ImageOutputs {
  dir: string;
  stem: string;
  image: string;
  /** The file's `[h, w]`. */
  size: [number, number];
  map: GradCamMap;
  heatmapSize: [number, number];
  inputSize: [number, number];
  layer: LayerInfo;
  score: 'logit' | 'output';
  names: string[];
  probs: number[];
  features: FeatureMaps[];
  /** This image's position in the feature maps' batch. */
  sample: number;
  colormap: ColormapName;
  alpha: number;
}

async function writeImageOutputs(o: ImageOutputs): Promise<{ gradcam: string; heatmap: string; heatmapJson: string; features: { layer: string; file: string }[] }> {
  const path = (suffix: string) => join(o.dir, `${o.stem}.${suffix}`);
  const [h, w] = o.heatmapSize;
  const [H, W] = overlaySize(o.size);

  const gradcam = path('gradcam.png');
  const shown = normalizeMax(resizeBilinear(o.map.heatmap, h, w, H, W));
  const rgb = await decodeRgb(o.image, [H, W]);
  await writeFileAtomic(gradcam, await encodePng(overlay(rgb, shown, o.alpha, { colormap: o.colormap }), W, H, 4));

  const heatmap = path('heatmap.png');
  const s = scaleFor(h, w, HEATMAP_TARGET);
  const cells = heatmapToRgba(normalizeMax(o.map.heatmap), { colormap: o.colormap });
  await writeFileAtomic(heatmap, await encodePng(enlarge(cells, h, w, 4, s), w * s, h * s, 4));

  const heatmapJson = path('heatmap.json');
  const doc = {
    image: o.image,
    layer: o.layer.name,
    layerIndex: o.layer.index,
    classIndex: o.map.classIndex,
    className: o.names[o.map.classIndex],
    score: o.score,
    shape: [h, w],
    values: Array.from(o.map.heatmap),
    upsampledShape: [H, W],
    inputShape: o.inputSize,
    classNames: o.names,
    probabilities: o.probs,
  };
  await writeFileAtomic(heatmapJson, `${JSON.stringify(doc)}\n`);

  const features: { layer: string; file: string }[] = [];
  for (const f of o.features) {
    const [, fh, fw, fc] = f.shape;
    const per = fh * fw * fc;
    const grid = featureGrid(f.data.subarray(o.sample * per, (o.sample + 1) * per), fh, fw, fc);
    const file = path(`features-${safeName(f.layer.name)}.png`);
    await writeFileAtomic(file, await encodePng(grid.rgba, grid.width, grid.height, 4));
    features.push({ layer: f.layer.name, file });
  }
  return { gradcam, heatmap, heatmapJson, features };
}
