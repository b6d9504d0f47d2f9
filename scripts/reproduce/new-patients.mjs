// "New patients" section of docs/results.md (issue 14): patient-level 5-fold
// cross-validation over seeds of the study's recipe (--preset breakhis: epoch
// and threshold from the validation split) and the recommended one (--preset
// histology: the same split, with --threshold-rule floor). Each fold's best model is then
// evaluated on its fold's test split with `evaluate --group-by patient` (image
// and patient level, per subtype, at the fold's stored threshold), and the
// histology models once more with `--tta d4`, and each recipe's fold models under
// scripts/stain-swap.mjs (every test tile given the other class's stain colour).
// Every number comes from `evaluate --json` (the same model, split and threshold
// as the CV's own test), directly or through the stain-swap script.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { mean, one, pct, table } from './format.mjs';

export const RECIPES = ['breakhis', 'histology'];
/**
 * Each recipe's own options: breakhis (the study trained 2 epochs) at 20 as in
 * the issue's command; histology at its preset's defaults. A finished CV is
 * reused only when its config.json records the same epoch count and its
 * cv.json the same threshold method (scheme.thresholdCv, scheme.thresholdRule:
 * runs from before the rule existed used 'recall').
 */
const RECIPE = {
  breakhis: { args: ['--epochs', '20'], epochs: 20, thresholdCv: null, thresholdRule: 'recall' },
  histology: { args: [], epochs: null, thresholdCv: null, thresholdRule: 'floor' },
};
/**
 * BreakHis slide ids that share the number (14-23060AB / 14-23060CD) may be one
 * person (the data's README): the folds and the patient-level decisions group by
 * the numeric part, so no person is in a fold's training and test patients alike.
 */
const PERSON_PATTERN = '^\\d+-\\d+';
const CV_ARGS = ['--target-recall', '0.9', '--positive', 'malignant', '--cv', '5', '--group-pattern', PERSON_PATTERN];
const CARCINOMAS = ['DC', 'LC', 'MC', 'PC'];
/** --threshold-rule floor's ceiling (train/threshold-rule.ts DEFAULT_THRESHOLD). */
const FLOOR_THRESHOLD = 0.5;

async function readJson(file) {
  return JSON.parse(await readFile(file, 'utf8'));
}

/**
 * A finished CV of `recipe`, reused instead of retrained; with `partial`, also
 * an interrupted one (its completed folds). Null otherwise.
 */
async function finishedCv(dir, recipe, partial) {
  const file = path.join(dir, 'cv.json');
  if (!existsSync(file)) return null;
  const cv = await readJson(file);
  const want = RECIPE[recipe];
  if ((cv.scheme.thresholdCv ?? null) !== want.thresholdCv) {
    throw new Error(`${dir}: made with --threshold-cv ${cv.scheme.thresholdCv ?? 'off'}, but --preset ${recipe} now uses ${want.thresholdCv ?? 'the validation split'}; move it away to retrain`);
  }
  const rule = cv.scheme.thresholdRule ?? 'recall';
  if (rule !== want.thresholdRule) throw new Error(`${dir}: made with --threshold-rule ${rule}, but --preset ${recipe} now uses ${want.thresholdRule}; move it away to retrain`);
  const { options } = await readJson(path.join(dir, 'config.json'));
  const pattern = options.data.folder?.groupPattern ?? null;
  if (pattern !== PERSON_PATTERN) throw new Error(`${dir}: its folds group ${pattern === null ? 'by slide id' : `by /${pattern}/`}, but this section groups by person (/${PERSON_PATTERN}/); move it away to retrain`);
  const epochs = options.epochs;
  if (want.epochs !== null && epochs !== want.epochs) throw new Error(`${dir}: made with --epochs ${epochs}, but this section runs ${recipe} with ${want.epochs}; move it away to retrain`);
  return cv.completed === cv.folds || (partial && cv.completed > 0) ? cv : null;
}

/**
 * Whether `dir` holds a CV of `recipe` that stopped before its end (Ctrl-C, a
 * kill, a reboot), which `train --resume` continues from its completed folds.
 * Its config.json must record this section's recipe, or it is in the way.
 */
