/**
 * What `lite-cnn explain` looks at: `--layer` and `--class` resolved against
 * the model (with errors that list what it has), the convolution layers whose
 * feature maps are drawn, and the output file names.
 */
import { basename, extname } from 'node:path';
import type { Model } from '@lite-cnn/sdk';
import { RunError } from '../errors.js';

export interface LayerInfo {
  index: number;
  name: string;
  kind: string;
  /** `[h, w, c]` per sample. */
  shape: [number, number, number];
}

export function layerInfos(model: Model): LayerInfo[] {
  const shapes = model.plan().shapes;
  return model.layers.map((l, index) => ({ index, name: l.name, kind: l.kind, shape: [...shapes[index]!] as [number, number, number] }));
}

function describe(l: LayerInfo): string {
  return `${l.name} (${l.kind}, ${l.shape.join('x')})`;
}

/** Layers with a spatial output (h·w > 1): what Grad-CAM can localize on. */
export function spatialLayers(model: Model): LayerInfo[] {
  return layerInfos(model).filter((l) => l.shape[0] * l.shape[1] > 1);
}

export function convLayers(model: Model): LayerInfo[] {
  return layerInfos(model).filter((l) => l.kind === 'Conv2D');
}

/**
 * `--layer`: a layer name, or an index into the model's layers; it must have
 * a spatial output. Undefined: the SDK's default, the last spatial layer
 * (the output of the last convolution block, its activation and pooling
 * included).
 */
export function resolveLayer(model: Model, layer: string | undefined): LayerInfo {
  const spatial = spatialLayers(model);
  const usable = spatial.length ? spatial.map(describe).join(', ') : '(none: the model has no layer with a spatial output)';
  if (layer === undefined) {
    const last = spatial.at(-1);
    if (!last) throw new RunError(`model '${model.name}' has no layer with a spatial output (h·w > 1) to explain`);
    return last;
  }
  const all = layerInfos(model);
  const found = all.find((l) => l.name === layer) ?? (/^\d+$/.test(layer) ? all[Number(layer)] : undefined);
  if (!found) throw new RunError(`--layer '${layer}': the model has no such layer; layers Grad-CAM can use: ${usable}`);
  if (!spatial.some((l) => l.index === found.index)) {
    throw new RunError(`--layer '${layer}': ${describe(found)} has no spatial extent to localize on; layers Grad-CAM can use: ${usable}`);
  }
  return found;
}

/** The model's class names, or `0`, `1`, ... when its file has none. */
export function classNames(model: Model): string[] {
  const stored = model.metadata.classNames;
  return stored && stored.length === model.classes ? [...stored] : Array.from({ length: model.classes }, (_, i) => String(i));
}

/** `--class`: a class name, else an index; undefined explains each image's predicted class. */
export function resolveClass(model: Model, spec: string | undefined): number | undefined {
  if (spec === undefined) return undefined;
  const names = classNames(model);
  const byName = names.indexOf(spec);
  if (byName >= 0) return byName;
  if (/^\d+$/.test(spec) && Number(spec) < names.length) return Number(spec);
  throw new RunError(`--class '${spec}': the model has no such class; its classes: ${names.map((n, i) => `${i} '${n}'`).join(', ')}`);
}

/** Characters safe in a file name on every platform (layer names are user-chosen). */
export function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}

/**
 * Output stems: each image's file name without its extension; two images of
 * the same name (from different folders) get `-2`, `-3`, ... in input order.
 */
export function stems(paths: readonly string[]): string[] {
  const used = new Set<string>();
  return paths.map((p) => {
    const base = basename(p, extname(p)) || 'image';
    let stem = base;
    for (let k = 2; used.has(stem); k++) stem = `${base}-${k}`;
    used.add(stem);
    return stem;
  });
}
