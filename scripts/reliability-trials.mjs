#!/usr/bin/env node
/**
 * The run-folder trials behind docs/reliability.md (`npm run build` first):
 *
 * 1. kill/resume: a run is interrupted at a seeded random moment by SIGINT or
 *    SIGKILL, then continued (`--resume`, or a fresh run into the same folder
 *    when it died before its first checkpoint), and must end bit-identical to
 *    an uninterrupted run (model.safetensors, last.safetensors, history.csv);
 * 2. the same for an `--ensemble 2` run, which resumes by member (a member
 *    cut short is trained again): continued with `--resume` once config.json
 *    exists, else by a fresh run; it must end with the uninterrupted run's
 *    model.safetensors and members;
 * 3. concurrent runs: two processes with different seeds into one `--out`;
 *    exactly one may succeed, and every file in the folder must be its own.
 *
 * Usage: node scripts/reliability-trials.mjs [--kills N] [--ensemble-kills N] [--races N] [--seed S]
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const MAIN = fileURLToPath(new URL('../ts/cli/dist/main.js', import.meta.url));
const TRAIN = ['train', '--limit', '3000', '--epochs', '3', '--threads', '1'];
const ENSEMBLE = ['train', '--limit', '3000', '--epochs', '3', '--ensemble', '2', '--threads', '1'];
const ENSEMBLE_FILES = ['model.safetensors', 'member-1/model.safetensors', 'member-2/model.safetensors', 'member-1/history.csv', 'member-2/history.csv'];
const { values } = parseArgs({ options: { kills: { type: 'string', default: '12' }, 'ensemble-kills': { type: 'string', default: '8' }, races: { type: 'string', default: '6' }, seed: { type: 'string', default: '16' } } });

/** mulberry32, so the kill moments are the same on every run of the script. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const runSync = (args) => spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });

function start(args) {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: 'ignore' });
  return { child, exited: new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal))) };
}

const same = (a, b, f) => existsSync(join(a, f)) && readFileSync(join(a, f)).equals(readFileSync(join(b, f)));

const root = mkdtempSync(join(tmpdir(), 'lite-cnn-trials-'));
const rand = rng(Number(values.seed));
try {
  /** Runs `args` into `dir` uninterrupted; returns how long it took (ms). */
  const uninterrupted = (args, dir) => {
    const t0 = performance.now();
    const r = runSync([...args, '--out', dir]);
    if (r.status !== 0) throw new Error(`the uninterrupted run ${args.join(' ')} failed: ${r.stderr}`);
    return performance.now() - t0;
  };
  /**
   * `count` runs of `args`, each stopped by SIGINT or SIGKILL at a random moment within `ms`, then continued
   * with `--resume` when `resumable(dir)`, else by a fresh run into the same folder; `files` must end equal to
   * `straight`'s. `facts(dir)` adds what the stop left behind to the trial's record.
   */
  const killTrials = async ({ args, count, ms, name, straight, files, resumable, facts }) => {
    const trials = [];
    for (let i = 0; i < count; i++) {
      const dir = join(root, `${name}-${i}`);
      const signal = rand() < 0.5 ? 'SIGINT' : 'SIGKILL';
      const delay = Math.round(rand() * ms);
      const run = start([...args, '--out', dir]);
      const timer = setTimeout(() => run.child.kill(signal), delay);
      const code = await run.exited;
      clearTimeout(timer);
      const resumed = resumable(dir);
      const stoppedWith = facts(dir);
      const next = code === 0 ? null : runSync(resumed ? ['train', '--resume', dir] : [...args, '--out', dir]);
      const identical = files.every((f) => same(straight, dir, f));
      trials.push({ signal, delay, code, ...stoppedWith, continued: next === null ? 'finished before the kill' : resumed ? `--resume exit ${next.status}` : `fresh run exit ${next.status}`, identical });
    }
    return trials;
  };

  const straight = join(root, 'straight');
  const runMs = uninterrupted(TRAIN, straight);
  const checkpointed = (dir) => existsSync(join(dir, 'last.safetensors'));
  const kills = await killTrials({
    args: TRAIN, count: Number(values.kills), ms: runMs, name: 'kill', straight, files: ['model.safetensors', 'last.safetensors', 'history.csv'],
    resumable: checkpointed, facts: (dir) => ({ checkpoint: checkpointed(dir) }),
  });

  const ensembleStraight = join(root, 'ensemble-straight');
  const ensembleMs = uninterrupted(ENSEMBLE, ensembleStraight);
  const ensembleKills = await killTrials({
    args: ENSEMBLE, count: Number(values['ensemble-kills']), ms: ensembleMs, name: 'ensemble-kill', straight: ensembleStraight, files: ENSEMBLE_FILES,
    resumable: (dir) => existsSync(join(dir, 'config.json')),
    facts: (dir) => ({ membersDone: [1, 2].filter((m) => existsSync(join(dir, `member-${m}`, 'done.json'))).length }),
  });

  const races = [];
  for (let i = 0; i < Number(values.races); i++) {
    const dir = join(root, `race-${i}`);
    const runs = [1, 2].map((seed) => start([...TRAIN, '--limit', '1000', '--epochs', '1', '--seed', String(seed), '--out', dir]));
    const codes = await Promise.all(runs.map((r) => r.exited));
    const winner = codes.indexOf(0) + 1;
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    const model = readFileSync(join(dir, 'last.safetensors'));
    const header = JSON.parse(model.subarray(8, 8 + Number(model.readBigUInt64LE(0))).toString('utf8'));
    const consistent = config.options.seed === winner && JSON.parse(header.__metadata__.topology).seed === winner;
    races.push({ codes, winner, consistent });
  }

  console.log(JSON.stringify({ uninterruptedMs: Math.round(runMs), kills, uninterruptedEnsembleMs: Math.round(ensembleMs), ensembleKills, races }, null, 2));
  const identical = kills.filter((k) => k.identical).length;
  const ensembleIdentical = ensembleKills.filter((k) => k.identical).length;
  const clean = races.filter((r) => r.consistent && [...r.codes].sort().join() === '0,1').length;
  console.log(`kill/resume: ${identical}/${kills.length} bit-identical (${kills.filter((k) => k.signal === 'SIGKILL').length} SIGKILL, ${kills.filter((k) => !k.checkpoint).length} before the first checkpoint)`);
  console.log(`ensemble kill/resume: ${ensembleIdentical}/${ensembleKills.length} identical (${ensembleKills.filter((k) => k.signal === 'SIGKILL').length} SIGKILL, ${ensembleKills.filter((k) => k.membersDone === 1).length} after the first member, ${ensembleKills.filter((k) => k.continued.startsWith('fresh')).length} before config.json)`);
  console.log(`concurrent runs: ${clean}/${races.length} with exactly one success and a consistent folder`);
  process.exitCode = identical === kills.length && ensembleIdentical === ensembleKills.length && clean === races.length ? 0 : 1;
} finally {
  rmSync(root, { recursive: true, force: true });
}
