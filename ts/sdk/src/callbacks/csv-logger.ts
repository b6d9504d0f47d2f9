/**
 * CSVLogger (Keras semantics): one row per epoch — `epoch` (0-based, as Keras
 * writes it) then the log keys in sorted order. The header is fixed by the
 * first epoch; a key missing later is written as NA, a key appearing later is
 * an error (Keras' csv.DictWriter raises too) rather than a silently shifted
 * column. Writes to a file in Node, or hands each line to `onRow` anywhere.
 */
import { ConfigError } from '../errors.js';
import type { Logs } from '../model/history.js';
import { hostKind } from '../runtime/platform.js';
import { Callback } from './callback.js';

export interface CSVLoggerOptions {
  /** Default ','. */
  separator?: string;
  /** Append to an existing file (no second header) instead of overwriting it. Default false. */
  append?: boolean;
}

export interface CSVLoggerSinkOptions {
  /** Receives each line (header first), without the trailing newline. */
  onRow: (line: string) => void | Promise<void>;
  /** Default ','. */
  separator?: string;
}

export class CSVLogger extends Callback {
  readonly filename: string | undefined;
  readonly separator: string;
  readonly append: boolean;
  /** The columns after `epoch`, fixed at the first epoch. */
  keys: string[] | undefined;
  private readonly onRow: ((line: string) => void | Promise<void>) | undefined;
  /** Whether the header still has to be written (false when appending to a file that has one). */
  private needHeader = true;
  /** Header already in the file we append to, checked against ours. */
  private existingHeader: string | undefined;
  /** The appended file does not end with a newline. */
  private needNewline = false;

  constructor(filename: string, options?: CSVLoggerOptions);
  constructor(sink: CSVLoggerSinkOptions);
  constructor(a: string | CSVLoggerSinkOptions, options: CSVLoggerOptions = {}) {
    super();
    const where = 'CSVLogger';
    const opts: { separator?: string; append?: boolean } = typeof a === 'string' ? options : a;
    if (typeof a === 'string') {
      if (a === '') throw new ConfigError(`${where}: filename must be a non-empty string, got ''`);
      if (hostKind() !== 'node') throw new ConfigError(`${where}: writing '${a}' needs Node.js (node:fs); in a browser use new CSVLogger({ onRow: (line) => ... })`);
      this.filename = a;
      this.onRow = undefined;
    } else {
      if (typeof a?.onRow !== 'function') throw new ConfigError(`${where}: expected a filename or { onRow: (line) => ... }, got ${JSON.stringify(a)}`);
      this.filename = undefined;
      this.onRow = a.onRow;
    }
    const sep = opts.separator ?? ',';
    if (typeof sep !== 'string' || sep === '' || /["\r\n]/.test(sep)) throw new ConfigError(`${where}: separator must be a non-empty string without quotes or newlines, got ${JSON.stringify(sep)}`);
    this.separator = sep;
    this.append = opts.append ?? false;
  }

  override async onTrainBegin(): Promise<void> {
    this.keys = undefined;
    this.needHeader = true;
    this.existingHeader = undefined;
    this.needNewline = false;
    if (this.filename === undefined) return;
    const fs = await import('node:fs/promises');
    if (!this.append) {
      // Truncate now, as Keras opens the file with 'w' when training begins.
      await fs.writeFile(this.filename, '');
      return;
    }
    const text = await fs.readFile(this.filename, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return '';
      throw e;
    });
    if (text.length > 0) {
      this.needHeader = false;
      this.existingHeader = text.split(/\r?\n/, 1)[0];
      this.needNewline = !text.endsWith('\n');
    }
  }

  override async onEpochEnd(epoch: number, logs: Logs): Promise<void> {
    const lines: string[] = [];
    if (this.keys === undefined) {
      this.keys = Object.keys(logs).sort();
      const header = this.row(['epoch', ...this.keys]);
      if (this.existingHeader !== undefined && this.existingHeader !== header) {
        throw new ConfigError(`CSVLogger: '${this.filename}' has the header '${this.existingHeader}' but this run logs '${header}'; append to a file of the same columns or use append: false`);
      }
      if (this.needHeader) lines.push(header);
    }
    const extra = Object.keys(logs).filter((k) => !this.keys!.includes(k));
    if (extra.length) {
      throw new ConfigError(`CSVLogger: epoch ${epoch} logs ${extra.map((k) => `'${k}'`).join(', ')}, not in the header fixed at the first epoch (epoch, ${this.keys.join(', ')})`);
    }
    lines.push(this.row([String(epoch), ...this.keys.map((k) => (logs[k] === undefined ? 'NA' : String(logs[k])))]));
    if (this.onRow) {
      for (const line of lines) await this.onRow(line);
      return;
    }
    const fs = await import('node:fs/promises');
    // Reopened per epoch: nothing is left open if fit throws before onTrainEnd.
    await fs.appendFile(this.filename!, (this.needNewline ? '\n' : '') + lines.map((l) => l + '\n').join(''));
    this.needNewline = false;
  }

  private row(cells: string[]): string {
    const sep = this.separator;
    return cells.map((c) => (c.includes(sep) || /["\r\n]/.test(c) ? `"${c.replaceAll('"', '""')}"` : c)).join(sep);
  }
}
