// "New patients" section of docs/results.md (issue 14): patient-level 5-fold
// cross-validation over seeds of the study's recipe (--preset breakhis) and the
// recommended one (--preset histology), then each histology fold's model with
// test-time augmentation (evaluate --tta d4 on the fold's test split). Every
// number comes from the CLI's cv.json and `evaluate --json`.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { mean, one, pct, table } from './format.mjs';

export const RECIPES = ['breakhis', 'histology'];
const CV_ARGS = ['--epochs', '20', '--target-recall', '0.9', '--positive', 'malignant', '--cv', '5'];
const CARCINOMAS = ['DC', 'LC', 'MC', 'PC'];

async function readJson(file) {
  return JSON.parse(await readFile(file, 'utf8'));
}

/** A finished CV with the patient-level columns (older cv.json files lack them): reused instead of retrained. */
async function finishedCv(dir) {
  const file = path.join(dir, 'cv.json');
  if (!existsSync(file)) return null;
  const cv = await readJson(file);
  return cv.completed === cv.folds && cv.rows.every((r) => 'patientAccuracy' in r) ? cv : null;
}

/**
 * Runs (or reuses, when RUNS/<recipe>-s<seed>/cv.json is complete) the CVs and
 * the TTA evaluations. `cli(args)` runs the CLI and returns its JSON; `note(args)`
 * records a command whose result was reused.
 */
export async function runNewPatients({ cli, note, runs, data, seeds }) {
  const out = {};
  for (const recipe of RECIPES) {
    out[recipe] = [];
    for (const seed of seeds) {
      const dir = path.join(runs, `${recipe}-s${seed}`);
      const args = ['train', '--preset', recipe, '--data', data, ...CV_ARGS, '--seed', String(seed), '--out', dir, '--json'];
      let cv = await finishedCv(dir);
      if (cv) note(args);
      else {
        await cli(args);
        cv = await readJson(path.join(dir, 'cv.json'));
      }
      out[recipe].push({ seed, dir, cv });
    }
  }
  out.tta = [];
  for (const { seed, dir, cv } of out.histology) {
    const folds = [];
    for (let k = 1; k <= cv.folds; k++) {
      const fold = path.join(dir, `fold-${k}`);
      folds.push(await cli(['evaluate', '--model', path.join(fold, 'model.safetensors'), '--data', data, '--split-csv', path.join(fold, 'split.csv'), '--tta', 'd4', '--group-by', 'patient', '--json']));
    }
    out.tta.push({ seed, folds });
  }
  return out;
}

const malignant = (report) => report.perClass.find((c) => c.name === 'malignant');

/** One row per seed: fold means, and every fold, in the shape of cv.json rows. */
function cvSeeds(runs) {
  return runs.map(({ seed, cv }) => ({
    seed,
    folds: cv.rows.map((r) => ({ fold: r.fold, accuracy: r.accuracyAtThreshold, recall: r.recallAtThreshold, auc: r.auc, patientAccuracy: r.patientAccuracy, patientRecall: r.patientRecall })),
    subtypes: cv.subtypes?.images ?? [],
    patientSubtypes: cv.subtypes?.patients ?? [],
  }));
}

function ttaSeeds(tta) {
  const pooled = (rows) => {
    const by = new Map();
    for (const r of rows) {
      const s = by.get(r.subtype) ?? { subtype: r.subtype, label: r.label, images: 0, correct: 0 };
      s.images += r.images;
      s.correct += r.correct;
      by.set(r.subtype, s);
    }
    return [...by.values()].map((s) => ({ ...s, recall: s.correct / s.images }));
  };
  return tta.map(({ seed, folds }) => ({
    seed,
    folds: folds.map((ev, i) => ({
      fold: i + 1,
      accuracy: ev.accuracy,
      recall: malignant(ev.atThreshold ?? ev.atDefault).recall,
      auc: ev.auc,
      patientAccuracy: ev.groups.accuracy,
      patientRecall: malignant(ev.groups.report).recall,
    })),
    subtypes: pooled(folds.flatMap((ev) => ev.subtypes)),
    patientSubtypes: pooled(folds.flatMap((ev) => ev.groups.subtypes)),
  }));
}

