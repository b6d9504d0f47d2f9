/**
 * The image data pipeline against the built package: listing (image folders,
 * manifests, the BreakHis archive layout), decoding policies, grouped
 * stratified splits, k-fold, split files, oversampling, and ImageDataset
 * feeding Sequential.fit. Fixtures are generated with sharp in a temp dir;
 * the shared BreakHis tiles are used when present.
 */
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  channelStats,
  classCounts,
  Conv2D,
  copySplit,
  DataError,
  decodeImage,
  decodeImages,
  Dense,
  Engine,
  Flatten,
  groupKFold,
  ImageDataset,
  listBreakhis,
  listImageFolder,
  oversampledOrder,
  parseBreakhisName,
  parseCsv,
  parseManifest,
  permutation,
  readSplitCsv,
  seededPermutation,
  Sequential,
  splitSamples,
  writeSplitCsv,
  type ImageBatch,
  type ImageBatchTransformer,
  type ImageSample,
  type SplitAssignment,
} from '@lite-cnn/sdk';

const BREAKHIS = fileURLToPath(new URL('../../../../shared/data/breakhis-200x-tiles', import.meta.url));

/** A 16-bit RGB PNG written by hand (sharp cannot be asked for exact 16-bit sample values). */
function png16(w: number, h: number, rgb: [number, number, number]): Buffer {
  const row = 1 + w * 6;
  const raw = Buffer.alloc(row * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) raw.writeUInt16BE(rgb[c]!, y * row + 1 + x * 6 + c * 2);
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 16; // bit depth
  ihdr[9] = 2; // colour type RGB
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

/** A 24-bit bottom-up BMP of one colour. */
function bmp24(w: number, h: number, rgb: [number, number, number]): Buffer {
  const stride = Math.ceil((w * 3) / 4) * 4;
  const b = Buffer.alloc(54 + stride * h);
  b.write('BM', 0, 'latin1');
  b.writeUInt32LE(b.length, 2);
  b.writeUInt32LE(54, 10);
  b.writeUInt32LE(40, 14);
  b.writeInt32LE(w, 18);
  b.writeInt32LE(h, 22);
  b.writeUInt16LE(1, 26);
  b.writeUInt16LE(24, 28);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) b.set([rgb[2], rgb[1], rgb[0]], 54 + y * stride + x * 3);
  return b;
}

const solid = (w: number, h: number, background: { r: number; g: number; b: number; alpha?: number }, channels: 3 | 4 = 3) =>
  sharp({ create: { width: w, height: h, channels, background } });

let tmp: string;
let folder: string;
let engine: Engine;

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'lite-cnn-image-data-'));
  folder = path.join(tmp, 'images');
  const b = path.join(folder, 'benign');
  const m = path.join(folder, 'malignant');
  await fs.mkdir(path.join(m, 'more'), { recursive: true });
  await fs.mkdir(b, { recursive: true });
  await solid(40, 30, { r: 255, g: 0, b: 0 }).png().toFile(path.join(b, 'b1-red.png'));
  await solid(50, 50, { r: 0, g: 0, b: 255 }).jpeg({ quality: 95 }).toFile(path.join(b, 'b2-blue.JPG'));
  await solid(20, 20, { r: 77, g: 77, b: 77 }).toColourspace('b-w').png().toFile(path.join(b, 'b3-gray.png'));
  await solid(16, 16, { r: 10, g: 20, b: 30, alpha: 0.5 }, 4).png().toFile(path.join(b, 'b4-rgba.png'));
  await fs.writeFile(path.join(b, 'b5-green.bmp'), bmp24(7, 5, [0, 200, 0]));
  await fs.writeFile(path.join(b, 'notes.txt'), 'not an image');
  await fs.writeFile(path.join(m, 'm1-16bit.png'), png16(12, 9, [51400, 65280, 0]));
  await solid(24, 24, { r: 200, g: 30, b: 40 }).toColourspace('cmyk').jpeg().toFile(path.join(m, 'm2-cmyk.jpg'));
  const jpeg = await solid(64, 64, { r: 50, g: 100, b: 150 }).jpeg().toBuffer();
  await fs.writeFile(path.join(m, 'm3-truncated.jpg'), jpeg.subarray(0, jpeg.length >> 1));
  await fs.writeFile(path.join(m, 'm4-text.png'), 'this is text, not a PNG');
  await solid(30, 10, { r: 0, g: 255, b: 255 }).tiff().toFile(path.join(m, 'm5-cyan.TIFF'));
  await solid(10, 30, { r: 255, g: 255, b: 0 }).png().toFile(path.join(m, 'more', 'm6-yellow.png'));
  engine = await Engine.create({ threads: 2 });
});

