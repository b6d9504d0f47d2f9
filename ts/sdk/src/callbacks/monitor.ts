/**
 * What EarlyStopping, ReduceLROnPlateau and ModelCheckpoint share: which
 * direction of a monitored log value counts as better, option checks, and
 * Keras' "the monitored key is missing" warning.
 */
import { ConfigError } from '../errors.js';
import type { Logs } from '../model/history.js';

export type MonitorMode = 'auto' | 'min' | 'max';

/**
 * 'auto' picks 'max' for names containing 'acc', 'auc', 'precision' or
 * 'recall' (the metrics `compile` offers, all better when larger, as Keras 3
 * learns from their metric objects) and 'min' for everything else (losses):
 * Keras 2's name rule, extended to the metrics here.
 */
export function resolveMode(monitor: string, mode: MonitorMode | undefined, where: string): 'min' | 'max' {
  const m = mode ?? 'auto';
  if (m !== 'auto' && m !== 'min' && m !== 'max') throw new ConfigError(`${where}: mode must be 'auto', 'min' or 'max', got '${String(m)}'`);
  if (m !== 'auto') return m;
  return /acc|auc|precision|recall/i.test(monitor) ? 'max' : 'min';
}

/** `current` beats `reference` by more than `minDelta` (>= 0) in direction `mode`. */
export function improves(mode: 'min' | 'max', current: number, reference: number, minDelta = 0): boolean {
  return mode === 'min' ? current < reference - minDelta : current > reference + minDelta;
}

export function checkMonitor(monitor: unknown, where: string): string {
  if (typeof monitor !== 'string' || monitor === '') throw new ConfigError(`${where}: monitor must be a log key such as 'val_loss', got ${JSON.stringify(monitor)}`);
  return monitor;
}

/**
 * Reads the monitored value. A missing key is a warning, not an error (as in
 * Keras): the run is still worth finishing. It is said once per callback
 * rather than every epoch, so a long run's console is not flooded.
 */
export class MonitorReader {
  private warned = false;

  constructor(
    readonly monitor: string,
    private readonly what: string,
  ) {}

  read(logs: Logs): number | undefined {
    const v = logs[this.monitor];
    if (v === undefined && !this.warned) {
      this.warned = true;
      const keys = Object.keys(logs);
      console.warn(`${this.what} is conditioned on '${this.monitor}', which is not in the logs; available keys: ${keys.length ? keys.join(', ') : '(none)'}.`);
    }
    return v;
  }
}
