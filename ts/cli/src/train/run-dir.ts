/**
 * The run directory: created up front and proven writable before any data is
 * loaded, so a bad `--out` fails in a second with a clear message instead of
 * after an hour of training. A directory this run created is removed again if
 * the run fails before writing anything into it.
 */
import { mkdir, readdir, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { RunError } from '../errors.js';

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
  /** Removes what this run created if nothing was written into it (after a failure). */
  discardIfEmpty(): Promise<void>;
}

/** `runs/2025-01-31T14-05-09` (local time), unique within this directory. */
export function defaultRunDir(cwd: string, now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}T${p(now.getHours())}-${p(now.getMinutes())}-${p(now.getSeconds())}`;
  return path.join(cwd, 'runs', stamp);
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** Creates a new run directory (it may exist, but must not hold a run already). */
export async function createRunDir(dir: string, opts: { unique: boolean }): Promise<RunDir> {
  let target = dir;
  // Two runs started in the same second get `-2`, `-3`... instead of sharing a directory.
  for (let n = 2; opts.unique && (await exists(target)); n++) target = `${dir}-${n}`;
  if (await exists(path.join(target, RUN_FILES.config))) {
    throw new RunError(`${target} already holds a run (${RUN_FILES.config}); choose another --out, or continue it with --resume ${target}`);
  }
  let created: string | undefined;
  try {
    created = await mkdir(target, { recursive: true });
  } catch (cause) {
    throw new RunError(`cannot create the run directory ${target}: ${(cause as Error).message}`, { cause });
  }
  const run = handle(target, created);
  await probeWritable(run);
  return run;
}

/** An existing run directory (for --resume): it must hold the files of a run and be writable. */
export async function openRunDir(dir: string): Promise<RunDir> {
  for (const f of [RUN_FILES.config, RUN_FILES.last]) {
    if (!(await exists(path.join(dir, f)))) throw new RunError(`--resume ${dir}: not a resumable run directory (no ${f})`);
  }
  const run = handle(dir, undefined);
  await probeWritable(run);
  return run;
}

function handle(dir: string, created: string | undefined): RunDir {
  return {
    path: dir,
    file: (name) => path.join(dir, name),
    discardIfEmpty: async () => {
      if (created === undefined) return;
      const left = await readdir(dir).catch(() => ['?']);
      if (left.length === 0) await rm(created, { recursive: true, force: true }).catch(() => {});
    },
  };
}

async function probeWritable(run: RunDir): Promise<void> {
  const probe = run.file(`.write-test-${process.pid}`);
  try {
    await writeFile(probe, '');
    await unlink(probe);
  } catch (cause) {
    await run.discardIfEmpty();
    throw new RunError(`the run directory ${run.path} is not writable: ${(cause as Error).message}`, { cause });
  }
}
