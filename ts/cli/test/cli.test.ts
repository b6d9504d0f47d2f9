/**
 * The built CLI end to end (`npm run build` first): spawned as users run it,
 * on tiny MNIST subsets (`--limit`) so it stays quick on 2 cores.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors } from '@lite-cnn/sdk';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `lite-cnn-cli-${name}-`));

function run(args: string[], opts: { cwd?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', cwd: opts.cwd ?? tmpdir(), env: { ...process.env, LITE_CNN_DEBUG: '' } });
}

/** Tensors of a model file, optimizer slots left out (they are compared separately when present). */
function tensors(path: string): Map<string, Buffer> {
  const file = decodeSafetensors(new Uint8Array(readFileSync(path)));
  return new Map([...file.tensors].map(([name, t]) => [name, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)]));
}

describe('lite-cnn --help', () => {
  it.each([[], ['train'], ['summary'], ['evaluate'], ['calibrate'], ['predict'], ['profile'], ['info']])('%s --help exits 0 with usage', (...cmd) => {
    const r = run([...cmd, '--help']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Usage: lite-cnn/);
  });

  it('info says which artifact runs: relaxed SIMD by default in Node, the exact one on request', () => {
    const auto = JSON.parse(run(['info', '--json', '--threads', '1']).stdout) as Record<string, unknown>;
    expect(auto).toMatchObject({ artifact: 'threaded-relaxed', relaxedSimd: true, simd128: true, threads: 1 });
    const exact = JSON.parse(run(['info', '--json', '--threads', '1', '--artifact', 'exact']).stdout) as Record<string, unknown>;
    expect(exact).toMatchObject({ artifact: 'threaded', relaxedSimd: false });
    const bad = run(['info', '--artifact', 'fast']);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/artifact must be one of 'auto', 'exact', 'relaxed'.*got 'fast'/);
  });

  it('train --help documents the options and outputs', () => {
    const out = run(['train', '--help']).stdout;
    for (const flag of ['--preset', '--model', '--epochs', '--batch-size', '--lr', '--optimizer', '--l2', '--l2-form', '--weight-decay', '--class-weight', '--patience', '--lr-schedule', '--eval-every', '--threads', '--no-prefetch', '--seed', '--out', '--resume', '--json', '--limit', '--data', '--image-size', '--aspect', '--preprocess', '--split-by', '--group-pattern', '--val-ratio', '--test-ratio', '--augment', '--oversample', '--on-bad-image', '--split-seed', '--ensemble', '--label-smoothing', '--mixup', '--cutmix']) {
      expect(out).toContain(flag);
    }
    expect(out).toMatch(/history\.csv/);
  });
});

