/**
 * `lite-cnn split`: a patient-level (when known), class-stratified, seeded
 * train/val/test split of an image folder, as train makes it — written to
 * OUT/split.csv and copied into OUT/{train,val,test}/<class>/ like the
 * study's splitting script. The SDK does the work (splitSamples, copySplit);
 * copying is all-or-nothing.
 */
import { access } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { copySplit, DataError, SPLIT_NAMES, writeSplitCsv } from '@lite-cnn/sdk';
import * as parse from '../args.js';
import { checkSplitRatios, DEFAULT_SPLIT_RATIO, GROUP_PATTERN_HELP, groupPatternOption, splitByOption, splitNote } from '../data/options.js';
import { listGroupedFolder, split } from '../data/folder-source.js';
import { count } from '../ui/format.js';
import { makeOutput } from '../ui/output.js';

interface SplitOptions {
  data: string;
  out: string;
  valRatio?: number;
  testRatio?: number;
  splitBy?: string;
  groupPattern?: string;
  seed?: number;
  followSymlinks?: boolean;
  json?: boolean;
}

export function registerSplit(program: Command): void {
  program
    .command('split')
    .description('split an image folder into train/val/test (by patient when known), write split.csv and copy the files into OUT/{train,val,test}/<class>/')
    .requiredOption('--data <dir>', 'image folder: <dir>/<class>/*.{png,jpg,...} with optional manifest.csv')
    .requiredOption('--out <dir>', 'output folder (its train/, val/, test/ and split.csv must not exist yet)')
    .option('--val-ratio <r>', 'validation fraction (default 0.1)', parse.ratio)
    .option('--test-ratio <r>', 'test fraction (default 0.1)', parse.ratio)
    .option('--split-by <column>', "keep each value of this manifest column in one split (default: patient when known; 'none' splits by image)")
    .option('--group-pattern <regex>', GROUP_PATTERN_HELP)
    .option('--seed <n>', 'split seed (default 0, as train)', parse.seed)
    .option('--follow-symlinks', 'read symbolic links that point outside the image folder (default: refused; loops are always refused)')
    .option('--json', 'print JSON')
    .action(async (opts: SplitOptions) => {
      const out = makeOutput(opts);
      const valRatio = opts.valRatio ?? DEFAULT_SPLIT_RATIO;
      const testRatio = opts.testRatio ?? DEFAULT_SPLIT_RATIO;
      checkSplitRatios(valRatio, testRatio);
      const splitBy = splitByOption(opts.splitBy);
      const grouping = { splitBy, groupPattern: groupPatternOption(opts.groupPattern, splitBy) };
      const seed = opts.seed ?? 0;
      const dir = path.resolve(opts.data);
      const outDir = path.resolve(opts.out);
      const csv = path.join(outDir, 'split.csv');
      if (await access(csv).then(() => true, () => false)) throw new DataError(`${csv} already exists; expected a fresh output folder (nothing was copied)`);
      const listing = await listGroupedFolder(dir, grouping, opts.followSymlinks);
      const assignments = split(listing.samples, { ...grouping, valRatio, testRatio }, seed);
      const grouped = splitBy !== null && listing.groupsKnown;
      // Copy first (all-or-nothing in the SDK), then the CSV: a failure leaves no split.csv claiming folders that are not there.
      const copied = await copySplit(outDir, assignments);
      await writeSplitCsv(csv, assignments, { relativeTo: dir });

      const table = SPLIT_NAMES.map((s) => {
        const mine = assignments.filter((a) => a.split === s);
        const perClass = Object.fromEntries(listing.classNames.map((c) => [c, mine.filter((a) => a.className === c).length]));
        const patients = grouped ? new Set(mine.map((a) => a.group)).size : null;
        return { split: s, images: copied[s], perClass, patients };
      });
      const result = {
        data: dir,
        out: outDir,
        splitFile: csv,
        grouped,
        groupColumn: grouped ? (splitBy === 'auto' ? 'patient' : splitBy) : null,
        groupPattern: grouped ? grouping.groupPattern : null,
        ratios: { train: 1 - valRatio - testRatio, val: valRatio, test: testRatio },
        seed,
        classNames: listing.classNames,
        ignored: listing.ignored.length,
        splits: table,
      };
      if (opts.json) {
        out.result(result);
        return;
      }
      out.line(`${dir}: ${count(listing.samples.length)} images, classes ${listing.classNames.join(', ')}; ${splitNote(grouped, grouping)}, seed ${seed}${listing.ignored.length ? `; ${listing.ignored.length} non-image file${listing.ignored.length === 1 ? '' : 's'} ignored` : ''}`);
      const cols = ['split', 'images', ...listing.classNames, ...(grouped ? ['patients'] : [])];
      const cells = table.map((t) => [t.split, String(t.images), ...listing.classNames.map((c) => String(t.perClass[c])), ...(grouped ? [String(t.patients)] : [])]);
      const w = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
      const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
      out.line(line(cols));
      for (const r of cells) out.line(line(r));
      out.line(`wrote ${csv} and ${SPLIT_NAMES.filter((s) => copied[s] > 0).map((s) => path.join(outDir, s) + '/').join(', ')}`);
    });
}
