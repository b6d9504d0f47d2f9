// Replaces (or appends) the text between `<!-- NAME:begin -->` and
// `<!-- NAME:end -->` in benches/README.md, so reruns overwrite their section.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const README = fileURLToPath(new URL('./README.md', import.meta.url));

export function writeSection(name, body, file = README) {
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const text = readFileSync(file, 'utf8');
  const block = `${begin}\n${body.trim()}\n${end}`;
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  const next = i >= 0 && j > i ? text.slice(0, i) + block + text.slice(j + end.length) : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, next);
}

/** `writeSection`, unless `--no-write` was given (then the caller only prints). */
export function saveSection(name, body, argv = process.argv) {
  if (argv.includes('--no-write')) return;
  writeSection(name, body);
  console.error(`\nwritten to benches/README.md (between <!-- ${name}:begin --> and <!-- ${name}:end -->)`);
}

export const fmt = (ms) => (ms === null || ms === undefined ? '—' : ms < 1 ? ms.toFixed(3) : ms < 10 ? ms.toFixed(2) : ms < 1000 ? ms.toFixed(1) : ms.toFixed(0));

/**
 * Collects what a benchmark prints so the same text can be written into its
 * README section: `print` logs a line and keeps it; `save(name, title)` writes
 * the kept lines under `title`, unless the run is a smoke test (`--quick`) or
 * `--no-write` was given.
 */
export function printedSection(argv = process.argv) {
  const lines = [];
  return {
    print(line = '') {
      console.log(line);
      lines.push(line);
    },
    save(name, title) {
      if (argv.includes('--quick')) return;
      saveSection(name, `${title}\n\n${lines.join('\n')}`, argv);
    },
  };
}