afterAll(async () => {
  await engine?.shutdown();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

describe('seeded shuffle', () => {
  it('matches the engine permutation element for element', () => {
    for (const [n, seed, stream] of [[1, 0, 0], [10, 7, 3], [1000, 2 ** 40 + 5, 12], [97, 123, 4_000_000_000]] as const) {
      expect([...seededPermutation(n, seed, stream)]).toEqual([...permutation(engine, n, seed, stream)]);
    }
  });
});

describe('image folder listing', () => {
  it('lists classes alphabetically, follows sub-folders, matches extensions case-insensitively, reports non-images', async () => {
    const l = await listImageFolder(folder);
    expect(l.classNames).toEqual(['benign', 'malignant']);
    expect(l.samples.map((s) => path.relative(folder, s.path))).toEqual([
      'benign/b1-red.png',
      'benign/b2-blue.JPG',
      'benign/b3-gray.png',
      'benign/b4-rgba.png',
      'benign/b5-green.bmp',
      'malignant/m1-16bit.png',
      'malignant/m2-cmyk.jpg',
      'malignant/m3-truncated.jpg',
      'malignant/m4-text.png',
      'malignant/m5-cyan.TIFF',
      'malignant/more/m6-yellow.png',
    ]);
    expect(l.samples.map((s) => s.label)).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
    expect(l.ignored.map((p) => path.basename(p))).toEqual(['notes.txt']);
    expect(l.groupsKnown).toBe(false);
    expect(l.manifest).toBeNull();
  });

  it('rejects a missing root, a root without class folders and an empty class folder', async () => {
    await expect(listImageFolder(path.join(tmp, 'nope'))).rejects.toThrow(DataError);
    await expect(listImageFolder(path.join(tmp, 'nope'))).rejects.toThrow(/nope does not exist/);
    const flat = path.join(tmp, 'flat');
    await fs.mkdir(flat);
    await solid(4, 4, { r: 1, g: 2, b: 3 }).png().toFile(path.join(flat, 'a.png'));
    await expect(listImageFolder(flat)).rejects.toThrow(/expected class sub-folders in .*flat, found none \(it holds 1 image files directly/);
    const empty = path.join(tmp, 'empty-class');
    await fs.mkdir(path.join(empty, 'cats'), { recursive: true });
    await fs.mkdir(path.join(empty, 'dogs'), { recursive: true });
    await solid(4, 4, { r: 1, g: 2, b: 3 }).png().toFile(path.join(empty, 'cats', 'a.png'));
    await fs.writeFile(path.join(empty, 'dogs', 'readme.md'), 'x');
    await expect(listImageFolder(empty)).rejects.toThrow(/class folder 'dogs' .* has no images; expected files ending in .png.*\(1 other file ignored\)/);
  });

  it('reads groups and subtypes from manifest.csv (quoted fields) and checks it against the folders', async () => {
    const root = path.join(tmp, 'with-manifest');
    for (const c of ['a', 'b']) await fs.mkdir(path.join(root, c), { recursive: true });
    for (const f of ['a/1.png', 'a/2.png', 'b/3.png']) await solid(4, 4, { r: 9, g: 9, b: 9 }).png().toFile(path.join(root, f));
    await fs.writeFile(path.join(root, 'manifest.csv'), 'file,label,subtype,patient,note\r\na/1.png,a,X,"p,1","said ""hi"""\r\na/2.png,a,X,p2,\r\nb/3.png,b,Y,p2,"multi\nline"\r\n');
    const l = await listImageFolder(root);
    expect(l.groupsKnown).toBe(true);
    expect(l.samples.map((s) => [s.group, s.subtype])).toEqual([['p,1', 'X'], ['p2', 'X'], ['p2', 'Y']]);
    // A label that disagrees with the folder, and an image the manifest does not list, are errors.
    await fs.writeFile(path.join(root, 'manifest.csv'), 'file,label,patient\na/1.png,b,p1\na/2.png,a,p2\nb/3.png,b,p3\n');
    await expect(listImageFolder(root)).rejects.toThrow(/line 2: 'a\/1.png' has label 'b' but lies in class folder 'a'/);
    await fs.writeFile(path.join(root, 'manifest.csv'), 'file,patient\na/1.png,p1\nb/3.png,p3\ngone.png,p9\n');
    await expect(listImageFolder(root)).rejects.toThrow(/expected a row for every image .* 1 image is not listed, e.g. .*a\/2.png/);
    // An empty group column (LC25000 style) means groups are unknown; listed-but-missing files are reported.
    await fs.writeFile(path.join(root, 'manifest.csv'), 'file,patient\na/1.png,\na/2.png,\nb/3.png,\ngone.png,\n');
    const l2 = await listImageFolder(root);
    expect(l2.groupsKnown).toBe(false);
    expect(l2.missing.map((p) => path.basename(p))).toEqual(['gone.png']);
    await fs.writeFile(path.join(root, 'manifest.csv'), 'file,patient\na/1.png,"p1\n');
    await expect(listImageFolder(root)).rejects.toThrow(/line 2: a quoted field is never closed/);
    expect(parseCsv('a,b\n"x""y",2\n', 't').rows).toEqual([['x"y', '2']]);
  });

  it('a group pattern groups by the part of each value it matches (BreakHis slides of one person)', async () => {
    const text = 'file,patient\na/1.png,14-23060AB\na/2.png,14-23060CD\nb/3.png,14-2523\n';
    const byPerson = parseManifest(text, 'm.csv', { groupPattern: /^\d+-\d+/ });
    expect([...byPerson.entries.values()].map((e) => e.group)).toEqual(['14-23060', '14-23060', '14-2523']);
    expect(byPerson.groupColumn).toBe('patient');
    // The first capture group when there is one; a global flag does not carry lastIndex from one row to the next.
    const captured = parseManifest(text, 'm.csv', { groupPattern: /-(\d+)/g });
    expect([...captured.entries.values()].map((e) => e.group)).toEqual(['23060', '23060', '2523']);
    // A value the pattern does not match (or whose capture is empty) is an error naming the line, never left whole.
    expect(() => parseManifest(text, 'm.csv', { groupPattern: /^\d+-\d+[A-Z]/ })).toThrow(/m\.csv: line 4: the patient '14-2523' does not match the group pattern \/\^\\d\+-\\d\+\[A-Z\]\//);
    expect(() => parseManifest(text, 'm.csv', { groupPattern: /^\d+-\d+([A-Z]*)/ })).toThrow(DataError);
    // Through listImageFolder: the split's groups are the people.
    const root = path.join(tmp, 'person-manifest');
    for (const c of ['a', 'b']) await fs.mkdir(path.join(root, c), { recursive: true });
    for (const f of ['a/1.png', 'a/2.png', 'b/3.png']) await solid(4, 4, { r: 9, g: 9, b: 9 }).png().toFile(path.join(root, f));
    await fs.writeFile(path.join(root, 'manifest.csv'), text);
    const l = await listImageFolder(root, { groupPattern: /^\d+-\d+/ });
    expect(l.samples.map((s) => s.group)).toEqual(['14-23060', '14-23060', '14-2523']);
  });
});

describe('BreakHis archive layout', () => {
  it('parses file names', () => {
    expect(parseBreakhisName('SOB_B_A-14-22549AB-40-001.png')).toEqual({ className: 'benign', subtype: 'A', patient: '14-22549AB', magnification: 40, sequence: 1 });
    expect(parseBreakhisName('SOB_M_DC-14-2523-400-012.png')).toEqual({ className: 'malignant', subtype: 'DC', patient: '14-2523', magnification: 400, sequence: 12 });
    expect(parseBreakhisName('photo.png')).toBeNull();
  });

  it('lists a synthetic archive with a magnification filter, patients and subtypes', async () => {
    const breast = path.join(tmp, 'bh', 'BreaKHis_v1', 'histology_slides', 'breast');
    const files: [string, string, string, string, string][] = [
      ['benign', 'adenosis', 'SOB_B_A_14-22549AB', '40', 'SOB_B_A-14-22549AB-40-001.png'],
      ['benign', 'adenosis', 'SOB_B_A_14-22549AB', '200', 'SOB_B_A-14-22549AB-200-001.png'],
      ['benign', 'fibroadenoma', 'SOB_B_F_14-9133', '200', 'SOB_B_F-14-9133-200-003.png'],
      ['malignant', 'ductal_carcinoma', 'SOB_M_DC_14-2523', '200', 'SOB_M_DC-14-2523-200-001.png'],
      ['malignant', 'ductal_carcinoma', 'SOB_M_DC_14-2523', '200', 'SOB_M_DC-14-2523-200-002.png'],
    ];
    for (const [cls, sub, patient, mag, name] of files) {
      const dir = path.join(breast, cls, 'SOB', sub, patient, `${mag}X`);
      await fs.mkdir(dir, { recursive: true });
      await solid(7, 5, { r: 100, g: 50, b: 150 }).png().toFile(path.join(dir, name));
    }
    await fs.writeFile(path.join(breast, 'malignant', 'SOB', 'ductal_carcinoma', 'SOB_M_DC_14-2523', '200X', 'Thumbs.db'), 'x');
    const l = await listBreakhis(path.join(tmp, 'bh'), { magnification: 200 });
    expect(l.classNames).toEqual(['benign', 'malignant']);
    expect(l.samples.map((s) => [path.basename(s.path), s.label, s.group, s.subtype, s.magnification])).toEqual([
      ['SOB_B_A-14-22549AB-200-001.png', 0, '14-22549AB', 'A', 200],
      ['SOB_B_F-14-9133-200-003.png', 0, '14-9133', 'F', 200],
      ['SOB_M_DC-14-2523-200-001.png', 1, '14-2523', 'DC', 200],
      ['SOB_M_DC-14-2523-200-002.png', 1, '14-2523', 'DC', 200],
    ]);
    expect(l.ignored.map((p) => path.basename(p))).toEqual(['Thumbs.db']);
    expect((await listBreakhis(breast)).samples.length).toBe(5);
    await expect(listBreakhis(path.join(tmp, 'bh'), { magnification: 100 })).rejects.toThrow(/found no images at magnification 100X/);
    await expect(listBreakhis(tmp)).rejects.toThrow(/expected the BreakHis archive layout/);
    // A misfiled image is an error, not a wrong label.
    const wrong = path.join(breast, 'benign', 'SOB', 'adenosis', 'SOB_B_A_14-22549AB', '200X', 'SOB_M_DC-14-2523-200-009.png');
    await solid(7, 5, { r: 1, g: 1, b: 1 }).png().toFile(wrong);
    await expect(listBreakhis(breast, { magnification: 200 })).rejects.toThrow(/the file name says malignant but it lies in the benign folder/);
    await fs.rm(wrong);
  });
});

describe('decoding', () => {
  const pixel = (img: Uint8Array, w: number, c: number, x: number, y: number) => [...img.subarray((y * w + x) * c, (y * w + x) * c + c)];
  const near = (got: number[], want: number[], tol: number) => expect(got.every((v, i) => Math.abs(v - want[i]!) <= tol), `got [${got}], want [${want}] ± ${tol}`).toBe(true);
  const everyPixel = (img: Uint8Array, c: number, want: number[], tol: number) => {
    for (let i = 0; i < img.length; i += c) near([...img.subarray(i, i + c)], want, tol);
  };

  it('decodes solid images to their colour at the requested shape, whatever the format', async () => {
    const at = (f: string) => path.join(folder, f);
    const opts = { shape: [8, 6, 3] as const };
    everyPixel(await decodeImage(at('benign/b1-red.png'), opts), 3, [255, 0, 0], 0);
    everyPixel(await decodeImage(at('benign/b2-blue.JPG'), opts), 3, [0, 0, 255], 3);
    everyPixel(await decodeImage(at('benign/b3-gray.png'), opts), 3, [77, 77, 77], 0);
    everyPixel(await decodeImage(at('benign/b3-gray.png'), { shape: [5, 5, 1] }), 1, [77], 0);
    // Alpha is dropped, keeping the colour (Pillow's convert('RGB')).
    const stored = [...(await sharp(at('benign/b4-rgba.png')).raw().toBuffer()).subarray(0, 4)];
    expect(stored[3]).toBe(128);
    everyPixel(await decodeImage(at('benign/b4-rgba.png'), opts), 3, stored.slice(0, 3), 0);
    everyPixel(await decodeImage(at('benign/b5-green.bmp'), opts), 3, [0, 200, 0], 0);
    // 16-bit: rounded, not truncated (65280 → 254; v >> 8 would give 255).
    const sixteen = await decodeImage(at('malignant/m1-16bit.png'), opts);
    everyPixel(sixteen, 3, [200, 254, 0], 0);
    // CMYK is converted to RGB through a profile: close to the colour, red dominant.
    const cmyk = await decodeImage(at('malignant/m2-cmyk.jpg'), opts);
    expect(cmyk.length).toBe(8 * 6 * 3);
    const [r, g, b] = pixel(cmyk, 6, 3, 3, 3) as [number, number, number];
    expect(r).toBeGreaterThan(150);
    expect(r).toBeGreaterThan(g + 100);
    expect(r).toBeGreaterThan(b + 100);
    everyPixel(await decodeImage(at('malignant/m5-cyan.TIFF'), { shape: [3, 3, 3] }), 3, [0, 255, 255], 0);
  });

  it('squashes or centre-crops a non-square image', async () => {
    // 160 × 40: green | red | blue stripes of width 40 | 80 | 40.
    const stripes = Buffer.alloc(160 * 40 * 3);
    for (let y = 0; y < 40; y++) for (let x = 0; x < 160; x++) stripes.set(x < 40 ? [0, 255, 0] : x < 120 ? [255, 0, 0] : [0, 0, 255], (y * 160 + x) * 3);
    const file = path.join(tmp, 'stripes.png');
    await sharp(stripes, { raw: { width: 160, height: 40, channels: 3 } }).png().toFile(file);
    const crop = await decodeImage(file, { shape: [8, 8, 3], aspect: 'centerCrop' });
    everyPixel(crop, 3, [255, 0, 0], 2);
    const squash = await decodeImage(file, { shape: [8, 8, 3], aspect: 'squash' });
    near(pixel(squash, 8, 3, 0, 4), [0, 255, 0], 40);
    near(pixel(squash, 8, 3, 4, 4), [255, 0, 0], 40);
    near(pixel(squash, 8, 3, 7, 4), [0, 0, 255], 40);
  });

  it("reports corrupt and non-image files by path; 'skip' leaves them out and counts them, 'fail' throws", async () => {
    const l = await listImageFolder(folder);
    const paths = l.samples.map((s) => s.path);
    await expect(decodeImage(path.join(folder, 'malignant/m3-truncated.jpg'), { shape: [4, 4, 3] })).rejects.toThrow(/cannot decode .*m3-truncated.jpg: .*(premature end|truncated)/i);
    await expect(decodeImage(path.join(folder, 'malignant/m4-text.png'), { shape: [4, 4, 3] })).rejects.toThrow(/cannot decode .*m4-text.png: .*unsupported image format/);
    await expect(decodeImage(path.join(folder, 'nothing.png'), { shape: [4, 4, 3] })).rejects.toThrow(DataError);
    await expect(decodeImages(paths, { shape: [4, 4, 3], onBadImage: 'fail' })).rejects.toThrow(/cannot decode .*(m3-truncated.jpg|m4-text.png)/);
    const d = await decodeImages(paths, { shape: [4, 4, 3], onBadImage: 'skip', concurrency: 3 });
    expect(d.skipped.map((s) => path.basename(s.path))).toEqual(['m3-truncated.jpg', 'm4-text.png']);
    expect(d.kept).toEqual([0, 1, 2, 3, 4, 5, 6, 9, 10]);
    expect(d.images.length).toBe(9 * 4 * 4 * 3);
    // Kept images stay in input order: the last one is the yellow image.
    near(pixel(d.images.subarray(8 * 48), 4, 3, 1, 1), [255, 255, 0], 0);
    await expect(decodeImage(paths[0]!, { shape: [4, 4, 2 as 3] })).rejects.toThrow(/channels must be 1 \(grayscale\) or 3 \(RGB\), got 2/);
  });
});

/** Synthetic samples: `groups` patients, group g has `sizes(g)` images of class `cls(g)`. */
function fakeSamples(groups: number, sizes: (g: number) => number, cls: (g: number) => number): ImageSample[] {
  const out: ImageSample[] = [];
  for (let g = 0; g < groups; g++) {
    for (let i = 0; i < sizes(g); i++) out.push({ path: `/d/${cls(g)}/p${g}-${i}.png`, label: cls(g), className: ['benign', 'malignant'][cls(g)]!, group: `p${g}` });
  }
  return out;
}

describe('splits', () => {
  const samples = fakeSamples(40, (g) => 8 + ((g * 7) % 13), (g) => (g % 4 === 0 ? 0 : 1));

  it('never puts one group in two splits, stays stratified, follows the ratios, and is deterministic', () => {
    const s = splitSamples(samples, { seed: 3 });
    const groupSplit = new Map<string, string>();
    for (const a of s) {
      expect(groupSplit.get(a.group!) ?? a.split).toBe(a.split);
      groupSplit.set(a.group!, a.split);
    }
    const count = (split: string, label?: number) => s.filter((a) => a.split === split && (label === undefined || a.label === label)).length;
    for (const split of ['train', 'val', 'test']) {
      expect(count(split, 0)).toBeGreaterThan(0);
      expect(count(split, 1)).toBeGreaterThan(0);
    }
    // Whole patients of 8-20 images: the counts follow the ratios within about one patient.
    expect(Math.abs(count('train') - 0.8 * samples.length)).toBeLessThanOrEqual(20);
    expect(Math.abs(count('val') - 0.1 * samples.length)).toBeLessThanOrEqual(20);
    expect(splitSamples(samples, { seed: 3 })).toEqual(s);
    expect(splitSamples(samples, { seed: 4 }).map((a) => a.split)).not.toEqual(s.map((a) => a.split));
  });

  it('splits images exactly by the rounded ratios when ungrouped', () => {
    const s = splitSamples(samples, { seed: 1, grouped: false, ratios: { train: 0.7, val: 0.2, test: 0.1 } });
    for (const label of [0, 1]) {
      const n = samples.filter((a) => a.label === label).length;
      for (const [split, r] of [['train', 0.7], ['val', 0.2], ['test', 0.1]] as const) {
        expect(Math.abs(s.filter((a) => a.label === label && a.split === split).length - r * n)).toBeLessThanOrEqual(1);
      }
    }
  });

  it('rejects bad ratios and a grouped split without groups', () => {
    expect(() => splitSamples(samples, { ratios: { train: 0.8, val: 0.3, test: 0.1 } })).toThrow(/ratios must sum to 1/);
    const noGroups = samples.map(({ group: _g, ...s }) => s);
    expect(() => splitSamples(noGroups, { grouped: true })).toThrow(new RegExp(`a grouped split needs a group \\(patient\\) for every sample, but ${samples.length} of ${samples.length} have none`));
    expect(() => splitSamples(samples.slice(0, 3))).toThrow(/the 'val' split \(ratio 0.1\) got no samples from 1 groups/);
  });

  it('round-trips split.csv and copies files into split/class folders', async () => {
    const l = await listImageFolder(folder);
    const s = splitSamples(l.samples, { seed: 0, grouped: false, ratios: { train: 0.6, val: 0.2, test: 0.2 } });
    const csv = path.join(tmp, 'run', 'split.csv');
    await fs.mkdir(path.dirname(csv), { recursive: true });
    await writeSplitCsv(csv, s, { relativeTo: folder });
    const text = await fs.readFile(csv, 'utf8');
    expect(text.split('\n')[0]).toBe('path,label,class,group,split');
    expect(text).toContain('benign/b1-red.png,0,benign,,');
    const back = await readSplitCsv(csv, { relativeTo: folder });
    expect(back).toEqual(s.map((a): SplitAssignment => ({ path: a.path, label: a.label, className: a.className, split: a.split })));
    const out = path.join(tmp, 'copied');
    const counts = await copySplit(out, s);
    expect(counts.train + counts.val + counts.test).toBe(l.samples.length);
    for (const a of s) expect(existsSync(path.join(out, a.split, a.className, path.basename(a.path)))).toBe(true);
    expect((await fs.readdir(out)).sort()).toEqual(['test', 'train', 'val']);
    await expect(copySplit(out, s)).rejects.toThrow(/already exists; expected a fresh output folder/);
    await fs.writeFile(path.join(tmp, 'bad-split.csv'), 'path,label,class,group,split\na.png,0,x,,training\n');
    await expect(readSplitCsv(path.join(tmp, 'bad-split.csv'))).rejects.toThrow(/line 2: expected split train, val or test, got 'training'/);
  });

  it('makes patient-level stratified k-folds', () => {
    const folds = groupKFold(samples, 5, 9);
    expect(folds.length).toBe(5);
    const seen = new Array<number>(samples.length).fill(0);
    for (const f of folds) {
      expect(f.train.length + f.test.length).toBe(samples.length);
      const testGroups = new Set(f.test.map((i) => samples[i]!.group));
      expect(f.train.some((i) => testGroups.has(samples[i]!.group))).toBe(false);
      // 10 benign and 30 malignant patients: 2 and 6 per fold.
      expect(new Set(f.test.filter((i) => samples[i]!.label === 0).map((i) => samples[i]!.group)).size).toBe(2);
      expect(new Set(f.test.filter((i) => samples[i]!.label === 1).map((i) => samples[i]!.group)).size).toBe(6);
      for (const i of f.test) seen[i]!++;
    }
    expect(seen.every((n) => n === 1)).toBe(true);
    expect(groupKFold(samples, 5, 9)).toEqual(folds);
    expect(() => groupKFold(samples.slice(0, 20), 5)).toThrow(/5 folds need at least 5 groups, got 2/);
  });
});

describe('class balance', () => {
  it('oversamples every class to the largest count, seeded per epoch', () => {
    const labels = [0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 2, 2];
    expect(classCounts(labels)).toEqual([7, 2, 3]);
    const o = oversampledOrder(labels, 5, 0);
    expect(o.length).toBe(21);
    expect(classCounts([...o].map((i) => labels[i]!))).toEqual([7, 7, 7]);
    // Each minority image appears floor or ceil of 7/n times.
    const times = new Array<number>(labels.length).fill(0);
    for (const i of o) times[i]!++;
    expect(times.slice(0, 7)).toEqual([1, 1, 1, 1, 1, 1, 1]);
    expect(times.slice(7, 9).sort()).toEqual([3, 4]);
    expect(times.slice(9).sort()).toEqual([2, 2, 3]);
    expect([...oversampledOrder(labels, 5, 0)]).toEqual([...o]);
    expect([...oversampledOrder(labels, 5, 1)]).not.toEqual([...o]);
  });
});

/** The test transformer: inputs = pixels / 255, recording what it saw. */
class ScaleTransformer implements ImageBatchTransformer {
  calls: { n: number; ids: number[]; epoch: number; augment: boolean }[] = [];
  run(b: ImageBatch): void {
    for (let i = 0; i < b.n * b.shape[0] * b.shape[1] * b.shape[2]; i++) b.dst[i] = b.src[i]! / 255;
    this.calls.push({ n: b.n, ids: [...b.sampleIds], epoch: b.epoch, augment: b.augment });
  }
}

describe('ImageDataset', () => {
  it('decodes a folder, serves batches through the transformer, and trains a model for an epoch', async () => {
    const l = await listImageFolder(folder);
    const t = new ScaleTransformer();
    const ds = await ImageDataset.fromSamples(l.samples, { shape: [8, 8, 3], onBadImage: 'skip', transformer: t, engine, augment: true });
    expect(ds.size).toBe(9);
    expect(ds.skipped.length).toBe(2);
    expect(ds.classNames).toEqual(['benign', 'malignant']);
    expect(ds.classCounts()).toEqual([5, 4]);
    expect(ds.denseTargets).toBe(false);
    expect(ds.sampleShape).toEqual([8, 8, 3]);
    const batches = [];
    for await (const b of ds.batches({ batchSize: 4, order: Uint32Array.from([8, 0, 1, 2, 3, 4, 5, 6, 7]) })) batches.push(b);
    expect(batches.map((b) => b.size)).toEqual([4, 4, 1]);
    expect([...batches[0]!.targets]).toEqual([1, 0, 0, 0]);
    const target = new Float32Array(4 * 8 * 8 * 3);
    batches[0]!.fill(target);
    // Sample 8 is the yellow image, sample 0 the red one.
    expect([...target.subarray(0, 3)]).toEqual([1, 1, 0]);
    expect([...target.subarray(192, 195)]).toEqual([1, 0, 0]);
    expect(t.calls[0]).toEqual({ n: 4, ids: [8, 0, 1, 2], epoch: 0, augment: true });

    // Subsets share the cache; the stats are those of the pixels.
    const red = ds.subset([0], { augment: false });
    expect(red.image(0).buffer).toBe(ds.image(0).buffer);
    expect(channelStats(red)).toEqual({ mean: [1, 0, 0], std: [0, 0, 0] });
    const st = channelStats(ds);
    expect(st.mean.length).toBe(3);
    expect(st.std.every((v) => v > 0)).toBe(true);

    const model = new Sequential([new Conv2D({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [8, 8, 3] }), new Flatten(), new Dense({ units: 2, activation: 'softmax' })], { engine, seed: 1 });
    model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' });
    t.calls = [];
    const h = await model.fit(ds, { epochs: 1, batchSize: 4, validationData: red });
    expect(Number.isFinite(h.history.loss![0])).toBe(true);
    expect(t.calls.filter((c) => c.augment).map((c) => c.n)).toEqual([4, 4, 1]);
    expect(t.calls.filter((c) => !c.augment).map((c) => c.n)).toEqual([1]);
    const probs = await model.predict(red);
    expect(probs.length).toBe(2);

    // Oversampled view: 5 + 5 per epoch, and it trains too.
    const over = ds.oversampled(7);
    expect(over.size).toBe(10);
    expect(classCounts(over.labels()!)).toEqual([5, 5]);
    await model.fit(over, { epochs: 1, batchSize: 4 });
  });

  it.skipIf(!existsSync(path.join(BREAKHIS, 'manifest.csv')))('real BreakHis 200X tiles: 697 images of 40 patients, grouped 80/10/10 split without patient overlap', async () => {
    const l = await listImageFolder(BREAKHIS);
    expect(l.samples.length).toBe(697);
    expect(l.classNames).toEqual(['benign', 'malignant']);
    expect(classCounts(l.samples.map((s) => s.label))).toEqual([165, 532]);
    expect(l.groupsKnown).toBe(true);
    expect(new Set(l.samples.map((s) => s.group)).size).toBe(40);
    const s = splitSamples(l.samples, { seed: 0 });
    const groupsOf = (split: string) => new Set(s.filter((a) => a.split === split).map((a) => a.group));
    const [tr, va, te] = [groupsOf('train'), groupsOf('val'), groupsOf('test')];
    for (const g of va) expect(tr.has(g) || te.has(g)).toBe(false);
    for (const g of te) expect(tr.has(g)).toBe(false);
    expect(tr.size + va.size + te.size).toBe(40);
    const n = (split: string) => s.filter((a) => a.split === split).length;
    expect(Math.abs(n('train') - 0.8 * 697)).toBeLessThan(30);
    expect(Math.abs(n('test') - 0.1 * 697)).toBeLessThan(30);
    const folds = groupKFold(l.samples, 5, 0);
    expect(folds.every((f) => new Set(f.test.map((i) => l.samples[i]!.group)).size === 8)).toBe(true);
    // Decoding a few real tiles at their own size keeps them as they are.
    const few = await ImageDataset.fromSamples(l.samples.slice(0, 4), { shape: [224, 224, 3], transformer: new ScaleTransformer(), engine });
    expect(few.size).toBe(4);
    expect(few.skipped.length).toBe(0);
  });
  if (!existsSync(path.join(BREAKHIS, 'manifest.csv'))) console.log(`image-data.test: skipping the real BreakHis test: ${BREAKHIS}/manifest.csv not found`);
});
