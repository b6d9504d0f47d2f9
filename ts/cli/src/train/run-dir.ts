/**
 * The run directory: created up front and proven writable before any data is
 * loaded, so a bad `--out` fails in a second with a clear message instead of
 * after an hour of training. It is locked for the whole run (run-lock.ts), so
 * a second run into the same folder fails at once instead of mixing its files
 * with the first one's. A folder holds a run once a checkpoint or a result is
 * in it; a folder with only config.json (a run stopped before its first
 * checkpoint) is restarted by a fresh run. A run that fails before it
 * completes an epoch removes its files (`discardRunFiles`: its last.safetensors
 * holds only the initial state, which a retry recreates), so the retry into
 * the same --out is not refused; a directory this run created is removed
 * again when nothing else is in it.
 */
import { mkdir, readdir, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { RunError } from '../errors.js';
import { checkWritableLocation, withTimeout } from './fs-guard.js';
import { RunLock } from './run-lock.js';

export const RUN_FILES = {
  best: 'model.safetensors',
  last: 'last.safetensors',
  history: 'history.csv',
  config: 'config.json',
  summary: 'summary.json',
  split: 'split.csv',
} as const;

export interface RunDir {
  path: string;
  file(name: string): string;
  /** Releases the run's lock (also done on exit). */
  release(): void;
  /** Releases the lock and removes what this run created if nothing was written into it (after a failure). */
  discardIfEmpty(): Promise<void>;
  /** Removes the run files (`RUN_FILES`) from the folder, for a run that failed before completing an epoch; other files stay. */
  discardRunFiles(): Promise<void>;
}

/** Files whose presence means the folder holds a run's results (config.json alone does not: no checkpoint was written). */
const RESULT_FILES = [RUN_FILES.last, RUN_FILES.best, RUN_FILES.history, RUN_FILES.summary, 'cv.csv'] as const;

/** `runs/2025-01-31T14-05-09` (local time), unique within this directory. */
export function defaultRunDir(cwd: string, now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}T${p(now.getHours())}-${p(now.getMinutes())}-${p(now.getSeconds())}`;
  return path.join(cwd, 'runs', stamp);
}

export async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/**
 * Creates and locks a new run directory (it may exist, but must not hold a
 * run's results). With `unique`, a taken name gets `-2`, `-3`...: two runs
 * started in the same second never share a directory.
 */
export async function createRunDir(dir: string, opts: { unique: boolean }): Promise<RunDir> {
  await checkWritableLocation(dir, '--out');
  const { target, created } = await makeDir(dir, opts.unique);
  let lock: RunLock;
  try {
    lock = RunLock.acquire(target);
  } catch (err) {
    await removeIfEmpty(target, created);
    throw err;
  }
  const run = handle(target, created, lock);
  try {
    const results = await presentFiles(target, RESULT_FILES);
    if (results.length > 0) {
      throw new RunError(`${target} already holds a run (${results.join(', ')}); choose another --out, or continue it with --resume ${target}`);
    }
    await probeWritable(run);
  } catch (err) {
    await run.discardIfEmpty();
    throw err;
  }
  return run;
}

async function makeDir(dir: string, unique: boolean): Promise<{ target: string; created: string | undefined }> {
  const create = (p: string, recursive: boolean) => withTimeout(mkdir(p, { recursive }), `creating the run directory ${p}`);
  try {
    if (!unique) return { target: dir, created: await create(dir, true) };
    await create(path.dirname(dir), true);
    for (let n = 1; ; n++) {
      const target = n === 1 ? dir : `${dir}-${n}`;
      // Not recursive: EEXIST tells this run the name is taken, atomically.
      const made = await create(target, false).then(() => true, (err: NodeJS.ErrnoException) => {
        if (err.code === 'EEXIST') return false;
        throw err;
      });
      if (made) return { target, created: target };
    }
  } catch (cause) {
    if (cause instanceof RunError) throw cause;
    throw new RunError(`cannot create the run directory ${dir}: ${(cause as Error).message}`, { cause });
  }
}

async function presentFiles(dir: string, names: readonly string[]): Promise<string[]> {
  const found = await Promise.all(names.map((n) => exists(path.join(dir, n))));
  return names.filter((_, i) => found[i]);
}

/**
 * An existing run directory (for --resume), locked: it must hold a run's
 * config.json and be writable (what else it needs depends on the kind of
 * run: `prepareResume`, or the completed folds and members of --cv and
 * --ensemble runs).
 */
export async function openRunDir(dir: string): Promise<RunDir> {
  const notARun = () => new RunError(`--resume ${dir}: not a run directory (no ${RUN_FILES.config})`);
  if (!(await exists(dir))) throw notARun();
  // Locked before config.json is looked for: a run that has just taken the folder and not yet written it is
  // reported as the folder's user, not as its absence.
  const run = handle(dir, undefined, RunLock.acquire(dir));
  try {
    if (!(await exists(path.join(dir, RUN_FILES.config)))) throw notARun();
    await probeWritable(run);
  } catch (err) {
    run.release();
    throw err;
  }
  return run;
}

function handle(dir: string, created: string | undefined, lock: RunLock): RunDir {
  return {
    path: dir,
    file: (name) => path.join(dir, name),
    release: () => lock.release(),
    discardIfEmpty: async () => {
      lock.release();
      await removeIfEmpty(dir, created);
    },
    discardRunFiles: async () => {
      await Promise.all(Object.values(RUN_FILES).map((name) => rm(path.join(dir, name), { force: true })));
    },
  };
}

/** Removes `created` (the top directory this run made, if any, `dir` or a parent of it) when nothing was written into `dir`. */
async function removeIfEmpty(dir: string, created: string | undefined): Promise<void> {
  if (created === undefined) return;
  const left = await readdir(dir).catch(() => ['?']);
  if (left.length === 0) await rm(created, { recursive: true, force: true }).catch(() => {});
}

async function probeWritable(run: RunDir): Promise<void> {
  const probe = run.file(`.write-test-${process.pid}`);
  try {
    await withTimeout(writeFile(probe, ''), `writing into ${run.path}`);
    await unlink(probe);
  } catch (cause) {
    throw new RunError(`the run directory ${run.path} is not writable: ${(cause as Error).message}`, { cause });
  }
}
