/**
 * The built CLI (`npm run build` first) on image folders, spawned as users run
 * it: a small folder generated here with sharp (2 classes, 12 images each,
 * mostly 32x32 with some 40x28, a manifest.csv with a patient column), a tiny
 * arch.json (32x32 input: the images are resized to it), 1-2 epochs. Then bad input, and the real
 * BreakHis tiles when ../shared/data/breakhis-200x-tiles is present.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors } from '@lite-cnn/sdk';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const BREAKHIS = fileURLToPath(new URL('../../../../shared/data/breakhis-200x-tiles', import.meta.url));
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `lite-cnn-folder-${name}-`));

function run(args: string[], opts: { cwd?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', cwd: opts.cwd ?? tmpdir(), env: { ...process.env, LITE_CNN_DEBUG: '' } });
}

const CLASSES = ['benign', 'malignant'] as const;

/** A 32x32 (or w x h) RGB image whose pattern depends on the class: horizontal vs vertical halves. */
function pixels(cls: number, i: number, w: number, h: number): Buffer {
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const on = cls === 0 ? y < h / 2 : x < w / 2;
      const p = (y * w + x) * 3;
      px[p] = on ? 220 : 40;
      px[p + 1] = (on ? 180 : 60) + i;
      px[p + 2] = on ? 40 : 200;
    }
  }
  return px;
}

interface Extra {
  /** Path relative to the root, e.g. 'malignant/bad.jpg'. */
  file: string;
  bytes: Buffer;
  /** A manifest row (images need one: the manifest has a patient column). */
  patient?: string;
}

/**
 * The test folder: <root>/{benign,malignant}/*.{jpg,png}, 12 per class, every
 * 4th image 40x28 (mixed sizes), 2 images per patient, manifest.csv
 * (file,label,patient), plus `extras`.
 */
async function makeFolder(root: string, extras: Extra[] = []): Promise<string> {
  const rows = ['file,label,patient'];
  for (const [c, cls] of CLASSES.entries()) {
    mkdirSync(join(root, cls), { recursive: true });
    for (let i = 0; i < 12; i++) {
      const [w, h] = i % 4 === 3 ? [40, 28] : [32, 32];
      const name = `${cls}-${String(i).padStart(2, '0')}.${i % 2 ? 'png' : 'jpg'}`;
      const img = sharp(pixels(c, i, w, h), { raw: { width: w, height: h, channels: 3 } });
      await (i % 2 ? img.png() : img.jpeg({ quality: 95 })).toFile(join(root, cls, name));
      rows.push(`${cls}/${name},${cls},${cls[0]}${Math.floor(i / 2)}`);
    }
  }
  for (const e of extras) {
    mkdirSync(join(root, e.file.split('/')[0]!), { recursive: true });
    writeFileSync(join(root, e.file), e.bytes);
    if (e.patient !== undefined) rows.push(`${e.file},${e.file.split('/')[0]},${e.patient}`);
  }
  writeFileSync(join(root, 'manifest.csv'), `${rows.join('\n')}\n`);
  return root;
}

function arch(dir: string, units = 2): string {
  const path = join(dir, `arch-${units}.json`);
  writeFileSync(
    path,
    JSON.stringify({
      inputShape: [32, 32, 3],
      layers: [{ kind: 'Conv2D', filters: 4, kernelSize: 3, strides: 2, activation: 'relu' }, { kind: 'Flatten' }, { kind: 'Dense', units, activation: 'softmax' }],
    }),
  );
  return path;
}

/** The test folder plus a third class, 'normal' (8 images of 4 patients, a pattern of its own). */
async function threeClassFolder(): Promise<string> {
  const extras: Extra[] = [];
  for (let i = 0; i < 8; i++) {
    const px = Buffer.alloc(32 * 32 * 3, 120 + 10 * (i % 2));
    extras.push({ file: `normal/normal-${i}.png`, bytes: await sharp(px, { raw: { width: 32, height: 32, channels: 3 } }).png().toBuffer(), patient: `n${i >> 1}` });
  }
  return makeFolder(join(tmp('three'), 'data'), extras);
}

/** split.csv rows as objects. */
function readSplit(path: string): { path: string; label: string; class: string; group: string; split: string }[] {
  const [head, ...lines] = readFileSync(path, 'utf8').trim().split('\n');
  const cols = head!.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])) as never);
}

/** Every group (patient) lies in exactly one split. */
function expectNoPatientInTwoSplits(rows: { group: string; split: string }[]): void {
  const where = new Map<string, Set<string>>();
  for (const r of rows) {
    expect(r.group, 'every image has a patient').not.toBe('');
    (where.get(r.group) ?? where.set(r.group, new Set()).get(r.group)!).add(r.split);
  }
  const leaked = [...where].filter(([, s]) => s.size > 1).map(([g]) => g);
  expect(leaked).toEqual([]);
}

function tensors(path: string): Map<string, Buffer> {
  const file = decodeSafetensors(new Uint8Array(readFileSync(path)));
  return new Map([...file.tensors].map(([name, t]) => [name, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)]));
}

function modelMetadata(path: string): { classNames: string[]; preprocessing: { kind: string }; threshold: { positiveClass: number; value: number } | null } {
  return JSON.parse(decodeSafetensors(new Uint8Array(readFileSync(path))).metadata.metadata!);
}

/** The common arguments of a tiny run on `data`. */
// No --image-size: the images are resized to the arch.json's own 32x32 input.
const tiny = (data: string, archFile: string) => ['train', '--data', data, '--model', archFile, '--val-ratio', '0.25', '--test-ratio', '0.25'];

let root: string;
let data: string;
let archFile: string;

beforeAll(async () => {
  root = tmp('root');
  data = await makeFolder(join(root, 'data'));
  archFile = arch(root);
});

