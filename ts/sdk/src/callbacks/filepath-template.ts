/**
 * Checkpoint file names with Python's `str.format` placeholders, as Keras
 * writes them: `weights.{epoch:02d}-{val_loss:.4f}.lcnn`. The subset covered is
 * what file names need: `{key}` and `{key:[0][width][.precision][d|f|e]}`,
 * plus `{{` / `}}` for literal braces. Templates are parsed up front so a typo
 * fails when the callback is made, not after the first hour of training.
 */
import { ConfigError } from '../errors.js';

type Part = string | { key: string; zero: boolean; width: number; precision: number | undefined; type: '' | 'd' | 'f' | 'e' };

const SPEC = /^(0?)(\d*)(?:\.(\d+))?([dfe]?)$/;

export class FilepathTemplate {
  private readonly parts: Part[] = [];

  constructor(readonly template: string, private readonly where: string) {
    let literal = '';
    for (let i = 0; i < template.length; i++) {
      const ch = template[i]!;
      if ((ch === '{' || ch === '}') && template[i + 1] === ch) {
        literal += ch;
        i++;
      } else if (ch === '{') {
        const end = template.indexOf('}', i);
        if (end < 0) throw new ConfigError(`${where}: filepath '${template}' has an unclosed '{' at position ${i}`);
        const field = template.slice(i + 1, end);
        const colon = field.indexOf(':');
        const key = colon < 0 ? field : field.slice(0, colon);
        const spec = colon < 0 ? '' : field.slice(colon + 1);
        const m = SPEC.exec(spec);
        if (key === '' || !m) {
          throw new ConfigError(`${where}: filepath placeholder '{${field}}' is not supported; expected {key} or {key:[0][width][.precision][d|f|e]}, e.g. {epoch:02d} or {val_loss:.4f}`);
        }
        if (literal) this.parts.push(literal);
        literal = '';
        this.parts.push({ key, zero: m[1] === '0', width: m[2] ? Number(m[2]) : 0, precision: m[3] === undefined ? undefined : Number(m[3]), type: (m[4] ?? '') as '' | 'd' | 'f' | 'e' });
        i = end;
      } else if (ch === '}') {
        throw new ConfigError(`${where}: filepath '${template}' has a single '}' at position ${i}; write '}}' for a literal brace`);
      } else literal += ch;
    }
    if (literal) this.parts.push(literal);
  }

  /** The keys the template refers to. */
  get keys(): string[] {
    return this.parts.flatMap((p) => (typeof p === 'string' ? [] : [p.key]));
  }

  format(values: Record<string, number>): string {
    return this.parts
      .map((p) => {
        if (typeof p === 'string') return p;
        const v = values[p.key];
        if (v === undefined) {
          throw new ConfigError(`${this.where}: filepath '${this.template}' uses '{${p.key}}', which is not available; available keys: ${Object.keys(values).join(', ')}`);
        }
        // Python's spellings of the non-finite values.
        if (!Number.isFinite(v) && p.type !== 'd') return (Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf').padStart(p.width);
        let s: string;
        const a = Math.abs(v);
        if (p.type === 'd') {
          if (!Number.isInteger(v)) throw new ConfigError(`${this.where}: filepath placeholder '{${p.key}:…d}' needs an integer, got ${v}; use a 'f' format for fractional values`);
          s = a.toString();
        } else if (p.type === 'f') s = a.toFixed(p.precision ?? 6);
        // Python writes at least two exponent digits (1.5e-05); JS writes 1.5e-5.
        else if (p.type === 'e') s = a.toExponential(p.precision ?? 6).replace(/e([+-])(\d)$/, 'e$10$2');
        else s = p.precision === undefined ? String(a) : Number(a.toPrecision(p.precision)).toString();
        const sign = v < 0 ? '-' : '';
        const body = sign + s;
        if (body.length >= p.width) return body;
        return p.zero ? sign + s.padStart(p.width - sign.length, '0') : body.padStart(p.width);
      })
      .join('');
  }
}
