/**
 * Run folders under concurrency, interruption and odd locations, with real
 * processes of the built CLI (`npm run build` first): one run per folder (a
 * lock with pid and host, stale locks taken over), folders without a
 * checkpoint restartable, a run failing before its first epoch leaving
 * nothing behind, options the engine would reject refused before
 * anything is created, `--out` on /proc failing fast, a run outliving the
 * reader of its output, and model files with non-finite weights refused by
 * predict.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors, type SafetensorsEntry } from '@lite-cnn/sdk';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const LOCK = '.lite-cnn.lock';
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `lite-cnn-safety-${name}-`));
const QUICK = ['train', '--limit', '64', '--epochs', '1', '--threads', '1'];

function run(args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', cwd: tmpdir(), env: { ...process.env, LITE_CNN_DEBUG: '' }, timeout: 120_000 });
}

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function start(args: string[]): Running {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: tmpdir() });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  return { child, output: () => text, exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))) };
}

async function until(what: string, cond: () => boolean, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A pid that certainly does not run any more: a child that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

const leftovers = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.tmp') || f === LOCK);

describe('one run per run folder', () => {
  it('a second process into a running folder fails at once (exit 1) and the first run is untouched', { timeout: 240_000 }, async () => {
    const dir = join(tmp('concurrent'), 'run');
    const first = start([...QUICK, '--limit', '3000', '--epochs', '2', '--seed', '1', '--out', dir]);
    await until('the first run to lock its folder', () => existsSync(join(dir, LOCK)));
    const holder = JSON.parse(readFileSync(join(dir, LOCK), 'utf8'));
    expect(holder).toMatchObject({ pid: first.child.pid, host: hostname() });

    for (const args of [[...QUICK, '--seed', '2', '--out', dir], ['train', '--resume', dir]]) {
      const second = run(args);
      expect(second.status, second.stderr).toBe(1);
      expect(second.stderr).toMatch(new RegExp(`${dir} is in use by another lite-cnn run: process ${first.child.pid} on host ${hostname()} \\(since .*\\)\\. Wait for it to finish or choose another --out`));
    }
    expect(await first.exited, first.output()).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).options.seed).toBe(1);
    expect(leftovers(dir)).toEqual([]);
  });

  it('two runs started together: exactly one succeeds, and the folder holds its files only', { timeout: 240_000 }, async () => {
    const dir = join(tmp('race'), 'run');
    const runs = [1, 2].map((seed) => start([...QUICK, '--limit', '256', '--seed', String(seed), '--out', dir]));
    const codes = await Promise.all(runs.map((r) => r.exited));
    expect([...codes].sort()).toEqual([0, 1]);
    const winner = codes.indexOf(0);
    const loser = runs[1 - winner]!.output();
    expect(loser).toMatch(/is in use by another lite-cnn run|already holds a run/);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(config.options.seed).toBe(winner + 1);
    const last = decodeSafetensors(new Uint8Array(readFileSync(join(dir, 'last.safetensors'))));
    expect(JSON.parse(last.metadata.topology!).seed).toBe(winner + 1);
  });

  it('--resume of a folder a live run has locked before writing config.json names that run; an empty folder is not a run and keeps no lock', () => {
    const dir = join(tmp('resume-locked'), 'run');
    mkdirSync(dir, { recursive: true });
    // This test's own process: alive, on this host, as a run that has just taken the folder.
    writeFileSync(join(dir, LOCK), JSON.stringify({ pid: process.pid, host: hostname(), startedAt: '2026-01-01T00:00:00.000Z' }));
    const busy = run(['train', '--resume', dir]);
    expect(busy.status).toBe(1);
    expect(busy.stderr).toMatch(new RegExp(`${dir} is in use by another lite-cnn run: process ${process.pid} on host ${hostname()}`));
    rmSync(join(dir, LOCK));
    const empty = run(['train', '--resume', dir]);
    expect(empty.status).toBe(1);
    expect(empty.stderr).toContain(`--resume ${dir}: not a run directory (no config.json)`);
    expect(readdirSync(dir)).toEqual([]);
    const missing = run(['train', '--resume', join(dir, 'nowhere')]);
    expect(missing.stderr).toContain('not a run directory (no config.json)');
  });

  it('a stale lock (dead pid on this host) is taken over; a lock from another host is not', { timeout: 120_000 }, () => {
    const dir = join(tmp('stale'), 'run');
    mkdirSync(dir, { recursive: true });
    const pid = deadPid();
    writeFileSync(join(dir, LOCK), JSON.stringify({ pid, host: hostname(), startedAt: '2026-01-01T00:00:00.000Z' }));
    writeFileSync(join(dir, `.history.csv.${pid}.abcd1234.tmp`), 'torn');
    const taken = run([...QUICK, '--out', dir]);
    expect(taken.status, taken.stderr).toBe(0);
    expect(leftovers(dir)).toEqual([]);

    const other = join(tmp('foreign'), 'run');
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, LOCK), JSON.stringify({ pid, host: 'another-host', startedAt: '2026-01-01T00:00:00.000Z' }));
    const refused = run([...QUICK, '--out', other]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`in use by another lite-cnn run: process ${pid} on host another-host .* if that process no longer runs, delete ${other}/${LOCK}`));
  });

  it('a double Ctrl-C exits at once and leaves neither the lock nor temporary files', { timeout: 240_000 }, async () => {
    const dir = join(tmp('double'), 'run');
    const r = start([...QUICK, '--limit', '6000', '--epochs', '3', '--out', dir]);
    await until('training to start', () => existsSync(join(dir, 'last.safetensors')));
    r.child.kill('SIGINT');
    await new Promise((res) => setTimeout(res, 30));
    r.child.kill('SIGINT');
    expect(await r.exited, r.output()).toBe(130);
    expect(leftovers(dir)).toEqual([]);
  });

  it('SIGKILL before the first checkpoint leaves a folder a fresh run restarts; --resume explains why it cannot continue', { timeout: 240_000 }, async () => {
    const dir = join(tmp('killed'), 'run');
    mkdirSync(dir, { recursive: true });
    // What a run killed between config.json and last.safetensors leaves, with its lock.
    writeFileSync(join(dir, 'config.json'), '{"format":"lite-cnn-run","version":1,"options":{}}');
    writeFileSync(join(dir, LOCK), JSON.stringify({ pid: deadPid(), host: hostname(), startedAt: '2026-01-01T00:00:00.000Z' }));
    const resume = run(['train', '--resume', dir]);
    expect(resume.status).toBe(1);
    expect(resume.stderr).toMatch(/--resume .*: the run stopped before its first checkpoint \(no last\.safetensors\), so there is nothing to continue; start it again with the same options and --out/);
    const fresh = run([...QUICK, '--out', dir]);
    expect(fresh.status, fresh.stderr).toBe(0);
    expect(existsSync(join(dir, 'last.safetensors'))).toBe(true);
    // Now it holds a run: a fresh run refuses, naming what is there.
    const again = run([...QUICK, '--out', dir]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/already holds a run \(last\.safetensors, model\.safetensors, history\.csv, summary\.json\); choose another --out, or continue it with --resume/);
  });

  it('a run that fails before completing an epoch keeps none of its files, so the retry into the same --out runs', { timeout: 240_000 }, () => {
    const parent = tmp('diverged');
    const created = join(parent, 'new-run');
    // A learning rate that makes the loss NaN at the second step: fit throws before the first epoch ends.
    const diverged = run([...QUICK, '--lr', '1e30', '--out', created]);
    expect(diverged.status).toBe(1);
    expect(diverged.stderr).toMatch(/the loss became NaN at epoch 1, batch 2/);
    expect(diverged.stdout).toContain(`No epoch completed: ${created} keeps none of this run's files.`);
    expect(existsSync(created), 'the folder this run created is removed again').toBe(false);
    // An existing folder keeps what was there before the run, and only that.
    const existing = join(parent, 'existing');
    mkdirSync(existing);
    writeFileSync(join(existing, 'notes.txt'), 'mine');
    expect(run([...QUICK, '--lr', '1e30', '--out', existing]).status).toBe(1);
    expect(readdirSync(existing)).toEqual(['notes.txt']);
    const retry = run([...QUICK, '--out', existing]);
    expect(retry.status, retry.stderr).toBe(0);
    expect(existsSync(join(existing, 'model.safetensors'))).toBe(true);
  });
});

describe('options and locations checked before anything is created', () => {
  it.each([
    [['--lr', '0'], /'--lr <rate>' argument '0' is invalid\. expected a learning rate > 0/],
    [['--lr', '1e300'], /'--lr <rate>' argument '1e300' is invalid\. expected a learning rate > 0 that float32 can hold/],
    [['--lr', '1e-50'], /argument '1e-50' is invalid/],
    [['--batch-size', '100000'], /'--batch-size <n>' argument '100000' is invalid\. expected at most 65536 samples per step/],
  ])('%j exits 2 and creates no folder', (args, message) => {
    const dir = join(tmp('opts'), 'run');
    const r = run([...QUICK, ...(args as string[]), '--out', dir]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message as RegExp);
    expect(existsSync(dir)).toBe(false);
  });

  it('--out under /proc or /sys fails fast with a clear message', () => {
    for (const out of ['/proc/lite-cnn-x/run', '/sys/lite-cnn-x']) {
      const t0 = Date.now();
      const r = run([...QUICK, '--out', out]);
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/--out .*: \/(proc|sys) is on (proc|sysfs), a kernel pseudo-filesystem that cannot hold a run folder/);
      expect(Date.now() - t0).toBeLessThan(60_000); // a guard against the hang, not a performance target
    }
  });
});

describe('output streams and a closed terminal', () => {
  it('SIGHUP (an SSH session dropped) stops after the step like Ctrl-C: exit 129, a resumable run', { timeout: 240_000 }, async () => {
    const dir = join(tmp('sighup'), 'run');
    const r = start(['train', '--limit', '6000', '--epochs', '3', '--threads', '1', '--out', dir]);
    await until('the first epoch', () => /Epoch 1\/3/.test(r.output()));
    r.child.kill('SIGHUP');
    expect(await r.exited, r.output()).toBe(129);
    expect(r.output()).toContain('SIGHUP (the terminal closed): stopping after this step');
    expect(JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'))).toMatchObject({ status: 'interrupted', signal: 'SIGHUP' });
    expect(existsSync(join(dir, LOCK))).toBe(false);
    const resumed = run(['train', '--resume', dir]);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/resuming at epoch [23]\/3/);
  });

  it('a reader that goes away (`train | head`, a parent that died) does not end the run: it completes with its files', { timeout: 240_000 }, async () => {
    const dir = join(tmp('closed-pipe'), 'run');
    const child = spawn(process.execPath, [MAIN, 'train', '--limit', '3000', '--epochs', '2', '--threads', '1', '--out', dir], { stdio: ['ignore', 'pipe', 'pipe'], cwd: tmpdir() });
    // Both streams close after the first line, as `| head -1` and a dead parent close them.
    child.stdout!.once('data', () => {
      child.stdout!.destroy();
      child.stderr!.destroy();
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')).status).toBe('completed');
    for (const f of ['model.safetensors', 'last.safetensors', 'history.csv', 'report.html']) expect(existsSync(join(dir, f)), f).toBe(true);
    expect(existsSync(join(dir, LOCK))).toBe(false);
  });
});

describe('non-finite model files', () => {
  it('predict and evaluate refuse a model file with NaN weights (exit 1, naming the tensor)', { timeout: 120_000 }, () => {
    const dir = join(tmp('nan'), 'run');
    expect(run([...QUICK, '--out', dir]).status).toBe(0);
    const file = decodeSafetensors(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
    const tensors = [...file.tensors].map(([name, t]) => ({ name, ...t }) as SafetensorsEntry);
    (tensors[0]!.data as Float32Array)[3] = Number.NaN;
    const bad = join(dir, 'nan.safetensors');
    writeFileSync(bad, encodeSafetensors(tensors, file.metadata));
    const image = join(dir, 'report.html'); // any path: the model is refused before images are read
    for (const args of [['predict', '--model', bad, image], ['evaluate', '--model', bad, '--mnist', '--limit', '64']]) {
      const r = run(args);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`ModelFormatError: ${bad}: tensor '${tensors[0]!.name}' holds NaN at index 3; expected finite values`));
    }
  });
});