async function interruptedCv(dir, recipe, seed) {
  const file = path.join(dir, 'config.json');
  if (!existsSync(file)) return false;
  const { options } = await readJson(file);
  const want = RECIPE[recipe];
  const made = { preset: options.preset, seed: options.seed, epochs: options.epochs, thresholdRule: options.operatingPoint?.rule ?? null, thresholdCv: options.thresholdCv?.folds ?? null, groupPattern: options.data.folder?.groupPattern ?? null, folds: options.cv?.folds ?? null };
  const wanted = { preset: recipe, seed, epochs: want.epochs ?? made.epochs, thresholdRule: want.thresholdRule, thresholdCv: want.thresholdCv, groupPattern: PERSON_PATTERN, folds: Number(CV_ARGS[CV_ARGS.indexOf('--cv') + 1]) };
  const differ = Object.keys(wanted).filter((k) => made[k] !== wanted[k]);
  if (differ.length) throw new Error(`${dir}: an unfinished run with other options (${differ.map((k) => `${k} ${made[k]} instead of ${wanted[k]}`).join(', ')}); move it away to retrain`);
  return true;
}

/** `evaluate` of every fold's model on its test split, grouped by patient. */
async function evaluateFolds(cli, data, dir, folds, extra, from = 1) {
  const out = [];
  for (let k = from; k <= folds; k++) {
    const fold = path.join(dir, `fold-${k}`);
    out.push(await cli(['evaluate', '--model', path.join(fold, 'model.safetensors'), '--data', data, '--split-csv', path.join(fold, 'split.csv'), '--group-by', 'patient', '--group-pattern', PERSON_PATTERN, ...extra, '--json']));
  }
  return out;
}

/**
 * Runs (or reuses, when RUNS/<recipe>-s<seed>/cv.json is complete, or
 * continues with --resume, when it was interrupted) the CVs and the TTA
 * evaluations. `cli(args)` runs the CLI and returns its JSON; `note(args)`
 * records a command whose result was reused, `resumed(args)` one an earlier
 * invocation started and the next `cli` call continues. `noTrain`: train nothing, use the
 * CVs in RUNS as they are (interrupted ones with their completed folds; a seed
 * without a run is left out), for a deadline: the section then says which folds.
 */
export async function runNewPatients({ cli, stainSwap, note, resumed, runs, data, seeds, noTrain = false }) {
  const out = {};
  for (const recipe of RECIPES) {
    out[recipe] = [];
    for (const seed of seeds) {
      const dir = path.join(runs, `${recipe}-s${seed}`);
      const args = ['train', '--preset', recipe, '--data', data, ...RECIPE[recipe].args, ...CV_ARGS, '--seed', String(seed), '--out', dir, '--json'];
      let cv = await finishedCv(dir, recipe, noTrain);
      if (cv) note(args, cv.completed < cv.folds ? `interrupted after ${cv.completed} of ${cv.folds} folds` : null);
      else if (noTrain) continue;
      else if (await interruptedCv(dir, recipe, seed)) {
        resumed(args);
        await cli(['train', '--resume', dir, '--json']);
        cv = await readJson(path.join(dir, 'cv.json'));
      } else {
        await cli(args);
        cv = await readJson(path.join(dir, 'cv.json'));
      }
      const swap = cv.completed === cv.folds ? await stainSwap(['--cv', dir, '--data', data, '--out', path.join(runs, 'stain-swap', `${recipe}-s${seed}`), '--json']) : null;
      out[recipe].push({ seed, of: cv.folds, folds: await evaluateFolds(cli, data, dir, cv.completed, []), swap });
    }
  }
  // The study's models decided by --threshold-rule floor: the same models (the rule does not change
  // training), at min(0.5, the stored threshold): what `train --threshold-rule floor` stores.
  out.breakhisFloor = [];
  for (const run of out.breakhis) {
    const dir = path.join(runs, `breakhis-s${run.seed}`);
    const folds = [];
    for (const [i, ev] of run.folds.entries()) {
      const stored = ev.threshold?.value ?? null;
      if (stored === null || stored <= FLOOR_THRESHOLD) folds.push(ev);
      else folds.push((await evaluateFolds(cli, data, dir, i + 1, ['--threshold', String(FLOOR_THRESHOLD)], i + 1))[0]);
    }
    out.breakhisFloor.push({ seed: run.seed, of: run.of, folds });
  }
  out.tta = [];
  for (const run of out.histology) {
    out.tta.push({ seed: run.seed, of: run.of, folds: await evaluateFolds(cli, data, path.join(runs, `histology-s${run.seed}`), run.folds.length, ['--tta', 'd4']) });
  }
  return out;
}

const malignant = (report) => report.perClass.find((c) => c.name === 'malignant');