describe('train on an image folder', () => {
  let run1: string;
  let summary: {
    status: string;
    test: { accuracy: number; samples: number; atThreshold: { threshold: number; accuracy: number } | null };
    operatingPoint: { threshold: number; className: string; targetRecall: number; validation: { recall: number } };
  };

  beforeAll(() => {
    run1 = join(root, 'run1');
    const r = run([...tiny(data, archFile), '--epochs', '2', '--target-recall', '0.9', '--positive', 'malignant', '--out', run1, '--json']);
    expect(r.status, r.stderr).toBe(0);
    summary = JSON.parse(r.stdout);
    expect(r.stderr).toMatch(/decision threshold\s+\S+ on 'malignant' \(stored in model\.safetensors\)/);
    expect(r.stderr).toMatch(/test at 0\.5 /);
  }, 60_000);

  it('creates every output; mixed image sizes are resized; the split keeps patients apart', () => {
    expect(summary.status).toBe('completed');
    for (const f of ['model.safetensors', 'last.safetensors', 'history.csv', 'config.json', 'split.csv', 'summary.json', 'report.html', 'loss.png', 'accuracy.png', 'confusion_matrix.png', 'roc.png']) {
      expect(existsSync(join(run1, f)), f).toBe(true);
    }
    expect(readdirSync(run1).filter((f) => f.endsWith('.tmp') || f.startsWith('.'))).toEqual([]);
    expect(readFileSync(join(run1, 'loss.png')).subarray(1, 4).toString()).toBe('PNG');
    expect(readFileSync(join(run1, 'report.html'), 'utf8')).toMatch(/id="thresholds"/);
    const history = readFileSync(join(run1, 'history.csv'), 'utf8').trim().split('\n');
    expect(history[0]).toBe('step,epoch,loss,accuracy,lr,val_loss,val_accuracy');
    expect(history).toHaveLength(3);
    const config = JSON.parse(readFileSync(join(run1, 'config.json'), 'utf8'));
    // All 24 images, the 40x28 ones included, decoded to 32x32.
    expect(config.data.source).toMatchObject({ kind: 'folder', images: 24, skipped: [], grouped: true });
    expect(config.options.operatingPoint).toEqual({ targetRecall: 0.9, positive: 'malignant', rule: 'recall' });
    const split = readSplit(join(run1, 'split.csv'));
    expect(split).toHaveLength(24);
    expect(new Set(split.map((r) => r.split))).toEqual(new Set(['train', 'val', 'test']));
    expectNoPatientInTwoSplits(split);
  });

  it('stores the validation-chosen threshold in model.safetensors', () => {
    const md = modelMetadata(join(run1, 'model.safetensors'));
    expect(md.classNames).toEqual(['benign', 'malignant']);
    expect(md.preprocessing).toEqual({ kind: 'minmax' });
    expect(md.threshold).toEqual({ positiveClass: 1, value: summary.operatingPoint.threshold });
    expect(summary.operatingPoint.className).toBe('malignant');
    expect(summary.operatingPoint.validation.recall).toBeGreaterThanOrEqual(0.9);
    expect(summary.test.atThreshold?.threshold).toBe(summary.operatingPoint.threshold);
  });

  it('evaluate reads the run back: the same test split (split.csv), at 0.5 and at the stored threshold', () => {
    const r = run(['evaluate', '--model', join(run1, 'model.safetensors'), '--data', data, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const ev = JSON.parse(r.stdout);
    const testRows = readSplit(join(run1, 'split.csv')).filter((s) => s.split === 'test');
    expect(ev.samples).toBe(testRows.length);
    expect(ev.samples).toBe(summary.test.samples);
    expect(ev.data).toMatch(/test split of .*split\.csv/);
    expect(ev.threshold).toEqual({ value: summary.operatingPoint.threshold, positiveClass: 1, source: 'stored' });
    expect(ev.atDefault.decision).toEqual({ rule: 'threshold', threshold: 0.5, positiveClass: 1 });
    expect(ev.atDefault.accuracy).toBeCloseTo(summary.test.accuracy, 10);
    expect(ev.atThreshold.accuracy).toBeCloseTo(summary.test.atThreshold!.accuracy, 10);
    expect(ev.accuracy).toBe(ev.atThreshold.accuracy);

    const text = run(['evaluate', '--model', join(run1, 'model.safetensors'), '--data', data]);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/at threshold 0\.5: accuracy/);
    expect(text.stdout).toMatch(/at the stored threshold \S+ on 'malignant'/);

    const override = run(['evaluate', '--model', join(run1, 'model.safetensors'), '--data', data, '--threshold', '0.25', '--json']);
    expect(override.status, override.stderr).toBe(0);
    expect(JSON.parse(override.stdout).threshold).toEqual({ value: 0.25, positiveClass: 1, source: 'option' });

    const all = run(['evaluate', '--model', join(run1, 'model.safetensors'), '--data', data, '--split', 'all', '--json']);
    expect(all.status, all.stderr).toBe(0);
    expect(JSON.parse(all.stdout).samples).toBe(24);
  });

  it('predict uses and reports the stored threshold; --threshold overrides it', () => {
    const images = [join(data, 'benign', 'benign-00.jpg'), join(data, 'malignant', 'malignant-01.png'), join(data, 'malignant', 'malignant-03.png')];
    const r = run(['predict', '--model', join(run1, 'model.safetensors'), ...images, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    const t = summary.operatingPoint.threshold;
    expect(out.decision).toMatchObject({ rule: 'threshold', threshold: t, positiveClass: 1, positiveClassName: 'malignant', source: 'stored' });
    expect(out.predictions).toHaveLength(3);
    for (const p of out.predictions) expect(p.class).toBe(p.probabilities.malignant >= t ? 'malignant' : 'benign');

    const low = run(['predict', '--model', join(run1, 'model.safetensors'), ...images, '--threshold', '0', '--json']);
    expect(low.status, low.stderr).toBe(0);
    expect(JSON.parse(low.stdout).decision.source).toBe('option');
    for (const p of JSON.parse(low.stdout).predictions) expect(p.class).toBe('malignant');
  });

  it('predict --group-by decides each patient from its pooled images: mean at the image threshold, a vote by majority', () => {
    const images = ['benign-00.jpg', 'benign-01.png', 'benign-02.jpg', 'malignant-00.jpg', 'malignant-01.png'].map((f) => join(data, f.split('-')[0]!, f));
    const model = join(run1, 'model.safetensors');
    const t = summary.operatingPoint.threshold;
    const predict = (extra: string[]) => {
      const r = run(['predict', '--model', model, ...images, '--group-by', 'patient', '--manifest', join(data, 'manifest.csv'), ...extra, '--json']);
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { predictions: { probabilities: { malignant: number }; class: string }[]; groups: { column: string; method: string; rows: { group: string; images: number; class: string; probabilities: { malignant: number } }[] } };
    };
    const mean = predict([]);
    const p = mean.predictions.map((r) => r.probabilities.malignant);
    // The manifest's patients: b0 (benign-00, -01), b1 (benign-02), m0 (malignant-00, -01), in order of first appearance.
    expect(mean.groups).toMatchObject({ column: 'patient', method: 'mean' });
    expect(mean.groups.rows.map((g) => [g.group, g.images])).toEqual([['b0', 2], ['b1', 1], ['m0', 2]]);
    const pooled = [(p[0]! + p[1]!) / 2, p[2]!, (p[3]! + p[4]!) / 2];
    mean.groups.rows.forEach((g, i) => {
      expect(g.probabilities.malignant).toBeCloseTo(pooled[i]!, 6);
      expect(g.class).toBe(pooled[i]! >= t ? 'malignant' : 'benign');
    });
    const vote = predict(['--aggregate', 'vote']);
    const decided = vote.predictions.map((r) => (r.class === 'malignant' ? 1 : 0));
    const shares = [(decided[0]! + decided[1]!) / 2, decided[2]!, (decided[3]! + decided[4]!) / 2];
    vote.groups.rows.forEach((g, i) => {
      expect(g.probabilities.malignant).toBe(shares[i]);
      expect(g.class).toBe(shares[i]! >= 0.5 ? 'malignant' : 'benign');
    });
    // A pattern pools by the part of each id it matches: here the class letter.
    expect(predict(['--group-pattern', '^[a-z]']).groups.rows.map((g) => [g.group, g.images])).toEqual([['b', 3], ['m', 2]]);

    // Text output, and the errors: an image the manifest does not list, options without --group-by, --group-by without a manifest.
    const text = run(['predict', '--model', model, ...images, '--group-by', 'patient', '--manifest', join(data, 'manifest.csv')]);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/per patient \(mean of its images' probabilities, at the same decision\):\nb0: (benign|malignant) {2}\(benign [\d.]+%, malignant [\d.]+%; 2 images\)/);
    const stray = join(tmp('stray'), 'x.jpg');
    writeFileSync(stray, readFileSync(images[0]!));
    const unlisted = run(['predict', '--model', model, stray, '--group-by', 'patient', '--manifest', join(data, 'manifest.csv')]);
    expect(unlisted.status).toBe(1);
    expect(unlisted.stderr).toMatch(/manifest\.csv: no 'patient' value for .*x\.jpg; --group-by needs one for every image/);
    const alone = run(['predict', '--model', model, images[0]!, '--aggregate', 'vote', '--manifest', join(data, 'manifest.csv')]);
    expect(alone.status).toBe(2);
    expect(alone.stderr).toContain('--manifest, --aggregate: only with --group-by COLUMN, which pools the images per group');
    const noManifest = run(['predict', '--model', model, images[0]!, '--group-by', 'patient']);
    expect(noManifest.status).toBe(2);
    expect(noManifest.stderr).toContain('--group-by reads a column of a manifest: add --manifest FILE');
  });

  it('--target-recall is validated: R in (0, 1], a known positive class, a binary model', async () => {
    for (const bad of ['0', '1.5', 'x']) {
      const r = run([...tiny(data, archFile), '--target-recall', bad, '--positive', 'malignant']);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/'--target-recall <r>' argument .* is invalid\. expected a factor in \(0, 1\]/);
    }
    const noPositive = run([...tiny(data, archFile), '--target-recall', '0.9']);
    expect(noPositive.status).toBe(2);
    expect(noPositive.stderr).toMatch(/--target-recall R needs --positive CLASS/);

    const dir = tmp('positive');
    const unknown = run([...tiny(data, archFile), '--target-recall', '0.9', '--positive', 'tumour', '--out', join(dir, 'run')]);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/--positive 'tumour' is not one of the classes: benign, malignant/);
    expect(readdirSync(dir)).toEqual([]);

    const three = run([...tiny(await threeClassFolder(), arch(dir, 3)), '--target-recall', '0.9', '--positive', 'malignant', '--out', join(dir, 'run3')]);
    expect(three.status).toBe(1);
    expect(three.stderr).toMatch(/--target-recall needs a binary model \(2 classes\), but this one has 3/);
    expect(existsSync(join(dir, 'run3'))).toBe(false);
  });
});

describe('--resume on an image folder', () => {
  it.each([
    ['', []],
    [' with --cutmix (the mixing keyed by epoch and position, prefetched in the first part only)', ['--cutmix', '1']],
  ])('after SIGINT, --resume ends bit-identical to an uninterrupted run%s', { timeout: 120_000 }, async (_what, extra) => {
    const dir = tmp('resume');
    // Small batches and many epochs, so that the interruption lands mid-run.
    const args = [...tiny(data, archFile), '--epochs', '150', '--batch-size', '2', '--threads', '2', ...extra];
    const straight = run([...args, '--out', join(dir, 'straight')]);
    expect(straight.status, straight.stderr).toBe(0);

    const cut = join(dir, 'cut');
    const child = spawn(process.execPath, [MAIN, ...args, '--out', cut], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let sent = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!sent && /Epoch 2\/150/.test(stdout)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, stderr + stdout).toBe(130);
    expect(stdout).toMatch(/Interrupted \(SIGINT\)/);
    const state = JSON.parse(decodeSafetensors(new Uint8Array(readFileSync(join(cut, 'last.safetensors')))).metadata.lite_cnn_run!);
    expect(state.epochsCompleted).toBeGreaterThanOrEqual(1);
    expect(state.epochsCompleted).toBeLessThan(150);

    // The first part prefetched (2 threads); the rest runs without: the same bits.
    const resumed = run(['train', '--resume', cut, '--no-prefetch']);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/resuming at epoch/);
    for (const f of ['last.safetensors', 'model.safetensors']) {
      const a = tensors(join(dir, 'straight', f));
      const b = tensors(join(cut, f));
      expect([...b.keys()]).toEqual([...a.keys()]);
      for (const [name, bytes] of a) expect(b.get(name)!.equals(bytes), `${f} ${name}`).toBe(true);
    }
    expect(readFileSync(join(cut, 'history.csv'), 'utf8')).toBe(readFileSync(join(dir, 'straight', 'history.csv'), 'utf8'));
    expect(readFileSync(join(cut, 'split.csv'), 'utf8')).toBe(readFileSync(join(dir, 'straight', 'split.csv'), 'utf8'));
  });
});

describe('--resume of runs that train several models (--cv folds, --ensemble members)', () => {
  /** Starts `args` and sends SIGINT once its stdout matches `when`. */
  async function interrupted(args: string[], when: RegExp): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!sent && when.test(stdout)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    return { code, stdout, stderr };
  }
  const sameTensors = (a: string, b: string) => {
    const [x, y] = [tensors(a), tensors(b)];
    expect([...y.keys()]).toEqual([...x.keys()]);
    for (const [name, bytes] of x) expect(y.get(name)!.equals(bytes), `${b} ${name}`).toBe(true);
  };
  // Many short epochs, so that the interruption lands inside the second fold or member.
  const LONG = ['--epochs', '150', '--batch-size', '1', '--threads', '2'];

  it('--cv: SIGINT in fold 2 keeps fold 1; --resume trains folds 2 and 3 and ends with an uninterrupted run\'s results', { timeout: 240_000 }, async () => {
    const root = tmp('resume-cv');
    const args = [...tiny(data, archFile).filter((x, i, all) => x !== '--test-ratio' && all[i - 1] !== '--test-ratio'), ...LONG, '--cv', '3', '--target-recall', '0.5', '--positive', 'malignant'];
    const straight = run([...args, '--out', join(root, 'straight')]);
    expect(straight.status, straight.stderr).toBe(0);

    const cut = join(root, 'cut');
    const first = await interrupted([...args, '--out', cut], /Fold 2\/3[\s\S]*Epoch 2\/150/);
    expect(first.code, first.stderr + first.stdout).toBe(130);
    expect(first.stdout).toContain('Interrupted after 1 of 3 folds');
    expect(first.stdout).toContain(`Continue with: lite-cnn train --resume ${cut}`);
    expect(existsSync(join(cut, 'fold-1', 'done.json'))).toBe(true);
    expect(existsSync(join(cut, 'fold-2', 'done.json'))).toBe(false);
    expect(JSON.parse(readFileSync(join(cut, 'summary.json'), 'utf8'))).toMatchObject({ status: 'interrupted', signal: 'SIGINT', resume: `lite-cnn train --resume ${cut}` });

    // Other options cannot be given; the thread count may change (results are identical for any).
    expect(run(['train', '--resume', cut, '--cv', '4']).status).toBe(2);
    const resumed = run(['train', '--resume', cut, '--threads', '1']);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('resuming with 1 of 3 folds completed');
    expect(resumed.stdout).toContain('Fold 1/3: completed before the interruption (fold-1/done.json)');
    for (const k of [1, 2, 3]) {
      sameTensors(join(root, 'straight', `fold-${k}`, 'model.safetensors'), join(cut, `fold-${k}`, 'model.safetensors'));
      expect(readFileSync(join(cut, `fold-${k}`, 'history.csv'), 'utf8')).toBe(readFileSync(join(root, 'straight', `fold-${k}`, 'history.csv'), 'utf8'));
    }
    // The fold table and the pooled results, but for the timing columns.
    const untimed = (dir: string) => {
      const cv = JSON.parse(readFileSync(join(dir, 'cv.json'), 'utf8'));
      for (const r of cv.rows) for (const k of ['secondsPerEpoch', 'firstEpochSeconds']) delete r[k];
      delete cv.summary.secondsPerEpoch;
      return cv;
    };
    expect(untimed(cut)).toEqual(untimed(join(root, 'straight')));
    const config = JSON.parse(readFileSync(join(cut, 'config.json'), 'utf8'));
    expect(config.resumes).toHaveLength(1);
    expect(config.resumes[0]).toMatchObject({ completedFolds: 1, engine: { threads: 1 } });
    expect(run(['train', '--resume', cut]).stderr).toContain('this run has already completed; nothing to resume');
  });

  it('--ensemble: SIGINT in member 2 keeps member 1; --resume reads it back and ends with an uninterrupted run\'s model', { timeout: 240_000 }, async () => {
    const root = tmp('resume-ensemble');
    const args = [...tiny(data, archFile), ...LONG, '--ensemble', '2', '--seed', '6'];
    const straight = run([...args, '--out', join(root, 'straight'), '--json']);
    expect(straight.status, straight.stderr).toBe(0);

    const cut = join(root, 'cut');
    const first = await interrupted([...args, '--out', cut], /member 2\/2[\s\S]*Epoch 2\/150/);
    expect(first.code, first.stderr + first.stdout).toBe(130);
    expect(first.stdout).toContain(`Continue with: lite-cnn train --resume ${cut}`);
    expect(existsSync(join(cut, 'member-1', 'done.json'))).toBe(true);
    expect(existsSync(join(cut, 'member-2', 'done.json'))).toBe(false);

    const resumed = run(['train', '--resume', cut, '--json']);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain('resuming with 1 of 2 members completed');
    expect(resumed.stderr).toContain('member member-1 (seed 6): completed before the interruption, read back');
    for (const f of ['model.safetensors', 'member-1/model.safetensors', 'member-2/model.safetensors']) sameTensors(join(root, 'straight', f), join(cut, f));
    expect(JSON.parse(resumed.stdout).test).toEqual(JSON.parse(straight.stdout).test);
  });

  it('refuses to resume when the folder no longer makes the recorded split, and a member record of another seed', { timeout: 120_000 }, async () => {
    const root = tmp('resume-changed');
    const folder = await makeFolder(join(root, 'data'));
    const args = [...tiny(folder, archFile), '--epochs', '1', '--ensemble', '2'];
    const out = join(root, 'run');
    expect(run([...args, '--out', out]).status).toBe(0);
    // Pretend member 2 was cut short.
    rmSync(join(out, 'member-2', 'done.json'));
    writeFileSync(join(out, 'summary.json'), JSON.stringify({ status: 'interrupted' }));
    // Member 1's record is not of the member this run trains with that seed.
    const record = join(out, 'member-1', 'done.json');
    const kept = readFileSync(record, 'utf8');
    writeFileSync(record, JSON.stringify({ ...JSON.parse(kept), seed: 99 }));
    const otherSeed = run(['train', '--resume', out]);
    expect(otherSeed.status).toBe(1);
    expect(otherSeed.stderr).toMatch(/member-1: this member was trained with seed 99, but the run's member here has seed 0/);
    writeFileSync(record, kept);
    // An image and its manifest row removed: the split is no longer the recorded one.
    rmSync(join(folder, 'benign', 'benign-00.jpg'));
    const manifest = join(folder, 'manifest.csv');
    writeFileSync(manifest, readFileSync(manifest, 'utf8').split('\n').filter((l) => !l.startsWith('benign/benign-00.jpg')).join('\n'));
    const changed = run(['train', '--resume', out]);
    expect(changed.status).toBe(1);
    expect(changed.stderr).toMatch(/cannot resume: the images in .* no longer make the split recorded in .*split\.csv \(\d+ image assignments? differ: images added, removed or relabelled\); start a new run/);
  });
});

describe('train --preset P --model arch.json', () => {
  it("trains the arch.json's network with the preset's recipe, recorded in config.json", () => {
    const out = join(tmp('recipe'), 'run');
    const r = run([...tiny(data, archFile), '--preset', 'breakhis', '--epochs', '1', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`lite-cnn train: ${archFile} with the recipe of preset 'breakhis'`);
    const { options, model } = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(options).toMatchObject({ preset: null, architecture: archFile, recipe: 'breakhis', optimizer: 'adam', learningRate: 0.001, l2: { lambda: 0.1, form: 'keras' }, classWeight: 'balanced' });
    expect(options.data.folder.augment).toMatchObject({ rotationRange: 20, horizontalFlip: true });
    // The network is the arch.json's (32x32 input), not the preset's.
    expect(model.inputShape).toEqual([32, 32, 3]);
  });
});

describe('a folder without patient ids', () => {
  it('is split by image, and the run says what that costs', async () => {
    const dir = await makeFolder(join(tmp('no-patients'), 'data'));
    rmSync(join(dir, 'manifest.csv'));
    const r = run([...tiny(dir, archFile), '--epochs', '1', '--out', join(tmp('no-patients-run'), 'run')]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("split by image: no patient ids in a manifest, so one patient's tiles can be in train and test alike");
    // Cross-validation's data line says the same of its folds.
    const noTestRatio = tiny(dir, archFile).filter((a, i, all) => a !== '--test-ratio' && all[i - 1] !== '--test-ratio');
    const cv = run([...noTestRatio, '--epochs', '1', '--cv', '2', '--out', join(tmp('no-patients-cv'), 'run')]);
    expect(cv.status, cv.stderr).toBe(0);
    expect(cv.stdout).toContain("2-fold cross-validation, split by image: no patient ids in a manifest, so one patient's tiles can be in train and test alike");
    const asked = run([...tiny(data, archFile), '--epochs', '1', '--split-by', 'none', '--out', join(tmp('split-none-run'), 'run')]);
    expect(asked.status, asked.stderr).toBe(0);
    expect(asked.stdout).toMatch(/\(split by image[,)]/);
  });
});

describe("the network's head and the data's classes", () => {
  it('a preset builds its classifier head for the folder\'s classes: the BreakHis net on 3 classes', { timeout: 90_000 }, async () => {
    const dir = tmp('preset-head');
    const r = run(['train', '--preset', 'breakhis', '--data', await threeClassFolder(), '--epochs', '1', '--val-ratio', '0.25', '--test-ratio', '0.25', '--out', join(dir, 'run'), '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(modelMetadata(join(dir, 'run', 'model.safetensors')).classNames).toEqual(['benign', 'malignant', 'normal']);
    const head = tensors(join(dir, 'run', 'model.safetensors'));
    // Dense(128) -> Dense(3): 128·3 weights and 3 biases in the last layer; 319,106 + 128 + 1 in all.
    const sizes = [...head.values()].map((b) => b.byteLength / 4);
    expect(sizes.slice(-2)).toEqual([128 * 3, 3]);
    const summary = run(['summary', '--model', join(dir, 'run', 'model.safetensors'), '--json']);
    expect(JSON.parse(summary.stdout).params.trainable).toBe(319_106 + 129);
  });

  it("an arch.json whose last layer does not fit the data's classes is refused before anything is written", async () => {
    const dir = tmp('arch-head');
    const r = run([...tiny(await threeClassFolder(), archFile), '--out', join(dir, 'run')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${archFile}: the network's output has 2 unit(s) (2 classes, layer 'dense'), but the data has 3 classes: make its last Dense layer 3 units`);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('--group-pattern: the slides of one person stay in one split', () => {
  /** The test folder with slide ids b0AB, b0CD, ... : two slides (2 images each) per person, 3 people per class. */
  async function slidesFolder(): Promise<string> {
    const dir = await makeFolder(join(tmp('slides'), 'data'));
    // A person's two slides (AB, CD) have two subtypes of its class (b1 and b2, m1 and m2).
    const rows = ['file,label,patient,subtype'];
    for (const cls of CLASSES) {
      for (let i = 0; i < 12; i++) rows.push(`${cls}/${cls}-${String(i).padStart(2, '0')}.${i % 2 ? 'png' : 'jpg'},${cls},${cls[0]}${Math.floor(i / 4)}${i % 4 < 2 ? 'AB' : 'CD'},${cls[0]}${i % 4 < 2 ? 1 : 2}`);
    }
    writeFileSync(join(dir, 'manifest.csv'), `${rows.join('\n')}\n`);
    return dir;
  }
  const PATTERN = '^[a-z]\\d';

  it('split, train --cv and evaluate --group-by group by the part of each id the pattern matches', { timeout: 120_000 }, async () => {
    const dir = await slidesFolder();
    const slidesOut = join(tmp('slides-split'), 'o');
    const bySlide = run(['split', '--data', dir, '--out', slidesOut, '--val-ratio', '0.3', '--test-ratio', '0.3', '--json']);
    expect(bySlide.status, bySlide.stderr).toBe(0);
    expect(new Set(readSplit(join(slidesOut, 'split.csv')).map((r) => r.group)).size).toBe(12);

    const out = join(tmp('people-split'), 'o');
    const byPerson = run(['split', '--data', dir, '--out', out, '--val-ratio', '0.3', '--test-ratio', '0.3', '--group-pattern', PATTERN, '--json']);
    expect(byPerson.status, byPerson.stderr).toBe(0);
    expect(JSON.parse(byPerson.stdout)).toMatchObject({ grouped: true, groupColumn: 'patient', groupPattern: PATTERN });
    const rows = readSplit(join(out, 'split.csv'));
    expect([...new Set(rows.map((r) => r.group))].sort()).toEqual(['b0', 'b1', 'b2', 'm0', 'm1', 'm2']);
    expectNoPatientInTwoSplits(rows);

    // Cross-validation: every fold (and its validation split) keeps each person whole; config.json records the pattern.
    const cvDir = join(tmp('people-cv'), 'run');
    const noTestRatio = tiny(dir, archFile).filter((a, i, all) => a !== '--test-ratio' && all[i - 1] !== '--test-ratio');
    const cv = run([...noTestRatio, '--epochs', '1', '--cv', '3', '--val-ratio', '0.34', '--group-pattern', PATTERN, '--out', cvDir]);
    expect(cv.status, cv.stderr).toBe(0);
    expect(cv.stdout).toContain(`3-fold cross-validation, split by patient (the part of each id matching /${PATTERN}/)`);
    expect(JSON.parse(readFileSync(join(cvDir, 'config.json'), 'utf8')).options.data.folder.groupPattern).toBe(PATTERN);
    // The CV's test patients are the people, each with both its slides' subtypes.
    const cvPatients = JSON.parse(readFileSync(join(cvDir, 'cv.json'), 'utf8')).patients as { patient: string; subtypes: string[]; images: number }[];
    expect(cvPatients.map((p) => p.patient).sort()).toEqual(['b0', 'b1', 'b2', 'm0', 'm1', 'm2']);
    for (const p of cvPatients) expect([p.subtypes, p.images], p.patient).toEqual([[`${p.patient[0]}1`, `${p.patient[0]}2`], 4]);
    // Per-subtype recall over people: each person counts for both of its subtypes (3 people each).
    const bySubtype = (rows: { subtype: string; images: number }[]) => rows.map((r) => [r.subtype, r.images]);
    const everySubtypeThreePeople = [['b1', 3], ['b2', 3], ['m1', 3], ['m2', 3]];
    expect(bySubtype(JSON.parse(readFileSync(join(cvDir, 'cv.json'), 'utf8')).subtypes.patients)).toEqual(everySubtypeThreePeople);
    for (const k of [1, 2, 3]) {
      const fold = readSplit(join(cvDir, `fold-${k}`, 'split.csv'));
      expect(fold.every((r) => /^[bm]\d$/.test(r.group)), `fold ${k}`).toBe(true);
      expectNoPatientInTwoSplits(fold);
    }

    // evaluate --group-by pools a person's slides with --group-pattern, and each slide without it.
    const model = join(cvDir, 'fold-1', 'model.safetensors');
    const evaluate = (extra: string[]) => {
      const r = run(['evaluate', '--model', model, '--data', dir, '--split', 'all', '--group-by', 'patient', ...extra, '--json']);
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout).groups;
    };
    expect(evaluate([]).groups).toBe(12);
    const people = evaluate(['--group-pattern', PATTERN]);
    expect(people.groups).toBe(6);
    expect(bySubtype(people.subtypes)).toEqual(everySubtypeThreePeople);
    // Each person: both slides' subtypes, and how many of its images the image decision gets right
    // (against predict on every image; fold-1/split.csv lists them all with their person).
    const images = readSplit(join(cvDir, 'fold-1', 'split.csv'));
    const predicted = run(['predict', '--model', model, ...images.map((r) => join(dir, r.path)), '--json']);
    expect(predicted.status, predicted.stderr).toBe(0);
    const preds = JSON.parse(predicted.stdout).predictions as { class: string }[];
    for (const g of people.perGroup as { group: string; subtypes: string[]; images: number; correct: number }[]) {
      expect(g.subtypes, g.group).toEqual([`${g.group[0]}1`, `${g.group[0]}2`]);
      const own = images.flatMap((r, i) => (r.group === g.group ? [r.class === preds[i]!.class] : []));
      expect(g.images).toBe(own.length);
      expect(g.correct, g.group).toBe(own.filter(Boolean).length);
    }
  });

  it('--split-seed fixes the split and the folds while --seed changes the model', { timeout: 120_000 }, async () => {
    const dir = await slidesFolder();
    const splitFile = (seed: string) => {
      const out = join(tmp(`split-seed-${seed}`), 'o');
      const r = run(['split', '--data', dir, '--out', out, '--val-ratio', '0.25', '--test-ratio', '0.25', '--seed', seed, '--json']);
      expect(r.status, r.stderr).toBe(0);
      return readFileSync(join(out, 'split.csv'), 'utf8');
    };
    const trained = (extra: string[]) => {
      const out = join(tmp('split-seed-train'), 'run');
      const r = run([...tiny(dir, archFile), '--epochs', '1', ...extra, '--out', out]);
      expect(r.status, r.stderr).toBe(0);
      return { out, stdout: r.stdout, split: readFileSync(join(out, 'split.csv'), 'utf8'), model: readFileSync(join(out, 'model.safetensors')) };
    };
    // The split is the one `split --seed 7` makes, whatever --seed (which alone still seeds both, as before).
    const seven = splitFile('7');
    expect(splitFile('5')).not.toBe(seven);
    const a = trained(['--seed', '5', '--split-seed', '7']);
    const b = trained(['--seed', '7']);
    expect(a.split).toBe(seven);
    expect(b.split).toBe(seven);
    expect(a.stdout).toContain('seed 5 (split seed 7)');
    expect(b.stdout).not.toContain('split seed');
    expect(Buffer.compare(a.model, b.model)).not.toBe(0);
    expect(JSON.parse(readFileSync(join(a.out, 'config.json'), 'utf8')).options.data.folder.splitSeed).toBe(7);
    // Without split.csv, evaluate re-makes the split with the run's split seed.
    rmSync(join(a.out, 'split.csv'));
    const remade = run(['evaluate', '--model', join(a.out, 'model.safetensors'), '--data', dir, '--split', 'test']);
    expect(remade.status, remade.stderr).toBe(0);
    expect(remade.stdout).toMatch(/test split re-made: .*, seed 7\)/);

    // Cross-validation: the same folds (and validation splits) for every --seed.
    const noTestRatio = tiny(dir, archFile).filter((x, i, all) => x !== '--test-ratio' && all[i - 1] !== '--test-ratio');
    const folds = (seed: string) => {
      const out = join(tmp(`split-seed-cv-${seed}`), 'run');
      const r = run([...noTestRatio, '--epochs', '1', '--cv', '3', '--seed', seed, '--split-seed', '3', '--out', out]);
      expect(r.status, r.stderr).toBe(0);
      return [1, 2, 3].map((k) => readFileSync(join(out, `fold-${k}`, 'split.csv'), 'utf8'));
    };
    expect(folds('1')).toEqual(folds('2'));

    // Folder splits only: MNIST's is fixed.
    const mnist = run(['train', '--split-seed', '3', '--limit', '10']);
    expect(mnist.status).toBe(2);
    expect(mnist.stderr).toContain('--split-seed only apply to image folders (--data DIR)');
  });

  it('--ensemble trains its members on one split, stores their mean, and chooses its threshold on it', { timeout: 180_000 }, async () => {
    const dir = await slidesFolder();
    const common = [...tiny(dir, archFile), '--epochs', '2', '--split-seed', '4', '--positive', 'malignant', '--target-recall', '0.5'];
    const out = join(tmp('ensemble'), 'run');
    const r = run([...common, '--seed', '3', '--ensemble', '2', '--out', out, '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('lite-cnn train --ensemble 2:');
    expect(r.stderr).toContain('ensemble of 2, seeds 3-4 (split seed 4)');
    expect(r.stderr).toMatch(/member 1\/2 \(seed 3\)[\s\S]*member 2\/2 \(seed 4\)/);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ status: 'completed', operatingPoint: { className: 'malignant', targetRecall: 0.5 } });
    expect(summary.test.samples).toBeGreaterThan(0);
    for (const f of ['model.safetensors', 'split.csv', 'config.json', 'summary.json', 'member-1/model.safetensors', 'member-1/history.csv', 'member-2/model.safetensors']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    // One model file: the members' layers under the Average, the ensemble's own threshold.
    const header = (file: string) => {
      const bytes = readFileSync(file);
      return JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8'));
    };
    const meta = header(join(out, 'model.safetensors')).__metadata__;
    const topology = JSON.parse(Object.values(meta).find((v) => typeof v === 'string' && v.includes('"ensemble_mean"')) as string);
    expect(topology.layers.at(-1)).toMatchObject({ kind: 'Average', name: 'ensemble_mean' });
    expect(topology.layers.map((l: { name: string }) => l.name)).toContain('m2.dense');
    const evaluated = run(['evaluate', '--model', join(out, 'model.safetensors'), '--data', dir, '--json']);
    expect(evaluated.status, evaluated.stderr).toBe(0);
    expect(JSON.parse(evaluated.stdout).samples).toBe(summary.test.samples);

    // Member 1 is the model a plain run with the first seed trains (same split, same seed).
    const single = join(tmp('ensemble-single'), 'run');
    const s = run([...common, '--seed', '3', '--out', single]);
    expect(s.status, s.stderr).toBe(0);
    const weights = (file: string) => {
      const bytes = readFileSync(file);
      return bytes.subarray(8 + Number(bytes.readBigUInt64LE(0)));
    };
    expect(Buffer.compare(weights(join(out, 'member-1', 'model.safetensors')), weights(join(single, 'model.safetensors')))).toBe(0);
    expect(readFileSync(join(out, 'split.csv'), 'utf8')).toBe(readFileSync(join(single, 'split.csv'), 'utf8'));

    // Cross-validation: every fold trains its members and stores their ensemble.
    const noTestRatio = tiny(dir, archFile).filter((x, i, all) => x !== '--test-ratio' && all[i - 1] !== '--test-ratio');
    const cvDir = join(tmp('ensemble-cv'), 'run');
    const cv = run([...noTestRatio, '--epochs', '1', '--cv', '2', '--ensemble', '2', '--out', cvDir]);
    expect(cv.status, cv.stderr).toBe(0);
    for (const k of [1, 2]) {
      for (const f of ['model.safetensors', 'split.csv', 'member-1/model.safetensors', 'member-2/history.csv']) expect(existsSync(join(cvDir, `fold-${k}`, f)), `fold ${k} ${f}`).toBe(true);
    }
    expect(JSON.parse(readFileSync(join(cvDir, 'cv.json'), 'utf8')).completed).toBe(2);
    // As if stopped in fold 2's second member: --resume reads fold 1 and fold 2's first member back.
    const cvBefore = JSON.parse(readFileSync(join(cvDir, 'cv.json'), 'utf8'));
    const fold2 = readFileSync(join(cvDir, 'fold-2', 'model.safetensors'));
    for (const f of ['fold-2/done.json', 'fold-2/member-2/done.json']) rmSync(join(cvDir, f));
    writeFileSync(join(cvDir, 'summary.json'), JSON.stringify({ status: 'interrupted' }));
    const cvResumed = run(['train', '--resume', cvDir]);
    expect(cvResumed.status, cvResumed.stderr).toBe(0);
    expect(cvResumed.stdout).toContain('Fold 1/2: completed before the interruption');
    expect(cvResumed.stdout).toMatch(/member member-1 \(seed 0\): completed before the interruption, read back[\s\S]*member 2\/2 \(seed 1\)/);
    expect(readFileSync(join(cvDir, 'fold-2', 'model.safetensors')).equals(fold2)).toBe(true);
    const untimed = (cv: { rows: Record<string, unknown>[] }) => cv.rows.map(({ secondsPerEpoch: _s, firstEpochSeconds: _f, ...rest }) => rest);
    expect(untimed(JSON.parse(readFileSync(join(cvDir, 'cv.json'), 'utf8')))).toEqual(untimed(cvBefore));

    // Completed: nothing to resume. Not with --threshold-cv; not with a network whose output is not softmax.
    for (const done of [out, cvDir]) {
      const resumed = run(['train', '--resume', done]);
      expect(resumed.status).toBe(1);
      expect(resumed.stderr).toContain('this run has already completed; nothing to resume');
    }
    const withInnerCv = run([...common, '--ensemble', '2', '--threshold-cv', '2', '--out', join(tmp('ensemble-inner'), 'run')]);
    expect(withInnerCv.status).toBe(2);
    expect(withInnerCv.stderr).toContain('it cannot be combined with --threshold-cv');
    const logitsArch = join(tmp('ensemble-logits'), 'arch.json');
    writeFileSync(logitsArch, JSON.stringify({ inputShape: [32, 32, 3], layers: [{ kind: 'Flatten' }, { kind: 'Dense', units: 2, name: 'logits' }] }));
    const logits = run(['train', '--data', dir, '--model', logitsArch, '--ensemble', '2', '--out', join(tmp('ensemble-logits'), 'run')]);
    expect(logits.status).toBe(1);
    expect(logits.stderr).toContain("--ensemble 2 averages the members' softmax probabilities, but this network cannot be a member: it ends in Dense 'logits'");
  });

  it('refuses a pattern it cannot apply, naming the flag, the value and the manifest line', async () => {
    const dir = await slidesFolder();
    const bad = run(['split', '--data', dir, '--out', join(tmp('bad-pattern'), 'o'), '--group-pattern', '[']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--group-pattern: expected a regular expression, got '\['/);
    const none = run(['split', '--data', dir, '--out', join(tmp('none-pattern'), 'o'), '--split-by', 'none', '--group-pattern', PATTERN]);
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('--group-pattern cuts the group of a grouped split: it cannot be combined with --split-by none');
    const unmatchedOut = join(tmp('unmatched-pattern'), 'o');
    const unmatched = run(['split', '--data', dir, '--out', unmatchedOut, '--group-pattern', '^b']);
    expect(unmatched.status).toBe(1);
    expect(unmatched.stderr).toMatch(/manifest\.csv: line 14: the patient 'm0AB' does not match the group pattern \/\^b\//);
    expect(existsSync(join(unmatchedOut, 'split.csv'))).toBe(false);
    // Without patient ids there is nothing to cut: an error, not a silent split by image.
    const bare = await makeFolder(join(tmp('no-ids'), 'data'));
    rmSync(join(bare, 'manifest.csv'));
    const noIds = run(['split', '--data', bare, '--out', join(tmp('no-ids-split'), 'o'), '--group-pattern', PATTERN]);
    expect(noIds.status).toBe(1);
    expect(noIds.stderr).toContain(`--group-pattern /${PATTERN}/ groups by patient id, but ${bare} has no manifest.csv; drop the pattern to split by image`);
    const noIdsTrain = run([...tiny(bare, archFile), '--epochs', '1', '--group-pattern', PATTERN, '--out', join(tmp('no-ids-train'), 'run')]);
    expect(noIdsTrain.status).toBe(1);
    expect(noIdsTrain.stderr).toContain('groups by patient id, but');
    const alone = run(['evaluate', '--model', join(tmp('x'), 'model.safetensors'), '--data', dir, '--group-pattern', PATTERN]);
    expect(alone.status).toBe(2);
    expect(alone.stderr).toContain('--group-pattern cuts the --group-by column: it needs --group-by COLUMN');
  });
});

describe('lite-cnn split', () => {
  it('writes split.csv and copies the files into train/ val/ test/<class>/', () => {
    const out = join(tmp('split'), 'out');
    const r = run(['split', '--data', data, '--out', out, '--val-ratio', '0.25', '--test-ratio', '0.25', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.grouped).toBe(true);
    expect(result.splits.map((s: { images: number }) => s.images).reduce((a: number, b: number) => a + b, 0)).toBe(24);
    for (const s of result.splits) {
      expect(Object.values(s.perClass as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(s.images);
      expect(s.patients).toBeGreaterThan(0);
      for (const c of CLASSES) expect(readdirSync(join(out, s.split, c))).toHaveLength(s.perClass[c]);
    }
    const rows = readSplit(join(out, 'split.csv'));
    expect(rows).toHaveLength(24);
    expectNoPatientInTwoSplits(rows);
    for (const row of rows) expect(existsSync(join(out, row.split, row.class, row.path.split('/').at(-1)!)), row.path).toBe(true);

    const text = run(['split', '--data', data, '--out', join(tmp('split-text'), 'o'), '--split-by', 'none']);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/split by image/);
    expect(text.stdout).toMatch(/^train\s+\d+\s+\d+\s+\d+$/m);

    // A second split into the same folder is refused and changes nothing.
    const before = readdirSync(out).sort();
    const again = run(['split', '--data', data, '--out', out]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/split\.csv already exists/);
    expect(readdirSync(out).sort()).toEqual(before);
  });
});

describe('stain augmentation and normalization', () => {
  it('--stain-normalize stores the training split\'s target; evaluate and predict apply it as training did', { timeout: 90_000 }, () => {
    const dir = join(tmp('stain'), 'run');
    const r = run([...tiny(data, archFile), '--epochs', '1', '--stain-normalize', 'reinhard', '--stain-scale', '0.1', '--stain-shift', '0.02', '--stain-randomize', '0.5', '--out', dir, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    // Patients are known (manifest.csv): the test split is also scored per patient, in summary.json and report.html.
    const testPatients = new Set(readSplit(join(dir, 'split.csv')).filter((s) => s.split === 'test').map((s) => s.group)).size;
    expect(summary.test.patients.groups).toBe(testPatients);
    expect(summary.test.patients.accuracy).toBeGreaterThanOrEqual(0);
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toMatch(/Patients and subtypes/);
    const md = modelMetadata(join(dir, 'model.safetensors')) as unknown as { stainNormalization: { kind: string; mean: number[]; std: number[] } };
    expect(md.stainNormalization.kind).toBe('reinhard');
    expect(md.stainNormalization.mean).toHaveLength(3);
    expect(md.stainNormalization.std.every((v) => v > 0)).toBe(true);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(config.options.data.folder.stainNormalize).toBe('reinhard');
    expect(config.options.data.folder.augment).toMatchObject({ stainScale: 0.1, stainShift: 0.02, stainRandomize: 0.5, stainRandomizeProbability: 1 });
    // Stain randomization's distribution is fitted on the training split (of the normalized images).
    const trainImages = readSplit(join(dir, 'split.csv')).filter((s) => s.split === 'train').length;
    expect(config.data.description).toContain(`stain randomization (spread 0.5, fitted on ${trainImages} training images)`);
    expect(config.data.source.stainRandomization.images).toBe(trainImages);
    expect(config.data.source.stainRandomization.stds.mean.every((v: number) => v > 0)).toBe(true);
    // The test split evaluated again from the files: the same normalization, the same accuracy.
    const ev = run(['evaluate', '--model', join(dir, 'model.safetensors'), '--data', data, '--json']);
    expect(ev.status, ev.stderr).toBe(0);
    const evaluated = JSON.parse(ev.stdout);
    expect(evaluated.data).toMatch(/reinhard stain normalization/);
    expect(evaluated.accuracy).toBeCloseTo(summary.test.accuracy, 10);
    const p = run(['predict', '--model', join(dir, 'model.safetensors'), join(data, 'benign', 'benign-00.jpg'), '--json']);
    expect(p.status, p.stderr).toBe(0);
    expect(JSON.parse(p.stdout).predictions).toHaveLength(1);
    const explained = join(dir, 'explain');
    const x = run(['explain', '--model', join(dir, 'model.safetensors'), join(data, 'benign', 'benign-00.jpg'), '--out', explained]);
    expect(x.status, x.stderr).toBe(0);
    expect(readdirSync(explained).length).toBeGreaterThan(0);
  });

  it('evaluate --tta and --group-by patient: group-level metrics beside the image-level ones', { timeout: 60_000 }, () => {
    const dir = join(tmp('groups'), 'run');
    const trained = run([...tiny(data, archFile), '--epochs', '1', '--out', dir, '--json']);
    expect(trained.status, trained.stderr).toBe(0);
    const model = join(dir, 'model.safetensors');
    const r = run(['evaluate', '--model', model, '--data', data, '--split', 'all', '--tta', 'd4', '--group-by', 'patient', '--aggregate', 'vote', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const ev = JSON.parse(r.stdout);
    expect(ev.tta).toBe('d4');
    expect(ev.groups.column).toBe('patient');
    expect(ev.groups.method).toBe('vote');
    expect(ev.groups.groups).toBe(12); // 2 images per patient
    expect(ev.groups.perGroup.reduce((a: number, g: { images: number }) => a + g.images, 0)).toBe(24);
    for (const g of ev.groups.perGroup) expect(g.predicted).toBe(g.score >= 0.5 ? 1 : 0);
    const text = run(['evaluate', '--model', model, '--data', data, '--split', 'all', '--group-by', 'patient']);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/per patient \(12 groups, mean of their images\): accuracy/);
    expect(text.stdout).toMatch(/loss \d+\.\d+ {3}/);
    // The loss is not test-time augmented: the line says so.
    const ttaText = run(['evaluate', '--model', model, '--data', data, '--split', 'all', '--tta', 'flips']);
    expect(ttaText.stdout).toMatch(/loss \d+\.\d+ \(of the plain images\)/);
    const noGroup = run(['evaluate', '--model', model, '--data', data, '--aggregate', 'median']);
    expect(noGroup.status).toBe(2);
    expect(noGroup.stderr).toMatch(/--aggregate needs --group-by COLUMN/);
    const badColumn = run(['evaluate', '--model', model, '--data', data, '--group-by', 'ward']);
    expect(badColumn.status).toBe(1);
    expect(badColumn.stderr).toMatch(/expected the group column 'ward'/);
    const p = run(['predict', '--model', model, join(data, 'benign', 'benign-00.jpg'), '--tta', 'flips', '--json']);
    expect(p.status, p.stderr).toBe(0);
    expect(JSON.parse(p.stdout).tta).toBe('flips');
  });

  it('bad stain options are usage errors naming the option', () => {
    const bad = run([...tiny(data, archFile), '--stain-normalize', 'vahadane']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--stain-normalize.*vahadane/);
    const range = run([...tiny(data, archFile), '--stain-scale', '1.5']);
    expect(range.status).not.toBe(0);
    expect(range.stderr).toMatch(/stainScale must be a number in \[0, 1\], got 1.5/);
    const probability = run([...tiny(data, archFile), '--stain-randomize', '1', '--stain-randomize-probability', '0']);
    expect(probability.status).toBe(2);
    expect(probability.stderr).toMatch(/--stain-randomize-probability.*expected a factor in \(0, 1\], got '0'/);
    const off = run([...tiny(data, archFile), '--stain-randomize', '1', '--no-augment']);
    expect(off.status).toBe(2);
    expect(off.stderr).toMatch(/--stain-randomize cannot be combined with --no-augment/);
    const mnist = run(['train', '--stain-normalize', 'macenko']);
    expect(mnist.status).toBe(2);
    expect(mnist.stderr).toMatch(/--stain-normalize only apply to image folders/);
  });
});

describe('train --cv', () => {
  it('trains a fresh model per fold and writes cv.csv, cv.json and the report', { timeout: 60_000 }, () => {
    const dir = join(tmp('cv'), 'run');
    const r = run([...tiny(data, archFile).filter((a, i, all) => a !== '--test-ratio' && all[i - 1] !== '--test-ratio'), '--epochs', '2', '--cv', '3', '--positive', 'malignant', '--target-recall', '0.9', '--out', dir, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.cv.rows).toHaveLength(3);
    expect(out.cv.summary.accuracy.n).toBe(3);
    // Patient-level metrics per fold (the folder's manifest has patients) and their mean.
    for (const row of out.cv.rows) expect(row.patientAccuracy).toBeGreaterThanOrEqual(0);
    expect(out.cv.summary.patientAccuracy.n).toBe(3);
    // Every test patient once, from the fold that tested it, against the fold model's own predictions
    // (predict on the fold's test images): its images right at the stored decision, the mean malignant
    // probability of its images and the patient's decision on it.
    const patients = out.cv.patients as { patient: string; fold: number; label: string; subtypes: string[]; images: number; correct: number; score: number; decided: string }[];
    expect(patients).toHaveLength(12);
    for (const k of [1, 2, 3]) {
      const test = readSplit(join(dir, `fold-${k}`, 'split.csv')).filter((s) => s.split === 'test');
      const mine = patients.filter((p) => p.fold === k);
      expect(mine.map((p) => p.patient).sort()).toEqual([...new Set(test.map((s) => s.group))].sort());
      const row = out.cv.rows[k - 1];
      expect(mine.reduce((a, p) => a + p.correct, 0)).toBe(Math.round(row.accuracyAtThreshold * row.testImages));
      const predicted = run(['predict', '--model', join(dir, `fold-${k}`, 'model.safetensors'), ...test.map((s) => join(data, s.path)), '--json']);
      expect(predicted.status, predicted.stderr).toBe(0);
      const preds = JSON.parse(predicted.stdout).predictions as { class: string; probabilities: { malignant: number } }[];
      for (const p of mine) {
        const own = test.flatMap((s, i) => (s.group === p.patient ? [{ s, pred: preds[i]! }] : []));
        expect(p.images).toBe(own.length);
        expect(p.label).toBe(own[0]!.s.class);
        expect(p.subtypes).toEqual([]); // the manifest has no subtype column
        expect(p.correct).toBe(own.filter(({ s, pred }) => pred.class === s.class).length);
        expect(p.score).toBeCloseTo(own.reduce((a, { pred }) => a + pred.probabilities.malignant, 0) / own.length, 6);
        expect(p.decided).toBe(p.score >= row.threshold ? 'malignant' : 'benign');
      }
    }
    const accuracies = patients.map((p) => p.correct / p.images);
    expect(accuracies).toEqual([...accuracies].sort((a, b) => a - b)); // worst first
    const missed = patients.filter((p) => p.correct < p.images);
    expect(r.stderr).toContain(missed.length ? `test patients with misclassified images (${missed.length} of 12` : 'test patients: all 12 have every image right');
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toMatch(/Test patients/);
    expect(r.stderr).toMatch(/mean ± std/);
    expect(r.stderr).toMatch(/ AUC +ECE /); // the expected calibration error per fold, as in cv.csv
    const csv = readFileSync(join(dir, 'cv.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toMatch(/^fold,train_images,val_images,test_images,test_patients,accuracy,recall,precision,f1,macro_f1,auc,threshold/);
    expect(csv).toHaveLength(4);
    for (const f of ['cv.json', 'config.json', 'summary.json', 'report.html', 'fold-1/model.safetensors', 'fold-3/split.csv', 'fold-2/history.csv']) expect(existsSync(join(dir, f)), f).toBe(true);
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toMatch(/Cross-validation folds/);
    // Every image is tested exactly once over the folds, and no fold's patients leak.
    const tested = [1, 2, 3].flatMap((k) => readSplit(join(dir, `fold-${k}`, 'split.csv')).filter((s) => s.split === 'test').map((s) => s.path));
    expect(tested.sort()).toEqual(readSplit(join(dir, 'fold-1', 'split.csv')).map((s) => s.path).sort());
    for (const k of [1, 2, 3]) expectNoPatientInTwoSplits(readSplit(join(dir, `fold-${k}`, 'split.csv')));
    expect(modelMetadata(join(dir, 'fold-1', 'model.safetensors')).threshold?.positiveClass).toBe(1);
    // config.json records the preprocessing every fold used (it said 'none' before, whatever the folds had).
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(config.data.preprocessing).toEqual({ kind: 'minmax' });
    expect(modelMetadata(join(dir, 'fold-2', 'model.safetensors')).preprocessing).toEqual({ kind: 'minmax' });

    // Statistics fitted per fold: config.json says so (null), each fold's model file holds its own;
    // so does cv.json for each fold's stain randomization distribution.
    const standardized = join(tmp('cv-standardize'), 'run');
    const s = run([...tiny(data, archFile).filter((a, i, all) => a !== '--test-ratio' && all[i - 1] !== '--test-ratio'), '--epochs', '1', '--cv', '2', '--preprocess', 'standardize', '--stain-randomize', '1', '--out', standardized]);
    expect(s.status, s.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(standardized, 'config.json'), 'utf8')).data.preprocessing).toBeNull();
    const cvRows = JSON.parse(readFileSync(join(standardized, 'cv.json'), 'utf8')).rows as { trainImages: number; stainRandomization: { images: number; means: { mean: number[] } } }[];
    for (const row of cvRows) expect(row.stainRandomization.images).toBe(row.trainImages);
    expect(cvRows[0]!.stainRandomization.means.mean).not.toEqual(cvRows[1]!.stainRandomization.means.mean);
    expect(out.cv.rows[0].stainRandomization).toBeNull();
    const [p1, p2] = [1, 2].map((k) => modelMetadata(join(standardized, `fold-${k}`, 'model.safetensors')).preprocessing as { kind: string; mean: number[] });
    expect(p1!.kind).toBe('standardize');
    expect(p1!.mean).not.toEqual(p2!.mean);

    const both = run([...tiny(data, archFile), '--cv', '3']);
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/--cv K tests on each fold in turn: --test-ratio does not apply/);
  });
});

describe('train --threshold-cv', () => {
  interface InnerChoice { folds: number; images: number; patients: number; epochs: number; losses: number[]; threshold: number; recall: number; innerFolds: { images: number; patients: number }[] }
  const readChoice = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as InnerChoice;
  /** The choice is consistent: every pool image scored once, the epoch with the lowest pooled loss, the threshold stored in the model. */
  function expectConsistent(choice: InnerChoice, model: string, poolImages: number, poolPatients: number): void {
    expect(choice.folds).toBe(2);
    expect(choice.images).toBe(poolImages);
    expect(choice.patients).toBe(poolPatients);
    expect(choice.innerFolds.reduce((a, f) => a + f.images, 0)).toBe(poolImages);
    expect(choice.losses).toHaveLength(3);
    expect(choice.epochs).toBe(choice.losses.indexOf(Math.min(...choice.losses)) + 1);
    expect(choice.recall).toBeGreaterThanOrEqual(0.9);
    expect(modelMetadata(model).threshold).toEqual({ positiveClass: 1, value: choice.threshold });
  }

  it('one split: the threshold and epoch count from a 2-fold CV of the train+val patients; the stored model trains on all of them', { timeout: 90_000 }, () => {
    const dir = join(tmp('tcv'), 'run');
    const r = run([...tiny(data, archFile), '--epochs', '3', '--threshold-cv', '2', '--positive', 'malignant', '--target-recall', '0.9', '--out', dir, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    const split = readSplit(join(dir, 'split.csv'));
    expectNoPatientInTwoSplits(split);
    // No validation split is left: the stored model's training split is the whole pool.
    expect(new Set(split.map((s) => s.split))).toEqual(new Set(['train', 'test']));
    const pool = split.filter((s) => s.split === 'train');
    const choice = readChoice(join(dir, 'threshold-cv.json'));
    expectConsistent(choice, join(dir, 'model.safetensors'), pool.length, new Set(pool.map((s) => s.group)).size);
    expect(summary.operatingPoint).toMatchObject({ threshold: choice.threshold, targetRecall: 0.9, validation: { samples: pool.length } });
    expect(summary.bestEpoch).toBe(choice.epochs);
    expect(summary.epochs.completed).toBe(choice.epochs);
    expect(readFileSync(join(dir, 'history.csv'), 'utf8').trim().split('\n')).toHaveLength(choice.epochs + 1);
    expect(summary.test.atThreshold.threshold).toBe(choice.threshold);
    expect(r.stderr).toMatch(/inner fold 2\/2/);
    // evaluate reads the stored threshold back.
    const ev = run(['evaluate', '--model', join(dir, 'model.safetensors'), '--data', data, '--split-csv', join(dir, 'split.csv'), '--json']);
    expect(ev.status, ev.stderr).toBe(0);
    expect(JSON.parse(ev.stdout).threshold.value).toBe(choice.threshold);
  });

  it('a one-unit sigmoid model: the threshold on its output (positive class 1)', { timeout: 90_000 }, () => {
    const dir = tmp('tcv-sigmoid');
    const sigmoid = join(dir, 'arch-sigmoid.json');
    writeFileSync(sigmoid, JSON.stringify({ inputShape: [32, 32, 3], layers: [{ kind: 'Conv2D', filters: 4, kernelSize: 3, strides: 2, activation: 'relu' }, { kind: 'Flatten' }, { kind: 'Dense', units: 1, activation: 'sigmoid' }] }));
    const r = run([...tiny(data, sigmoid), '--epochs', '3', '--threshold-cv', '2', '--positive', 'malignant', '--target-recall', '0.9', '--out', join(dir, 'run'), '--json']);
    expect(r.status, r.stderr).toBe(0);
    const pool = readSplit(join(dir, 'run', 'split.csv')).filter((s) => s.split === 'train');
    expectConsistent(readChoice(join(dir, 'run', 'threshold-cv.json')), join(dir, 'run', 'model.safetensors'), pool.length, new Set(pool.map((s) => s.group)).size);
  });

  it('in --cv: each fold chooses on its own training patients, never on its test fold', { timeout: 120_000 }, () => {
    const dir = join(tmp('cv-tcv'), 'run');
    const r = run([...tiny(data, archFile).filter((a, i, all) => a !== '--test-ratio' && all[i - 1] !== '--test-ratio'), '--epochs', '3', '--cv', '3', '--threshold-cv', '2', '--positive', 'malignant', '--target-recall', '0.9', '--out', dir, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.cv.scheme).toMatchObject({ thresholdCv: 2, validationRatio: null });
    for (const k of [1, 2, 3]) {
      const split = readSplit(join(dir, `fold-${k}`, 'split.csv'));
      expectNoPatientInTwoSplits(split);
      const pool = split.filter((s) => s.split === 'train');
      expect(pool.length + split.filter((s) => s.split === 'test').length).toBe(split.length);
      const choice = readChoice(join(dir, `fold-${k}`, 'threshold-cv.json'));
      expectConsistent(choice, join(dir, `fold-${k}`, 'model.safetensors'), pool.length, new Set(pool.map((s) => s.group)).size);
      const row = out.cv.rows[k - 1];
      expect(row).toMatchObject({ threshold: choice.threshold, bestEpoch: choice.epochs, epochs: choice.epochs, valImages: choice.images, trainImages: pool.length });
    }

    // As if stopped in fold 3: --resume reads folds 1 and 2 back (their split.csv is the pool/test one) and retrains fold 3 alike.
    const fold3 = readFileSync(join(dir, 'fold-3', 'model.safetensors'));
    rmSync(join(dir, 'fold-3', 'done.json'));
    writeFileSync(join(dir, 'summary.json'), JSON.stringify({ status: 'interrupted' }));
    const resumed = run(['train', '--resume', dir, '--json']);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain('resuming with 2 of 3 folds completed');
    expect(readFileSync(join(dir, 'fold-3', 'model.safetensors')).equals(fold3)).toBe(true);
    const again = JSON.parse(resumed.stdout);
    const untimed = (rows: Record<string, unknown>[]) => rows.map(({ secondsPerEpoch: _s, firstEpochSeconds: _f, ...rest }) => rest);
    expect(untimed(again.cv.rows)).toEqual(untimed(out.cv.rows));
  });

  it('a standalone --threshold-cv run resumes after its completed inner folds and retrains the final model alike', { timeout: 90_000 }, () => {
    const dir = join(tmp('tcv-resume'), 'run');
    const r = run([...tiny(data, archFile), '--epochs', '2', '--threshold-cv', '2', '--positive', 'malignant', '--target-recall', '0.9', '--out', dir, '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(dir, 'inner-fold-1', 'done.json')) && existsSync(join(dir, 'inner-fold-2', 'done.json'))).toBe(true);
    const model = readFileSync(join(dir, 'model.safetensors'));
    const choice = readFileSync(join(dir, 'threshold-cv.json'), 'utf8');
    // As if stopped in inner fold 2.
    rmSync(join(dir, 'inner-fold-2', 'done.json'));
    writeFileSync(join(dir, 'summary.json'), JSON.stringify({ status: 'interrupted' }));
    const resumed = run(['train', '--resume', dir, '--json']);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain('resuming with 1 of 2 inner folds completed');
    expect(resumed.stderr).toContain('inner fold 1/2: completed before the interruption, read back');
    expect(resumed.stderr).toMatch(/inner fold 2\/2: train \d+ images/);
    expect(readFileSync(join(dir, 'model.safetensors')).equals(model)).toBe(true);
    expect(readFileSync(join(dir, 'threshold-cv.json'), 'utf8')).toBe(choice);
    expect(JSON.parse(resumed.stdout).test).toEqual(JSON.parse(r.stdout).test);
  });
});

describe('train --calibrate', () => {
  type Calibration = { kind: 'temperature'; temperature: number } | { kind: 'platt'; slope: number; intercept: number };
  const calibrationOf = (path: string) => (JSON.parse(decodeSafetensors(new Uint8Array(readFileSync(path))).metadata.metadata!) as { calibration?: Calibration | null }).calibration ?? null;

  it('fits on the validation split before the threshold, stores both, and predict / evaluate / summary apply and report it', { timeout: 90_000 }, () => {
    const dir = join(tmp('calibrate'), 'run');
    const r = run([...tiny(data, archFile), '--epochs', '2', '--calibrate', 'platt', '--target-recall', '0.9', '--positive', 'malignant', '--out', dir, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    const model = join(dir, 'model.safetensors');
    const stored = calibrationOf(model)!;
    expect(stored.kind).toBe('platt');
    expect(summary.calibration).toMatchObject({ ...stored, samples: readSplit(join(dir, 'split.csv')).filter((x) => x.split === 'val').length });
    expect(summary.calibration.nll.after).toBeLessThanOrEqual(summary.calibration.nll.before);
    expect(r.stderr).toMatch(/calibration\s+Platt: slope -?\d+\.\d+, intercept -?\d+\.\d+ \(stored in model\.safetensors\): validation NLL/);
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).options.calibration).toBe('platt');

    // evaluate reports the calibrated probabilities' figures and the network's own beside them.
    const ev = run(['evaluate', '--model', model, '--data', data, '--split', 'all', '--json']);
    expect(ev.status, ev.stderr).toBe(0);
    const evJson = JSON.parse(ev.stdout);
    expect(evJson.calibration.stored).toEqual(stored);
    for (const m of [evJson.calibration, evJson.calibration.uncalibrated]) {
      expect(m.ece).toBeGreaterThanOrEqual(0);
      expect(m.reliability).toHaveLength(15);
      expect(m.reliability.reduce((a: number, b: { samples: number }) => a + b.samples, 0)).toBe(24);
    }
    const text = run(['evaluate', '--model', model, '--data', data, '--split', 'all']);
    expect(text.stdout).toMatch(/calibration: ECE \d+\.\d% \(15 bins\), Brier \d\.\d{4}, NLL \d+\.\d{4} \(stored Platt: .*; the network's own outputs: ECE/);

    // predict prints the calibrated probabilities: Platt's map of the network's own, recomputed here from the logit.
    const image = join(data, 'malignant', 'malignant-00.jpg');
    const p = run(['predict', '--model', model, image, '--json']);
    expect(p.status, p.stderr).toBe(0);
    const pj = JSON.parse(p.stdout);
    expect(pj.calibration).toEqual(stored);
    const q = pj.predictions[0].probabilities.malignant as number;
    expect(q).toBeGreaterThan(0);
    expect(q).toBeLessThan(1);
    expect(run(['predict', '--model', model, image]).stdout).toMatch(/probabilities calibrated: Platt: slope/);
    expect(run(['summary', '--model', model]).stdout).toMatch(/Probability calibration: Platt: slope/);
  });

  it('temperature in --cv: each fold fits its own on its validation split; cv.csv reports the test ECE and Brier score', { timeout: 90_000 }, () => {
    const dir = join(tmp('cv-calibrate'), 'run');
    const r = run([...tiny(data, archFile).filter((a, i, all) => a !== '--test-ratio' && all[i - 1] !== '--test-ratio'), '--epochs', '1', '--cv', '2', '--calibrate', 'temperature', '--out', dir, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const rows = JSON.parse(readFileSync(join(dir, 'cv.json'), 'utf8')).rows as { calibration: Calibration; ece: number; brier: number }[];
    for (const [k, row] of rows.entries()) {
      expect(row.calibration).toEqual(calibrationOf(join(dir, `fold-${k + 1}`, 'model.safetensors')));
      expect(row.calibration.kind).toBe('temperature');
      expect(row.ece).toBeGreaterThanOrEqual(0);
      expect(row.brier).toBeGreaterThanOrEqual(0);
    }
    expect(readFileSync(join(dir, 'cv.csv'), 'utf8').split('\n')[0]).toMatch(/patient_recall,ece,brier,epochs/);
    expect(r.stderr).toMatch(/calibration temperature \d+\.\d{4} \(validation NLL/);
  });

  it('with --threshold-cv: fitted on the pooled out-of-fold probabilities, the threshold chosen on them calibrated', { timeout: 90_000 }, () => {
    const dir = join(tmp('tcv-calibrate'), 'run');
    const r = run([...tiny(data, archFile), '--epochs', '2', '--threshold-cv', '2', '--calibrate', 'temperature', '--positive', 'malignant', '--target-recall', '0.9', '--out', dir, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const choice = JSON.parse(readFileSync(join(dir, 'threshold-cv.json'), 'utf8')) as { images: number; threshold: number; calibration: { config: Calibration; samples: number } };
    expect(choice.calibration.samples).toBe(choice.images);
    expect(calibrationOf(join(dir, 'model.safetensors'))).toEqual(choice.calibration.config);
    expect(modelMetadata(join(dir, 'model.safetensors')).threshold?.value).toBe(choice.threshold);
    expect(JSON.parse(r.stdout).calibration).toMatchObject(choice.calibration.config);
  });

  it('lite-cnn calibrate: a trained model calibrated afterwards on its validation split, its threshold carried so every decision stays', { timeout: 90_000 }, () => {
    const dir = join(tmp('calibrate-after'), 'run');
    const r = run([...tiny(data, archFile), '--epochs', '2', '--target-recall', '0.9', '--positive', 'malignant', '--out', dir]);
    expect(r.status, r.stderr).toBe(0);
    const model = join(dir, 'model.safetensors');
    const calibrated = join(dir, 'calibrated.safetensors');
    const c = run(['calibrate', '--model', model, '--data', data, '--method', 'temperature', '--out', calibrated, '--json']);
    expect(c.status, c.stderr).toBe(0);
    const result = JSON.parse(c.stdout);
    const val = readSplit(join(dir, 'split.csv')).filter((x) => x.split === 'val').length;
    expect(result.calibration).toMatchObject({ kind: 'temperature', samples: val });
    expect(result.data).toMatch(/validation split of .*split\.csv/);
    expect(calibrationOf(calibrated)).toEqual({ kind: 'temperature', temperature: result.calibration.temperature });
    expect(calibrationOf(model)).toBeNull();
    const stored = modelMetadata(model).threshold!;
    expect(result.threshold).toEqual({ positiveClass: stored.positiveClass, before: stored.value, after: modelMetadata(calibrated).threshold!.value });
    // The same decisions on every image, now on calibrated probabilities.
    const evaluate = (m: string) => JSON.parse(run(['evaluate', '--model', m, '--data', data, '--split', 'all', '--split-csv', join(dir, 'split.csv'), '--json']).stdout);
    const [a, b] = [evaluate(model), evaluate(calibrated)];
    expect(b.confusionMatrix).toEqual(a.confusionMatrix);
    expect(b.calibration.stored).toEqual(calibrationOf(calibrated));
    expect(b.calibration.uncalibrated.nll).toBeCloseTo(a.calibration.nll, 6);
    // evaluate --split val reads the same validation images the calibration was fitted on.
    const v = run(['evaluate', '--model', calibrated, '--data', data, '--split', 'val', '--json']);
    expect(v.status, v.stderr).toBe(0);
    expect(JSON.parse(v.stdout).samples).toBe(val);
    const same = run(['calibrate', '--model', model, '--data', data, '--method', 'platt', '--out', model]);
    expect(same.status).toBe(2);
    expect(same.stderr).toMatch(/--out must differ from --model/);
  });

  it('bad use is refused before anything is written', async () => {
    const three = run([...tiny(await threeClassFolder(), arch(tmp('calibrate-3'), 3)), '--calibrate', 'platt', '--out', join(tmp('calibrate-3-run'), 'run')]);
    expect(three.status).toBe(1);
    expect(three.stderr).toMatch(/--calibrate platt fits binary models; this one has 3 classes \(use --calibrate temperature\)/);
    const noVal = run([...tiny(data, archFile).filter((a, i, all) => a !== '--val-ratio' && all[i - 1] !== '--val-ratio'), '--val-ratio', '0', '--calibrate', 'temperature']);
    expect(noVal.status).toBe(2);
    expect(noVal.stderr).toMatch(/--calibrate fits on the validation split .* it needs --val-ratio > 0/);
    const unknown = run([...tiny(data, archFile), '--calibrate', 'isotonic']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/--calibrate.*isotonic.*temperature, platt/);
  });
});

const ONNX_FIXTURE = fileURLToPath(new URL('../../../tests/onnx/fixtures/tiny.onnx', import.meta.url));

function topology(path: string): { layers: { kind: string; name: string; units?: number }[]; trainable: boolean[] } {
  return JSON.parse(decodeSafetensors(new Uint8Array(readFileSync(path))).metadata.topology!);
}

describe('import and train --from: a pretrained ONNX network fine-tuned on the folder', () => {
  it('import writes a model file and reports the ops found', () => {
    const dir = tmp('import');
    const r = run(['import', ONNX_FIXTURE, '--out', join(dir, 'tiny.safetensors'), '--json']);
    expect(r.status, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info).toMatchObject({ opset: 13, inputShape: [28, 28, 3], outputShape: [1, 1, 3] });
    expect(info.ops).toEqual({ Add: 1, AveragePool: 1, BatchNormalization: 1, Clip: 1, Constant: 2, Conv: 3, Flatten: 1, Gemm: 1, MaxPool: 1, Relu: 2, Softmax: 1 });
    const text = run(['import', ONNX_FIXTURE, '--out', join(dir, 'again.safetensors')]);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/ONNX opset 13, made by pytorch \S+; ops found: Add x1, AveragePool x1, BatchNormalization x1, Clip x1, Constant x2, Conv x3/);
    expect(text.stdout).toMatch(/Wrote .*again\.safetensors: 13 layers/);
    const s = run(['summary', '--model', ONNX_FIXTURE]);
    expect(s.status, s.stderr).toBe(0);
    expect(s.stdout).toMatch(/Total params/);
  });

  it('train --from: a new head for the folder\'s 2 classes; only the last --trainable-last layers change', { timeout: 90_000 }, () => {
    const dir = tmp('from');
    const imported = join(dir, 'tiny.safetensors');
    expect(run(['import', ONNX_FIXTURE, '--out', imported]).status).toBe(0);
    const out = join(dir, 'run');
    const r = run(['train', '--from', ONNX_FIXTURE, '--trainable-last', '5', '--data', data, '--epochs', '1', '--val-ratio', '0.25', '--test-ratio', '0.25', '--out', out, '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/fine-tuned \(last 5 layers trainable\)/);
    const trainedFile = join(out, 'model.safetensors');
    const t = topology(trainedFile);
    // The imported Softmax after the Gemm is gone: the new head is Dense(2, softmax).
    expect(t.layers.map((l) => l.kind)).toEqual(['Conv2D', 'BatchNormalization', 'ReLU', 'MaxPooling2D', 'DepthwiseConv2D', 'ReLU', 'ReLU', 'Conv2D', 'Add', 'AveragePooling2D', 'Flatten', 'Dense']);
    expect(t.layers.at(-1)!.units).toBe(2);
    expect(t.trainable).toEqual([...Array(7).fill(false), ...Array(5).fill(true)]);
    expect(modelMetadata(trainedFile).preprocessing).toMatchObject({ kind: 'standardize', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
    const before = tensors(imported);
    const after = tensors(trainedFile);
    // Frozen: the stem convolution, the BatchNorm (statistics too: inference mode) and the depthwise convolution.
    for (const name of ['layers.0.kernel', 'layers.1.gamma', 'layers.1.moving_mean', 'layers.1.moving_variance', 'layers.4.kernel', 'layers.4.bias']) expect(after.get(name)!.equals(before.get(name)!), name).toBe(true);
    // Trainable: the 1x1 convolution of the second branch moved.
    expect(after.get('layers.7.kernel')!.equals(before.get('layers.7.kernel')!)).toBe(false);
    expect(after.get('layers.11.kernel')!.length).toBe(8 * 7 * 7 * 2 * 4);
  });

  it("train --from a lite-cnn model file keeps the preprocessing it was trained with; --preprocess overrides it", { timeout: 90_000 }, () => {
    const dir = tmp('from-own');
    // A 'standardize' model: its file stores the channel statistics fitted on its own training split.
    const source = join(dir, 'source');
    expect(run([...tiny(data, archFile), '--preprocess', 'standardize', '--epochs', '1', '--out', source]).status).toBe(0);
    const stored = modelMetadata(join(source, 'model.safetensors')).preprocessing as { kind: string; mean: number[]; std: number[] };
    expect(stored.kind).toBe('standardize');
    const sourceFile = join(source, 'model.safetensors');
    const tuned = join(dir, 'tuned');
    // A different split of the same folder would fit other statistics: the file's are kept as they are.
    const r = run(['train', '--from', sourceFile, '--trainable-last', '3', '--data', data, '--epochs', '1', '--val-ratio', '0.5', '--test-ratio', '0.25', '--out', tuned]);
    expect(r.status, r.stderr).toBe(0);
    expect(modelMetadata(join(tuned, 'model.safetensors')).preprocessing).toEqual(stored);
    const overridden = join(dir, 'overridden');
    expect(run(['train', '--from', sourceFile, '--preprocess', 'minmax', '--data', data, '--epochs', '1', '--val-ratio', '0.25', '--test-ratio', '0.25', '--out', overridden]).status).toBe(0);
    expect(modelMetadata(join(overridden, 'model.safetensors')).preprocessing).toEqual({ kind: 'minmax' });
  });

  it('--from needs --data and excludes --preset, --model and --l2', () => {
    const l2 = run(['train', '--from', ONNX_FIXTURE, '--data', data, '--l2', '0.1']);
    expect(l2.status).toBe(2);
    expect(l2.stderr).toMatch(/--l2 sets the kernel penalty of a --preset or --model network; a --from model keeps the regularizers stored with its layers/);
    const noData = run(['train', '--from', ONNX_FIXTURE]);
    expect(noData.status).toBe(2);
    expect(noData.stderr).toMatch(/--from fine-tunes a pretrained model on an image folder: it needs --data DIR/);
    const both = run(['train', '--from', ONNX_FIXTURE, '--preset', 'breakhis', '--data', data]);
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/give one of --preset, --model arch.json or --from model.onnx\|model.safetensors, not --preset and --from/);
  });
});

describe('bad input: a clear message, a non-zero exit, nothing half-written', () => {
  /** Runs train into <fresh dir>/run and checks that the run dir was not left behind. */
  function failing(args: string[]): SpawnSyncReturns<string> & { dir: string } {
    const dir = tmp('bad');
    const r = run([...args, '--out', join(dir, 'run')]);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(readdirSync(dir), 'the run directory is removed').toEqual([]);
    return { ...r, dir };
  }

  /** A copy of the test folder with extra files (and their manifest rows). */
  async function folderWith(name: string, extras: Extra[]): Promise<string> {
    return makeFolder(join(tmp(name), 'data'), extras);
  }

  async function jpeg(): Promise<Buffer> {
    return sharp(pixels(1, 0, 32, 32), { raw: { width: 32, height: 32, channels: 3 } }).jpeg().toBuffer();
  }

  it('a missing folder', () => {
    const r = failing([...tiny(join(root, 'nowhere'), archFile)]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/expected a folder with one sub-folder per class, but .*nowhere does not exist/);
  });

  it('a class folder with no images', async () => {
    const dir = await folderWith('empty-class', []);
    mkdirSync(join(dir, 'normal'));
    writeFileSync(join(dir, 'normal', 'notes.txt'), 'no images here');
    const r = failing(tiny(dir, archFile));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/class folder 'normal' .* has no images; expected files ending in \.png, \.jpg.* \(1 other file ignored\)/);
  });

  it('a corrupt JPEG: --on-bad-image fail stops naming the file; skip goes on and prints the count', async () => {
    const good = await jpeg();
    const dir = await folderWith('corrupt', [{ file: 'malignant/broken.jpg', bytes: good.subarray(0, Math.floor(good.length / 2)), patient: 'm0' }]);
    const r = failing([...tiny(dir, archFile), '--on-bad-image', 'fail']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot decode .*malignant\/broken\.jpg/);

    const ok = run([...tiny(dir, archFile), '--epochs', '1', '--on-bad-image', 'skip', '--out', join(r.dir, 'run')]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/1 image skipped/);
    const config = JSON.parse(readFileSync(join(r.dir, 'run', 'config.json'), 'utf8'));
    expect(config.data.source.skipped).toHaveLength(1);
    expect(config.data.source.skipped[0].path).toMatch(/broken\.jpg$/);
  });

  it('a non-image file is ignored and counted', async () => {
    const dir = await folderWith('non-image', [{ file: 'benign/readme.txt', bytes: Buffer.from('not an image') }]);
    const out = join(tmp('non-image-run'), 'run');
    const r = run([...tiny(dir, archFile), '--epochs', '1', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/0 images skipped, 1 non-image file ignored/);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).data.source.ignored[0]).toMatch(/readme\.txt$/);
  });

  it('a text file named .png: fail names it; skip leaves it out', async () => {
    const dir = await folderWith('fake-png', [{ file: 'benign/fake.png', bytes: Buffer.from('this is text, not a PNG\n'), patient: 'b0' }]);
    const r = failing(tiny(dir, archFile));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot decode .*benign\/fake\.png/);
    const ok = run([...tiny(dir, archFile), '--epochs', '1', '--on-bad-image', 'skip', '--out', join(r.dir, 'run')]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/1 image skipped/);
  });

  it('a 16-bit PNG and a CMYK JPEG are accepted and converted to 8-bit RGB (as the SDK decoder does)', async () => {
    const w = 32;
    const png16 = await sharp(pixels(0, 1, w, w), { raw: { width: w, height: w, channels: 3 } }).toColourspace('rgb16').png().toBuffer();
    expect((await sharp(png16).metadata()).depth).toBe('ushort');
    const cmyk = await sharp(pixels(1, 2, w, w), { raw: { width: w, height: w, channels: 3 } }).toColourspace('cmyk').jpeg().toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const dir = await folderWith('wide-cmyk', [
      { file: 'benign/wide16.png', bytes: png16, patient: 'b1' },
      { file: 'malignant/cmyk.jpg', bytes: cmyk, patient: 'm1' },
    ]);
    const out = join(tmp('wide-cmyk-run'), 'run');
    const r = run([...tiny(dir, archFile), '--epochs', '1', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/0 images skipped/);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).data.source.images).toBe(26);
    const p = run(['predict', '--model', join(out, 'model.safetensors'), join(dir, 'benign', 'wide16.png'), join(dir, 'malignant', 'cmyk.jpg'), '--json']);
    expect(p.status, p.stderr).toBe(0);
    expect(JSON.parse(p.stdout).predictions).toHaveLength(2);
  });

  it('an unknown preset and --epochs 0 are usage errors (exit 2)', () => {
    const preset = failing(['train', '--preset', 'resnet', '--data', data]);
    expect(preset.status).toBe(2);
    expect(preset.stderr).toMatch(/argument 'resnet' is invalid\. Allowed choices are mnist, breakhis/);
    const epochs = failing([...tiny(data, archFile), '--epochs', '0']);
    expect(epochs.status).toBe(2);
    expect(epochs.stderr).toMatch(/'--epochs <n>' argument '0' is invalid\. expected a positive integer, got '0'/);
  });

  it('an unwritable --out', () => {
    const dir = tmp('unwritable');
    writeFileSync(join(dir, 'a-file'), 'x');
    const r = run([...tiny(data, archFile), '--out', join(dir, 'a-file', 'run')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot create the run directory .*a-file\/run: ENOTDIR/);
    expect(readdirSync(dir)).toEqual(['a-file']);
  });

  it('evaluate: a --split-csv naming images the folder does not have', () => {
    const dir = tmp('bad-split');
    const csv = join(dir, 'split.csv');
    writeFileSync(csv, 'path,label,class,group,split\nbenign/gone.jpg,0,benign,b9,test\n');
    const model = join(root, 'run1', 'model.safetensors');
    const r = run(['evaluate', '--model', model, '--data', data, '--split-csv', csv]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/1 of its 1 test images are not in/);
  });
});

describe.skipIf(!existsSync(BREAKHIS))('the BreakHis 200X tiles', () => {
  it('a 1-epoch --preset breakhis --limit 64 run creates every output; no patient is in two splits', { timeout: 180_000 }, () => {
    const dir = join(tmp('breakhis'), 'run');
    const r = run(['train', '--preset', 'breakhis', '--data', BREAKHIS, '--epochs', '1', '--limit', '64', '--target-recall', '0.9', '--positive', 'malignant', '--out', dir, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.status).toBe('completed');
    for (const f of ['model.safetensors', 'last.safetensors', 'history.csv', 'config.json', 'split.csv', 'summary.json', 'report.html', 'loss.png', 'accuracy.png', 'confusion_matrix.png', 'roc.png']) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    const split = readSplit(join(dir, 'split.csv'));
    expect(split).toHaveLength(697);
    expectNoPatientInTwoSplits(split);
    expect(new Set(split.filter((s) => s.split === 'test').map((s) => s.class))).toEqual(new Set(['benign', 'malignant']));
    expect(modelMetadata(join(dir, 'model.safetensors')).threshold?.positiveClass).toBe(1);
  });
});

if (!existsSync(BREAKHIS)) console.log(`data-folder.test.ts: skipping the BreakHis tests: ${BREAKHIS} is absent`);