function summaryRow(label, seeds) {
  const perSeed = (k) => seeds.map((s) => mean(s.folds.map((f) => f[k])));
  const all = seeds.flatMap((s) => s.folds.map((f) => ({ ...f, seed: s.seed })));
  const worst = all.reduce((w, f) => (f.accuracy < w.accuracy ? f : w));
  return {
    label,
    cells: [label, seeds.map((s) => s.seed).join(', '), pct(perSeed('accuracy')), pct(perSeed('recall')), `${one(mean(perSeed('auc')), 3)}`, pct(perSeed('patientAccuracy')), pct(perSeed('patientRecall')),
      `seed ${worst.seed} fold ${worst.fold}: ${one(worst.accuracy, 1, 100)}% / ${one(worst.recall, 1, 100)}% (patients ${one(worst.patientAccuracy, 1, 100)}%)`],
    accuracy: mean(perSeed('accuracy')),
    recall: mean(perSeed('recall')),
    subtypes: subtypeMeans(seeds, 'subtypes'),
  };
}

function subtypeMeans(seeds, key) {
  const names = [...new Set(seeds.flatMap((s) => s[key].map((r) => r.subtype)))].sort();
  return Object.fromEntries(names.map((n) => [n, mean(seeds.map((s) => s[key].find((r) => r.subtype === n)?.recall).filter((v) => v !== undefined))]));
}

/** The section's markdown lines. */
export function newPatientsMarkdown(results, { seeds }) {
  const rows = [summaryRow('`--preset breakhis` (the study\'s recipe)', cvSeeds(results.breakhis)), summaryRow('`--preset histology`', cvSeeds(results.histology)), summaryRow('`--preset histology`, evaluated with `--tta d4`', ttaSeeds(results.tta))];
  const md = [];
  md.push('## New patients (issue 14)');
  md.push('');
  md.push(
    `Patient-level 5-fold cross-validation on the shared tiles, seeds ${seeds.join(', ')}: \`train --preset P ${CV_ARGS.join(' ')} --seed S\`. In each fold the test patients are ` +
      'seen by nothing before the final evaluation; the best epoch and the decision threshold (90% malignant recall) are chosen on validation patients of the training folds. ' +
      'Metrics are at that stored threshold: image level, and patient level (the mean malignant probability of each test patient\'s images, at the same threshold). ' +
      'Cells: mean ± std over seeds of the fold means; the worst fold is the one with the lowest image accuracy over all seeds and folds (image accuracy / malignant recall). ' +
      'The TTA row re-evaluates the same histology fold models with `evaluate --tta d4 --group-by patient` on each fold\'s test split (same stored threshold).',
  );
  md.push('');
  md.push(table(['recipe', 'seeds', 'image accuracy', 'malignant recall', 'AUC', 'patient accuracy', 'patient malignant recall', 'worst fold'], rows.map((r) => r.cells)));
  md.push('');
  const names = [...new Set(rows.flatMap((r) => Object.keys(r.subtypes)))].sort();
  md.push('Recall per subtype (images of every test fold, each at its fold\'s threshold; mean over seeds). A-TA are benign (recall = specificity), DC-PC carcinomas:');
  md.push('');
  md.push(table(['subtype', ...rows.map((r) => r.label)], names.map((n) => [n, ...rows.map((r) => (r.subtypes[n] === undefined ? 'n/a' : `${one(r.subtypes[n], 1, 100)}%`))])));
  md.push('');
  md.push('Targets of issue 14 (mean over seeds, at the stored decision): image accuracy ≥ 95%, malignant recall ≥ 95%, no carcinoma subtype below 85% recall.');
  md.push('');
  for (const r of rows) {
    const worstCarcinoma = Math.min(...CARCINOMAS.map((c) => r.subtypes[c]).filter((v) => v !== undefined));
    const met = (ok) => (ok ? 'met' : '**not met**');
    md.push(`- ${r.label}: accuracy ${one(r.accuracy, 1, 100)}% (${met(r.accuracy >= 0.95)}), malignant recall ${one(r.recall, 1, 100)}% (${met(r.recall >= 0.95)}), lowest carcinoma subtype recall ${one(worstCarcinoma, 1, 100)}% (${met(worstCarcinoma >= 0.85)}).`);
  }
  md.push('');
  return md;
}

const START = '<!-- new-patients:start -->';
const END = '<!-- new-patients:end -->';

/** `text` with the section between the markers replaced (or inserted before "## Commands"). */
export function spliceSection(text, lines) {
  const block = [START, ...lines, END].join('\n');
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a >= 0 && b > a) return text.slice(0, a) + block + text.slice(b + END.length);
  const at = text.indexOf('## Commands');
  return at >= 0 ? `${text.slice(0, at)}${block}\n\n${text.slice(at)}` : `${text}\n${block}\n`;
}
