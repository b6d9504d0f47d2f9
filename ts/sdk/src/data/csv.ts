/**
 * A small RFC 4180 CSV reader and writer for the data pipeline's manifests
 * and split files: quoted fields (with `""` escapes, commas and line breaks
 * inside), CRLF or LF line ends, a UTF-8 byte-order mark, and a header row.
 * Small enough to own rather than depend on a package, and strict: a stray
 * quote or a row with the wrong number of fields is an error naming the line,
 * because a silently mis-parsed manifest would put images in the wrong group.
 */
import { DataError } from '../errors.js';

export interface CsvTable {
  header: string[];
  /** Data rows, each with exactly `header.length` fields. */
  rows: string[][];
  /** 1-based line number where each row starts (for error messages). */
  lines: number[];
}

/** Parses CSV text with a header row; `name` (e.g. the file) prefixes errors. */
export function parseCsv(text: string, name: string): CsvTable {
  const records: { fields: string[]; line: number }[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  let fields: string[] = [];
  let field = '';
  let recordLine = 1;
  let atFieldStart = true;
  const endRecord = () => {
    fields.push(field);
    // A blank line (one empty field) is not a record.
    if (!(fields.length === 1 && fields[0] === '')) records.push({ fields, line: recordLine });
    fields = [];
    field = '';
    atFieldStart = true;
  };
  while (i < text.length) {
    const ch = text[i]!;
    if (atFieldStart && ch === '"') {
      // Quoted field: runs to the closing quote not followed by another quote.
      const startLine = line;
      i++;
      for (;;) {
        if (i >= text.length) throw new DataError(`${name}: line ${startLine}: a quoted field is never closed (expected a closing '"', got the end of the file)`);
        const q = text[i]!;
        if (q === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (q === '\n') line++;
        field += q;
        i++;
      }
      const next = text[i];
      if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r') {
        throw new DataError(`${name}: line ${line}: expected ',' or a line end after a quoted field, got '${next}'`);
      }
      atFieldStart = false;
      continue;
    }
    if (ch === ',') {
      fields.push(field);
      field = '';
      atFieldStart = true;
      i++;
    } else if (ch === '\r' || ch === '\n') {
      endRecord();
      i += ch === '\r' && text[i + 1] === '\n' ? 2 : 1;
      line++;
      recordLine = line;
    } else {
      if (ch === '"') throw new DataError(`${name}: line ${line}: a '"' inside an unquoted field; quote the field and double the quote ("")`);
      field += ch;
      atFieldStart = false;
      i++;
    }
  }
  if (field !== '' || fields.length > 0) endRecord();
  const first = records.shift();
  if (!first) throw new DataError(`${name}: expected a header row, got an empty file`);
  const header = first.fields.map((h) => h.trim());
  const rows: string[][] = [];
  const lines: number[] = [];
  for (const r of records) {
    if (r.fields.length !== header.length) {
      throw new DataError(`${name}: line ${r.line}: expected ${header.length} fields (${header.join(',')}), got ${r.fields.length}`);
    }
    rows.push(r.fields);
    lines.push(r.line);
  }
  return { header, rows, lines };
}

/** Index of column `column` in the header, or -1. */
export function csvColumn(table: CsvTable, column: string): number {
  return table.header.indexOf(column);
}

function quoteField(v: string): string {
  return /[",\r\n]/.test(v) || v !== v.trim() ? `"${v.replaceAll('"', '""')}"` : v;
}

/** CSV text (LF line ends, fields quoted only when needed), header first. */
export function formatCsv(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [header, ...rows].map((r) => r.map(quoteField).join(',')).join('\n') + '\n';
}
