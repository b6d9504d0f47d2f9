/**
 * One run at a time per run folder. Two processes writing into one folder
 * interleave their files silently (config.json of one, model and history of
 * the other), so a run holds an exclusive lock file for its whole life:
 * created with O_EXCL semantics (a complete temporary file hard-linked to the
 * lock name, which fails if the name exists, so a reader never sees a
 * half-written lock), holding the pid and host. A lock whose process is gone
 * (same host, pid no longer alive) is stale and taken over. The lock is
 * released on return, on errors, on exit (including a second Ctrl-C, which
 * exits at once) and on SIGINT/SIGTERM/SIGHUP before training listens for them;
 * releasing also removes this process's unfinished temporary files, which an
 * exit in the middle of an atomic write would otherwise leave behind.
 */
import { closeSync, linkSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync, fsyncSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { RunError } from '../errors.js';
import { STOP_EXIT as SIGNAL_EXIT } from './interrupt.js';

export const LOCK_FILE = '.lite-cnn.lock';

export interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
}

/** Whether process `pid` exists on this host (EPERM: it exists, owned by someone else). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(file: string): LockHolder | null {
  try {
    const h = JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
    return Number.isSafeInteger(h.pid) && typeof h.host === 'string' ? h : null;
  } catch {
    return null;
  }
}

/** Temporary files an interrupted `writeFileAtomic` of process `pid` left in `dir` and two levels of sub-folders (fold-k/, member-k/, fold-k/member-m/). */
export function removeTempFiles(dir: string, pid: number): void {
  const mine = (name: string) => name.startsWith('.') && name.endsWith('.tmp') && name.includes(`.${pid}.`);
  const sweep = (d: string, depth: number) => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isFile() && mine(e.name)) {
        try {
          unlinkSync(path.join(d, e.name));
        } catch {
          /* already gone */
        }
      } else if (e.isDirectory() && depth > 0) sweep(path.join(d, e.name), depth - 1);
    }
  };
  sweep(dir, 2);
}

export class RunLock {
  private released = false;
  private readonly onExit = () => this.release();
  private readonly onSignal = new Map<keyof typeof SIGNAL_EXIT, () => void>();

  private constructor(
    readonly dir: string,
    readonly file: string,
  ) {
    process.on('exit', this.onExit);
    for (const sig of Object.keys(SIGNAL_EXIT) as (keyof typeof SIGNAL_EXIT)[]) {
      const h = () => {
        // Training's own handler (Interrupt) stops gracefully and returns through `release`; only act alone.
        if (process.listenerCount(sig) > 1) return;
        this.release();
        process.exit(SIGNAL_EXIT[sig]);
      };
      this.onSignal.set(sig, h);
      process.on(sig, h);
    }
  }

  /** Takes the lock of run folder `dir` (which must exist), or throws RunError naming the process that holds it. */
  static acquire(dir: string): RunLock {
    const file = path.join(dir, LOCK_FILE);
    const me: LockHolder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
    const tmp = path.join(dir, `${LOCK_FILE}.${process.pid}.${globalThis.crypto.randomUUID().slice(0, 8)}.tmp`);
    writeComplete(tmp, `${JSON.stringify(me)}\n`);
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          linkSync(tmp, file);
          return new RunLock(dir, file);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
            throw new RunError(`cannot lock the run folder ${dir}: ${(err as Error).message}`, { cause: err });
          }
        }
        const holder = readHolder(file);
        if (attempt === 0 && holder !== null && holder.host === me.host && !alive(holder.pid)) {
          // Stale: its process died without releasing (SIGKILL, power cut). Take it over once.
          removeTempFiles(dir, holder.pid);
          if (sameHolder(readHolder(file), holder)) unlinkSync(file);
          continue;
        }
        const who = holder ? `process ${holder.pid} on host ${holder.host} (since ${holder.startedAt})` : 'another process (its lock file is unreadable)';
        throw new RunError(
          `${dir} is in use by another lite-cnn run: ${who}. Wait for it to finish or choose another --out; ` +
            `if that process no longer runs, delete ${file}`,
        );
      }
    } finally {
      try {
        unlinkSync(tmp);
      } catch {
        /* linked and removed already */
      }
    }
  }

  /** Removes the lock and this process's unfinished temporary files; idempotent and synchronous (it runs in 'exit'). */
  release(): void {
    if (this.released) return;
    this.released = true;
    process.off('exit', this.onExit);
    for (const [sig, h] of this.onSignal) process.off(sig, h);
    removeTempFiles(this.dir, process.pid);
    if (sameHolder(readHolder(this.file), { pid: process.pid, host: hostname() })) {
      try {
        unlinkSync(this.file);
      } catch {
        /* removed by hand */
      }
    }
  }
}

function sameHolder(a: Pick<LockHolder, 'pid' | 'host'> | null, b: Pick<LockHolder, 'pid' | 'host'>): boolean {
  return a !== null && a.pid === b.pid && a.host === b.host;
}

function writeComplete(file: string, text: string): void {
  let fd: number;
  try {
    fd = openSync(file, 'wx');
  } catch (err) {
    throw new RunError(`cannot lock the run folder ${path.dirname(file)}: ${(err as Error).message}`, { cause: err });
  }
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