/** Per seed: each fold's metrics at its stored threshold, and the subtypes pooled over its folds. */
function evaluatedSeeds(runs) {
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
  return runs.map(({ seed, of, folds, swap = null }) => ({
    seed,
    of,
    swappedAccuracy: swap?.swappedAccuracy ?? null,
    folds: folds.map((ev, i) => ({
      fold: i + 1,
      accuracy: ev.accuracy,
      recall: malignant(ev.atThreshold ?? ev.atDefault).recall,
      auc: ev.auc,
      patientAccuracy: ev.groups.accuracy,
      patientRecall: malignant(ev.groups.report).recall,
      threshold: ev.threshold?.value ?? null,
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
    cells: [label, seeds.map((s) => (s.folds.length < s.of ? `${s.seed} (folds 1-${s.folds.length} of ${s.of} only)` : String(s.seed))).join(', '), pct(perSeed('accuracy')), pct(perSeed('recall')), `${one(mean(perSeed('auc')), 3)}`, pct(perSeed('patientAccuracy')), pct(perSeed('patientRecall')),
      `seed ${worst.seed} fold ${worst.fold}: ${one(worst.accuracy, 1, 100)}% / ${one(worst.recall, 1, 100)}% (patients ${one(worst.patientAccuracy, 1, 100)}%)`,
      `${one(Math.min(...all.map((f) => f.threshold)), 3)}-${one(Math.max(...all.map((f) => f.threshold)), 3)}`,
      seeds.every((s) => s.swappedAccuracy === null) ? 'not run' : pct(seeds.map((s) => s.swappedAccuracy))],
    accuracy: mean(perSeed('accuracy')),
    recall: mean(perSeed('recall')),
    subtypes: subtypeMeans(seeds, 'subtypes'),
  };
}

function subtypeMeans(seeds, key) {
  const names = [...new Set(seeds.flatMap((s) => s[key].map((r) => r.subtype)))].sort();
  return Object.fromEntries(names.map((n) => [n, mean(seeds.map((s) => s[key].find((r) => r.subtype === n)?.recall).filter((v) => v !== undefined))]));
}

/**
 * Per person (a group of `evaluate --group-by patient --group-pattern`), its test images over every
 * seed's folds (each seed tests a person once) and how many the folds' decisions get right. Evaluations
 * of an earlier release (no `correct` per group) are left out.
 */
function peopleRight(runs) {
  const by = new Map();
  for (const { folds } of runs) {
    for (const ev of folds) {
      for (const g of ev.groups.perGroup) {
        if (g.correct === undefined) continue;
        const p = by.get(g.group) ?? { group: g.group, label: ev.perClass[g.label]?.name ?? String(g.label), subtypes: g.subtypes, images: 0, correct: 0 };
        p.images += g.images;
        p.correct += g.correct;
        by.set(g.group, p);
      }
    }
  }
  return by;
}

/**
 * The people under half right in any row, each row's count of their images right, and what they
 * weigh: their share of the row's misses, the accuracy on everyone else, and the pooled accuracy the
 * row would reach with every other image right and these people decided as they are.
 */
function missedPeopleMarkdown(rowRuns) {
  const rows = rowRuns.map(([label, runs]) => ({ label, people: peopleRight(runs) })).filter((r) => r.people.size > 0);
  if (!rows.length) return [];
  const missed = [...new Set(rows.flatMap((r) => [...r.people.values()].filter((p) => p.correct < p.images / 2).map((p) => p.group)))].sort();
  if (!missed.length) return [];
  const first = (g) => rows.find((r) => r.people.has(g)).people.get(g);
  const md = [];
  md.push('People these recipes miss: every person with fewer than half of their test images right in some row, with their images right over the seeds\' test folds in each row (a seed tests each person once, at its fold\'s stored decision):');
  md.push('');
  md.push(table(['person', 'class', 'subtypes', ...rows.map((r) => r.label)], missed.map((g) => {
    const p = first(g);
    return [g, p.label, p.subtypes.join(', '), ...rows.map((r) => {
      const q = r.people.get(g);
      return q ? `${q.correct}/${q.images} (${one(q.correct / q.images, 0, 100)}%)` : 'n/a';
    })];
  })));
  md.push('');
  for (const r of rows) {
    const all = [...r.people.values()];
    const images = all.reduce((a, p) => a + p.images, 0);
    const wrong = all.reduce((a, p) => a + p.images - p.correct, 0);
    const theirs = all.filter((p) => missed.includes(p.group));
    const theirWrong = theirs.reduce((a, p) => a + p.images - p.correct, 0);
    const others = all.filter((p) => !missed.includes(p.group));
    const othersImages = others.reduce((a, p) => a + p.images, 0);
    const othersRight = others.reduce((a, p) => a + p.correct, 0);
    md.push(`- ${r.label}: these ${theirs.length} people hold ${theirWrong} of its ${wrong} missed images (${one(theirWrong / wrong, 0, 100)}%); everyone else's images are ${one(othersRight / othersImages, 1, 100)}% right. With every other image right and these people decided as they are, its pooled image accuracy would be ${one(1 - theirWrong / images, 1, 100)}%.`);
  }
  md.push('');
  return md;
}

/** The section's markdown lines. */
export function newPatientsMarkdown(results, { seeds }) {
  const rowRuns = [
    ['`--preset breakhis` (the study\'s recipe)', results.breakhis],
    ['`--preset breakhis` models, decided by `--threshold-rule floor`', results.breakhisFloor ?? []],
    ['`--preset histology`', results.histology],
    ['`--preset histology`, evaluated with `--tta d4`', results.tta],
  ].filter(([, runs]) => runs.length > 0);
  const rows = rowRuns.map(([label, runs]) => summaryRow(label, evaluatedSeeds(runs)));
  const md = [];
  md.push('## New patients (issue 14)');
  md.push('');
  md.push(
    `Patient-level 5-fold cross-validation on the shared tiles, seeds ${seeds.join(', ')} (the seeds column says which finished): \`train --preset P ${CV_ARGS.map((x) => (x === PERSON_PATTERN ? `'${x}'` : x)).join(' ')} --seed S\` (breakhis with \`${RECIPE.breakhis.args.join(' ')}\`, histology at its preset's defaults). In each fold the test patients are ` +
      'seen by nothing before the final evaluation. ' +
      `A patient here is a person: slide ids that share the number (\`14-23060AB\` and \`14-23060CD\`; four such pairs among the 40 slides) may come from one person (the data's README), so \`--group-pattern '${PERSON_PATTERN}'\` keeps each pair in one fold and pools it in the patient-level figures (36 people). ` +
      '`breakhis` chooses the best epoch and the decision threshold (90% malignant recall) on the validation patients of the training folds (20% of their images, 7-8 patients). ' +
      '`histology` (docs/histology.md) chooses them on the same validation patients, but with `--threshold-rule floor`: 0.5 unless the malignant recall there is below 90%, then the threshold that reaches it (never above 0.5). ' +
      'The row "`--preset breakhis` models, decided by `--threshold-rule floor`" re-evaluates the study recipe\'s fold models at min(0.5, stored threshold): exactly what `train --preset breakhis --threshold-rule floor` stores, since the rule does not change training. ' +
      'Each fold\'s model is then evaluated on its test split (`evaluate --split-csv fold-k/split.csv --group-by patient --group-pattern \'^\\d+-\\d+\'`): metrics are at the fold\'s stored threshold, ' +
      'image level and patient level (the mean malignant probability of each test patient\'s images, at the same threshold). ' +
      'Cells: mean ± std over seeds of the fold means; the worst fold is the one with the lowest image accuracy over all seeds and folds (image accuracy / malignant recall). ' +
      'The TTA row re-evaluates the same histology fold models with the same `evaluate` command plus `--tta d4` (same stored threshold). ' +
      'The stored-thresholds column is the range of the folds\' stored thresholds: how much the choice moves from fold to fold. ' +
      'The last column is the stain stress test (`node scripts/stain-swap.mjs`, docs/histology.md): the image accuracy of the same fold models when each test tile is recoloured to the median colour statistics of the other class\'s training tiles. A model that reads morphology keeps its accuracy; one that reads the stain falls towards 0% (mean ± std over seeds of the fold means; not run for rows that re-decide or re-evaluate the same models).',
  );
  md.push('');
  md.push(table(['recipe', 'seeds', 'image accuracy', 'malignant recall', 'AUC', 'patient accuracy', 'patient malignant recall', 'worst fold', 'stored thresholds', 'with the other class\'s stain'], rows.map((r) => r.cells)));
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
  md.push(...missedPeopleMarkdown(rowRuns));
  return md;
}

/** `text` with the section between the `<!-- name:start/end -->` markers replaced (or inserted before "## Commands"). */
export function spliceSection(text, lines, name = 'new-patients') {
  const START = `<!-- ${name}:start -->`;
  const END = `<!-- ${name}:end -->`;
  const block = [START, ...lines, END].join('\n');
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a >= 0 && b > a) return text.slice(0, a) + block + text.slice(b + END.length);
  const at = text.indexOf('## Commands');
  return at >= 0 ? `${text.slice(0, at)}${block}\n\n${text.slice(at)}` : `${text}\n${block}\n`;
}
