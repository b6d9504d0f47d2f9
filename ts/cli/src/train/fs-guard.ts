/**
 * File-system edge cases that must fail fast instead of hanging: kernel
 * pseudo-filesystems (/proc, /sys, ...) cannot hold files, and Node's
 * recursive mkdir spins forever at 100% CPU on procfs. So the location of a
 * new folder is checked by file-system type first (statfs of its nearest
 * existing ancestor), and the remaining calls run under a timeout.
 */
import { stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { RunError } from '../errors.js';

/** statfs `f_type` magic numbers (linux/magic.h) of file systems that cannot hold a run folder. */
const PSEUDO_FILESYSTEMS = new Map<number, string>([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x1cd1, 'devpts'],
  [0x73636673, 'securityfs'],
  [0x6165676c, 'pstore'],
  [0xcafe4a11, 'bpf'],
]);

/** How long one file-system call may take before the run gives up on the location. */
export const FS_TIMEOUT_MS = 15_000;

/** `work` or a RunError after `ms`: a call that never returns must not hang the command. */
export async function withTimeout<T>(work: Promise<T>, what: string, ms = FS_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RunError(`${what} did not finish within ${ms / 1000} s; is the location on a network or special file system?`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The nearest existing ancestor of `dir` (or `dir` itself). */
async function nearestExisting(dir: string): Promise<string> {
  let p = path.resolve(dir);
  for (;;) {
    if (await stat(p).then(() => true, () => false)) return p;
    const parent = path.dirname(p);
    if (parent === p) return p;
    p = parent;
  }
}

/** Throws RunError when `dir` would lie on a kernel pseudo-filesystem; `option` names where it came from. */
export async function checkWritableLocation(dir: string, option: string): Promise<void> {
  const existing = await withTimeout(nearestExisting(dir), `${option} ${dir}: looking up the folder`);
  const fs = await withTimeout(statfs(existing), `${option} ${dir}: statfs ${existing}`).catch(() => null);
  const kind = fs ? PSEUDO_FILESYSTEMS.get(Number(fs.type)) : undefined;
  if (kind !== undefined) {
    throw new RunError(`${option} ${dir}: ${existing} is on ${kind}, a kernel pseudo-filesystem that cannot hold a run folder; choose a folder on a disk`);
  }
}
