/**
 * What every image source produces: a list of labelled image files, with the
 * patient (group) and subtype when the source knows them. Splits, decoding
 * and datasets all work on this one shape, whatever the folder layout was.
 */
import { DataError } from '../errors.js';
import { hostKind } from '../runtime/platform.js';

export interface ImageSample {
  /** Path of the image file (as found: joined onto the root given to the lister). */
  path: string;
  /** Class index: position of `className` in the listing's `classNames`. */
  label: number;
  className: string;
  /** Patient (or other grouping unit) for grouped splits, when known. */
  group?: string;
  /** Tumour subtype (BreakHis: A, F, PT, TA, DC, LC, MC, PC), when known. */
  subtype?: string;
  /** Magnification (BreakHis: 40, 100, 200, 400), when known. */
  magnification?: number;
}

export interface ImageListing {
  root: string;
  /** Class names in label order (sorted alphabetically, like Keras' image_dataset_from_directory). */
  classNames: string[];
  /** Samples in a stable order: by class, then by path. */
  samples: ImageSample[];
  /** Files inside the class folders that are not images by extension (skipped; reported so nothing vanishes silently). */
  ignored: string[];
  /** Whether every sample has a group (a grouped split is then possible and the default). */
  groupsKnown: boolean;
}

/** Image file extensions the sources pick up (compared in lower case). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg', '.tif', '.tiff', '.bmp'];

export function isImageFile(name: string): boolean {
  const dot = name.lastIndexOf('.');
  return dot > 0 && IMAGE_EXTENSIONS.includes(name.slice(dot).toLowerCase());
}

/** Throws DataError unless running in Node (the sources read directories from disk). */
export function requireNode(where: string): void {
  if (hostKind() !== 'node') {
    throw new DataError(`${where}: expected Node.js (it reads files from disk), got a browser; decode images yourself and build an ImageDataset from the pixels`);
  }
}

/** Byte order for sorting names: the same on every platform and locale. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Class names of `samples` in label order, checking each label has one name. */
export function classNamesOf(samples: readonly ImageSample[], where: string): string[] {
  const names: string[] = [];
  for (const s of samples) {
    const known = names[s.label];
    if (known === undefined) names[s.label] = s.className;
    else if (known !== s.className) {
      throw new DataError(`${where}: label ${s.label} is class '${known}' for some samples and '${s.className}' for ${s.path}; expected one class name per label`);
    }
  }
  for (let i = 0; i < names.length; i++) names[i] ??= `class_${i}`;
  return names;
}
