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
  const straight = join(root, 'straight');
  const t0 = performance.now();
  const base = runSync([...TRAIN, '--out', straight]);
  if (base.status !== 0) throw new Error(`the uninterrupted run failed: ${base.stderr}`);
  const runMs = performance.now() - t0;

  const kills = [];
  for (let i = 0; i < Number(values.kills); i++) {
    const dir = join(root, `kill-${i}`);
    const signal = rand() < 0.5 ? 'SIGINT' : 'SIGKILL';
    const delay = Math.round(rand() * runMs);
    const run = start([...TRAIN, '--out', dir]);
    const timer = setTimeout(() => run.child.kill(signal), delay);
    const code = await run.exited;
    clearTimeout(timer);
    const checkpoint = existsSync(join(dir, 'last.safetensors'));
    const finished = code === 0;
    const next = finished ? null : runSync(checkpoint ? ['train', '--resume', dir] : [...TRAIN, '--out', dir]);
    const identical = ['model.safetensors', 'last.safetensors', 'history.csv'].every((f) => same(straight, dir, f));
    kills.push({ signal, delay, code, checkpoint, continued: next === null ? 'finished before the kill' : checkpoint ? `--resume exit ${next.status}` : `fresh run exit ${next.status}`, identical });
  }

  const ensembleStraight = join(root, 'ensemble-straight');
  const e0 = performance.now();
  const ensembleBase = runSync([...ENSEMBLE, '--out', ensembleStraight]);
  if (ensembleBase.status !== 0) throw new Error(`the uninterrupted ensemble run failed: ${ensembleBase.stderr}`);
  const ensembleMs = performance.now() - e0;
  const ensembleKills = [];
  for (let i = 0; i < Number(values['ensemble-kills']); i++) {
    const dir = join(root, `ensemble-kill-${i}`);
    const signal = rand() < 0.5 ? 'SIGINT' : 'SIGKILL';
    const delay = Math.round(rand() * ensembleMs);
    const run = start([...ENSEMBLE, '--out', dir]);
    const timer = setTimeout(() => run.child.kill(signal), delay);
    const code = await run.exited;
    clearTimeout(timer);
    const started = existsSync(join(dir, 'config.json'));
    const membersDone = [1, 2].filter((m) => existsSync(join(dir, `member-${m}`, 'done.json'))).length;
    const next = code === 0 ? null : runSync(started ? ['train', '--resume', dir] : [...ENSEMBLE, '--out', dir]);
    const identical = ENSEMBLE_FILES.every((f) => same(ensembleStraight, dir, f));
    ensembleKills.push({ signal, delay, code, membersDone, continued: next === null ? 'finished before the kill' : started ? `--resume exit ${next.status}` : `fresh run exit ${next.status}`, identical });
  }

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