describe('usage errors exit 2 with a clear message', () => {
  it.each([
    [['train', '--preset', 'foo'], /argument 'foo' is invalid\. Allowed choices are mnist, breakhis/],
    [['train', '--epochs', '0'], /'--epochs <n>' argument '0' is invalid\. expected a positive integer, got '0'/],
    [['train', '--batch-size', '-1'], /'--batch-size <n>' argument '-1' is invalid\. expected a positive integer/],
    [['train', '--bogus'], /unknown option '--bogus'/],
    [['train', '--preset', 'breakhis'], /--preset breakhis needs --data DIR/],
    [['train', '--image-size', '64'], /--image-size only apply to image folders/],
    [['train', '--weight-decay', '0.01'], /--weight-decay is AdamW's decoupled decay: add --optimizer adamw/],
    [['train', '--resume', '/nowhere', '--epochs', '2'], /--resume takes the run's options from its config.json; --epochs cannot be changed/],
    [['train', '--label-smoothing', '1'], /'--label-smoothing <s>' argument '1' is invalid\. expected a fraction in \[0, 1\), got '1'/],
    [['train', '--mixup', '0'], /'--mixup <alpha>' argument '0' is invalid\. expected a number > 0, got '0'/],
    [['train', '--mixup', '0.2', '--cutmix', '1'], /--mixup and --cutmix cannot be combined: choose one/],
    [['summary'], /exactly one of --preset NAME or --model FILE/],
    [['profile'], /exactly one of --preset NAME or --model FILE/],
    [['profile', '--preset', 'mnist', '--runs', '0'], /'--runs <n>' argument '0' is invalid\. expected a positive integer/],
    [['evaluate', '--model', 'm.safetensors'], /give --data DIR .* or --mnist/],
  ])('%j', (args, message) => {
    const r = run(args as string[]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message as RegExp);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});

describe('lite-cnn train on MNIST', () => {
  it('--label-smoothing trains against smoothed targets (Keras label_smoothing) and config.json records it', { timeout: 120_000 }, () => {
    const base = ['train', '--limit', '256', '--seed', '3', '--json'];
    const plain = run([...base, '--out', join(tmp('smoothing'), 'plain')]);
    const dir = join(tmp('smoothing'), 'smoothed');
    const smoothed = run([...base, '--label-smoothing', '0.2', '--out', dir]);
    expect(smoothed.status, smoothed.stderr).toBe(0);
    expect(smoothed.stderr).toContain('label smoothing 0.2');
    expect(plain.stderr).not.toContain('label smoothing');
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(config.options.labelSmoothing).toBe(0.2);
    // Same seed, same batches: only the targets differ, so the training loss does; smoothed targets can't be fitted to 0 loss.
    const loss = (r: typeof plain) => JSON.parse(r.stdout).validation.loss as number;
    expect(loss(smoothed)).not.toBe(loss(plain));
  });

  it('--mixup and --cutmix mix the training batches, recorded in config.json and the recipe line; the same seed repeats the run', { timeout: 180_000 }, () => {
    const base = ['train', '--limit', '256', '--seed', '3', '--json'];
    const plain = run([...base, '--out', join(tmp('mix'), 'plain')]);
    const loss = (r: typeof plain) => JSON.parse(r.stdout).validation.loss as number;
    for (const [flagName, kind, alpha, name] of [['--mixup', 'mixup', 0.4, 'MixUp'], ['--cutmix', 'cutmix', 1, 'CutMix']] as const) {
      const dir = join(tmp('mix'), kind);
      const r = run([...base, flagName, String(alpha), '--out', dir]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toContain(`${name} α ${alpha}`);
      const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
      expect(config.options.mix).toEqual({ kind, alpha });
      // Same seed and batches: only the mixing differs, so the validation loss does; a rerun repeats it.
      expect(loss(r)).not.toBe(loss(plain));
      const again = run([...base, flagName, String(alpha), '--out', join(tmp('mix'), `${kind}-again`)]);
      expect(loss(again)).toBe(loss(r));
    }
    expect(plain.stderr).not.toMatch(/MixUp|CutMix/);
  });

  it('--ensemble: two members on the fixed split, one averaged model that evaluate reads back', { timeout: 120_000 }, () => {
    const dir = join(tmp('ensemble'), 'run');
    const r = run(['train', '--ensemble', '2', '--seed', '5', '--limit', '512', '--out', dir, '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('ensemble of 2, seeds 5-6');
    const summary = JSON.parse(r.stdout);
    expect(summary.status).toBe('completed');
    for (const f of ['model.safetensors', 'member-1/model.safetensors', 'member-2/model.safetensors', 'member-2/history.csv']) expect(existsSync(join(dir, f)), f).toBe(true);
    const ev = run(['evaluate', '--model', join(dir, 'model.safetensors'), '--mnist', '--limit', '512', '--json']);
    expect(ev.status, ev.stderr).toBe(0);
    expect(JSON.parse(ev.stdout).accuracy).toBeCloseTo(summary.test.accuracy, 10);
  });


  it('creates every output in the run directory; evaluate and summary read the model back', { timeout: 120_000 }, () => {
    const dir = join(tmp('train'), 'run');
    const r = run(['train', '--epochs', '1', '--limit', '512', '--eval-every', '8', '--out', dir, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.status).toBe('completed');
    expect(summary.test.accuracy).toBeGreaterThan(0.3);
    expect(r.stderr).toMatch(/validation accuracy/);
    for (const f of ['model.safetensors', 'last.safetensors', 'history.csv', 'config.json', 'summary.json', 'report.html']) expect(existsSync(join(dir, f)), f).toBe(true);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    const csv = readFileSync(join(dir, 'history.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('step,epoch,loss,accuracy,lr,val_loss,val_accuracy');
    expect(csv).toHaveLength(1 + 2 + 1); // evaluation points at steps 8 and 16, then the epoch row (16 steps)
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(config.options).toMatchObject({ preset: 'mnist', epochs: 1, batchSize: 32, optimizer: 'adam', learningRate: 0.01, seed: 0 });
    expect(config.data.preprocessing).toEqual({ kind: 'minmax' });
    expect(config.model.layers.map((l: { kind: string }) => l.kind)).toEqual(['Conv2D', 'Conv2D', 'Flatten', 'Dense']);

    const model = decodeSafetensors(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
    expect(JSON.parse(model.metadata.metadata!)).toMatchObject({ classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], preprocessing: { kind: 'minmax' } });
    expect(decodeSafetensors(new Uint8Array(readFileSync(join(dir, 'last.safetensors')))).tensors.has('optimizer.slot1')).toBe(true);

    const ev = run(['evaluate', '--model', join(dir, 'model.safetensors'), '--mnist', '--limit', '512', '--json']);
    expect(ev.status, ev.stderr).toBe(0);
    const evaluation = JSON.parse(ev.stdout);
    expect(evaluation.samples).toBe(512);
    expect(evaluation.accuracy).toBeCloseTo(summary.test.accuracy, 10);
    expect(evaluation.confusionMatrix).toHaveLength(10);
    // Ten classes: temperature scaling on train's validation split (the last 5,000 training images), then evaluated there.
    const cal = run(['calibrate', '--model', join(dir, 'model.safetensors'), '--mnist', '--limit', '512', '--method', 'temperature', '--out', join(dir, 'calibrated.safetensors'), '--json']);
    expect(cal.status, cal.stderr).toBe(0);
    const calibrated = JSON.parse(cal.stdout);
    expect(calibrated).toMatchObject({ data: 'MNIST (bundled) validation split (the last 5,000 training images)', calibration: { kind: 'temperature', samples: 512 }, threshold: null });
    const val = JSON.parse(run(['evaluate', '--model', join(dir, 'calibrated.safetensors'), '--mnist', '--split', 'val', '--limit', '512', '--json']).stdout);
    expect(val.calibration.stored.kind).toBe('temperature');
    // The same images: evaluate's figures are the ones calibrate reported after fitting.
    expect(val.calibration.nll).toBeCloseTo(calibrated.metrics.after.nll, 5);
    expect(val.calibration.uncalibrated.ece).toBeCloseTo(calibrated.metrics.before.ece, 5);
    expect(run(['calibrate', '--model', join(dir, 'model.safetensors'), '--mnist', '--method', 'platt', '--out', join(dir, 'p.safetensors')]).stderr).toMatch(/--method platt fits binary models; this one has 10 classes \(use --method temperature\)/);

    const text = run(['summary', '--model', join(dir, 'model.safetensors')]);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/Total params: 3,554/);
    expect(text.stdout).toMatch(/Preprocessing: minmax/);

    // The trained model's inference pass, layer by layer; training steps leave the file's model as it was.
    const prof = run(['profile', '--model', join(dir, 'model.safetensors'), '--threads', '1', '--runs', '3']);
    expect(prof.status, prof.stderr).toBe(0);
    expect(prof.stdout).toMatch(/^Profile: inference, batch 1, 3 timed pass\(es\), 1 thread\(s\)/);
    expect(prof.stdout).toMatch(/conv2d \(Conv2D\) +\[13, 13, 8\] +\d+\.\d{3} +\d+\.\d%/);
    expect(prof.stdout).toMatch(/flatten \(Flatten\) +\[1, 1, 288\] +no step of its own/);
    const tprof = JSON.parse(run(['profile', '--model', join(dir, 'model.safetensors'), '--training', '--batch-size', '8', '--runs', '2', '--json']).stdout);
    expect(tprof).toMatchObject({ mode: 'training', batchSize: 8, runs: 2 });
    expect(tprof.layers.map((l: { name: string }) => l.name)).toEqual(['conv2d', 'conv2d_1', 'flatten', 'dense']);
    expect(tprof.layers[0].backwardMs).toBeGreaterThan(0);
  });

  it('summary of a preset and of an architecture file', () => {
    const s = run(['summary', '--preset', 'breakhis']);
    expect(s.status, s.stderr).toBe(0);
    expect(s.stdout).toMatch(/Trainable params: 319,106/);
    expect(s.stdout).toMatch(/l2\(0\.1\)/);
    const dir = tmp('arch');
    const arch = join(dir, 'arch.json');
    writeFileSync(arch, JSON.stringify({ inputShape: [28, 28, 1], layers: [{ kind: 'Conv2D', filters: 4, kernelSize: [3, 3], strides: [2, 2] }, { kind: 'Flatten' }, { kind: 'Dense', units: 10, activation: 'softmax' }] }));
    const a = run(['summary', '--model', arch, '--json']);
    expect(a.status, a.stderr).toBe(0);
    expect(JSON.parse(a.stdout).params.total).toBe(4 * 9 + 4 + 13 * 13 * 4 * 10 + 10);
  });

  it('graph architectures: torchvision presets and an arch.json with inbound layers train and load back', { timeout: 120_000 }, () => {
    const r18 = run(['summary', '--preset', 'resnet18', '--json']);
    expect(r18.status, r18.stderr).toBe(0);
    // torchvision's 11,689,512 at 1000 classes, with a 2-class head: - 512·998 - 998.
    expect(JSON.parse(r18.stdout).params.trainable).toBe(11_689_512 - 512 * 998 - 998);
    const dir = tmp('graph');
    const arch = join(dir, 'graph.json');
    // A residual block: conv -> relu -> conv, added to the first conv's output.
    writeFileSync(
      arch,
      JSON.stringify({
        name: 'residual',
        inputShape: [28, 28, 1],
        layers: [
          { kind: 'Conv2D', filters: 8, kernelSize: 3, strides: 2, activation: 'relu' },
          { kind: 'Conv2D', filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' },
          { kind: 'Add' },
          { kind: 'GlobalAveragePooling2D' },
          { kind: 'Dense', units: 10, activation: 'softmax' },
        ],
        inbound: [[-1], [0], [1, 0], [2], [3]],
      }),
    );
    const t = run(['train', '--model', arch, '--limit', '256', '--epochs', '1', '--out', join(dir, 'run'), '--json']);
    expect(t.status, t.stderr).toBe(0);
    expect(JSON.parse(t.stdout).status).toBe('completed');
    const text = run(['summary', '--model', join(dir, 'run', 'model.safetensors')]);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/add \(Add\)\s+\[None, 13, 13, 8\]\s+0/);
    const p = run(['evaluate', '--model', join(dir, 'run', 'model.safetensors'), '--mnist', '--limit', '64', '--json']);
    expect(p.status, p.stderr).toBe(0);
  });

  it('an unwritable --out exits 1 with a clear message and leaves nothing behind', () => {
    const dir = tmp('unwritable');
    writeFileSync(join(dir, 'a-file'), 'x');
    const r = run(['train', '--limit', '64', '--out', join(dir, 'a-file', 'run')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot create the run directory .*a-file\/run: ENOTDIR/);
    expect(readdirSync(dir)).toEqual(['a-file']);
  });

  it('a failing run removes the run directory it created (bad architecture file)', () => {
    const dir = tmp('badarch');
    writeFileSync(join(dir, 'arch.json'), JSON.stringify([{ kind: 'Conv2D', filters: -1, kernelSize: 3, inputShape: [28, 28, 1] }]));
    const r = run(['train', '--model', join(dir, 'arch.json'), '--limit', '64', '--out', join(dir, 'run')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/layer 0 \(Conv2D\): .*filters must be a positive integer, got -1/);
    expect(readdirSync(dir)).toEqual(['arch.json']);
  });

  it('Ctrl-C leaves a valid last checkpoint and history (exit 130); --resume ends bit-identical to an uninterrupted run', { timeout: 240_000 }, async () => {
    const root = tmp('resume');
    const args = ['train', '--limit', '6000', '--epochs', '3', '--threads', '2'];
    const straight = run([...args, '--out', join(root, 'straight')]);
    expect(straight.status, straight.stderr).toBe(0);

    const dir = join(root, 'interrupted');
    const child = spawn(process.execPath, [MAIN, ...args, '--out', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      // Interrupt once the first epoch is done, in the middle of the second.
      if (/Epoch 1\/3/.test(stdout) && !child.killed) setTimeout(() => child.kill('SIGINT'), 150);
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, stderr + stdout).toBe(130);
    expect(stdout).toMatch(/Interrupted \(SIGINT\)/);
    expect(stdout).toMatch(/lite-cnn train --resume/);
    const last = decodeSafetensors(new Uint8Array(readFileSync(join(dir, 'last.safetensors'))));
    expect(last.tensors.has('optimizer.slot2')).toBe(true);
    const state = JSON.parse(last.metadata.lite_cnn_run!);
    expect(state.epochsCompleted).toBeGreaterThanOrEqual(1);
    expect(state.epochsCompleted).toBeLessThan(3);
    const rows = readFileSync(join(dir, 'history.csv'), 'utf8').trim().split('\n');
    expect(rows.length).toBeGreaterThanOrEqual(1 + state.epochsCompleted);
    expect(JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')).status).toBe('interrupted');

    const resumed = run(['train', '--resume', dir]);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/resuming at epoch/);
    for (const f of ['last.safetensors', 'model.safetensors']) {
      const a = tensors(join(root, 'straight', f));
      const b = tensors(join(dir, f));
      expect([...b.keys()]).toEqual([...a.keys()]);
      for (const [name, bytes] of a) expect(b.get(name)!.equals(bytes), `${f} ${name}`).toBe(true);
    }
    expect(readFileSync(join(dir, 'history.csv'), 'utf8')).toBe(readFileSync(join(root, 'straight', 'history.csv'), 'utf8'));
    // A completed run has nothing left to resume.
    const again = run(['train', '--resume', dir]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/already completed/);
  });
});

describe('predict, evaluate and explain need class scores', () => {
  it('a model whose output is a feature map (no classifier head) is refused with what to do, exit 2', async () => {
    const { Conv2D, Engine, Sequential } = await import('@lite-cnn/sdk');
    const sharp = (await import('sharp')).default;
    const dir = tmp('headless');
    const engine = await Engine.create({ threads: 1 });
    const backbone = new Sequential([new Conv2D({ filters: 4, kernelSize: 3, inputShape: [8, 8, 3] })], { seed: 1, engine });
    await backbone.build();
    await backbone.save(join(dir, 'backbone.safetensors'));
    await engine.shutdown();
    const image = join(dir, 'a.png');
    await sharp(Buffer.alloc(8 * 8 * 3, 128), { raw: { width: 8, height: 8, channels: 3 } }).png().toFile(image);
    for (const args of [['predict', image], ['explain', image, '--out', join(dir, 'cam')], ['evaluate', '--data', dir]]) {
      const r = run([...args, '--model', join(dir, 'backbone.safetensors')]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`${args[0]} needs class scores, but .*backbone\\.safetensors outputs a \\[6, 6, 4\\] feature map .*lite-cnn train --from FILE --data DIR`));
    }
  });

  it('--max-memory raises the load limit of predict, evaluate and explain', () => {
    for (const cmd of ['predict', 'evaluate', 'explain']) expect(run([cmd, '--help']).stdout).toMatch(/--max-memory <MiB>/);
    const r = run(['predict', 'x.png', '--model', 'm.safetensors', '--max-memory', '0']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/'--max-memory <MiB>' argument '0' is invalid\. expected a positive integer/);
  });
});
