/**
 * Group-level (patient-level) evaluation and per-subtype recall on top of an
 * image-level `Evaluation`: the images' outputs pooled per group (the SDK's
 * `groupOutputs`: mean, median or vote) and scored like images, at the same
 * decision (`vote`: a majority of the images' decisions).
 */
import { decideClasses, groupOutputs, subtypeRecall, type Dataset, type GroupAggregation, type ImageSample, type SubtypeRecall } from '@lite-cnn/sdk';
import { evaluateOutputs, reportJson, type Evaluation } from './evaluation.js';
import type { ReportTable } from '../report/index.js';

export interface DecisionContext {
  outputs: number;
  classes: number;
  classNames: readonly string[] | null;
  positiveClass: number;
}

/** One group of a group evaluation. */
export interface GroupOutcome {
  group: string;
  label: number;
  /** The subtypes of its images (a person's slides may differ). */
  subtypes: string[];
  images: number;
  /** Its images the image decision gets right. */
  correct: number;
  /** Mean (median, vote share) positive-class probability of its images (binary models), else null. */
  score: number | null;
  /** The group's decided class. */
  predicted: number;
}

export interface GroupEvaluation {
  /** The manifest column the groups come from (e.g. 'patient'). */
  column: string;
  method: GroupAggregation;
  groups: number;
  /** The groups' outputs scored at the image evaluation's decision (its threshold; `vote`: 0.5 on the vote fraction). */
  evaluation: Omit<Evaluation, 'loss' | 'msPerImage'>;
  perGroup: GroupOutcome[];
  /** Recall per subtype over groups (each group counted once per subtype of its images), when subtypes are known. */
  subtypes: SubtypeRecall[];
}

/** The image evaluation's threshold (binary models with one), else undefined (0.5 / arg-max). */
function decisionThreshold(ev: Evaluation): number | undefined {
  return ev.operating?.threshold;
}

/** Each image's class at the evaluation's applied decision (its threshold, else 0.5 / arg-max). */
export function imagePredictions(ev: Evaluation, ctx: DecisionContext): Int32Array {
  const t = decisionThreshold(ev);
  return decideClasses(ev.probs, ctx.outputs, { ...(t !== undefined ? { threshold: t } : {}), positiveClass: ctx.positiveClass });
}

/** Recall per subtype of the images, at the evaluation's applied decision. */
export function imageSubtypeRecall(ev: Evaluation, ctx: DecisionContext, subtypes: readonly (string | undefined)[]): SubtypeRecall[] {
  return subtypeRecall(ev.labels, imagePredictions(ev, ctx), subtypes);
}

/**
 * How pooled group outputs are decided: mean and median at the images'
 * threshold (`imageThreshold`); a vote share by majority (0.5 on a binary
 * model, arg-max otherwise). `evaluate --group-by` and `predict --group-by`.
 */
export function decideGroups(pooled: Float32Array, ctx: DecisionContext, method: GroupAggregation, imageThreshold: number | undefined): { threshold: number | undefined; classes: Int32Array } {
  const threshold = method === 'vote' ? (ctx.classes === 2 ? 0.5 : undefined) : imageThreshold;
  return { threshold, classes: decideClasses(pooled, ctx.outputs, { ...(threshold !== undefined ? { threshold } : {}), positiveClass: ctx.positiveClass }) };
}

export function evaluateGroups(ev: Evaluation, ctx: DecisionContext, opts: { column: string; method: GroupAggregation; groups: readonly (string | undefined)[]; subtypes: readonly (string | undefined)[] }): GroupEvaluation {
  const t = decisionThreshold(ev);
  const grouped = groupOutputs(ev.probs, ctx.outputs, ev.labels, opts.groups, { method: opts.method, ...(t !== undefined ? { threshold: t } : {}), positiveClass: ctx.positiveClass });
  const { threshold: groupThreshold, classes: predicted } = decideGroups(grouped.probs, ctx, opts.method, t);
  const evaluation = evaluateOutputs(grouped.labels, grouped.probs, { ...ctx, ...(groupThreshold !== undefined ? { threshold: groupThreshold, source: ev.operating?.source ?? 'stored' } : {}) });
  // Per group, the subtypes of its images and how many of them the image decision gets right (a group
  // decided right can still hold misclassified images, and one decided wrong, right ones).
  const imageDecisions = imagePredictions(ev, ctx);
  const tally = new Map<string, { subtypes: Set<string>; correct: number }>();
  opts.groups.forEach((g, i) => {
    if (g === undefined) return;
    const t = tally.get(g) ?? tally.set(g, { subtypes: new Set(), correct: 0 }).get(g)!;
    const s = opts.subtypes[i];
    if (s !== undefined) t.subtypes.add(s);
    if (imageDecisions[i] === ev.labels[i]) t.correct++;
  });
  const groupSubtypes = grouped.groups.map((g) => [...tally.get(g)!.subtypes]);
  const score = (gi: number) => (ctx.classes !== 2 ? null : ctx.outputs === 1 ? grouped.probs[gi]! : grouped.probs[gi * ctx.outputs + ctx.positiveClass]!);
  return {
    column: opts.column,
    method: opts.method,
    groups: grouped.groups.length,
    evaluation,
    perGroup: grouped.groups.map((group, gi) => ({ group, label: grouped.labels[gi]!, subtypes: groupSubtypes[gi]!, images: grouped.sizes[gi]!, correct: tally.get(group)!.correct, score: score(gi), predicted: predicted[gi]! })),
    subtypes: groupSubtypeRecall(grouped.labels, predicted, groupSubtypes),
  };
}

/**
 * Recall per subtype over groups, each group counted once for every subtype
 * among its images: a person whose slides are a fibroadenoma and an adenosis
 * is a fibroadenoma patient and an adenosis patient.
 */
export function groupSubtypeRecall(labels: ArrayLike<number>, predicted: ArrayLike<number>, subtypes: readonly (readonly string[])[]): SubtypeRecall[] {
  const rows = subtypes.flatMap((list, g) => list.map((subtype) => ({ label: labels[g]!, predicted: predicted[g]!, subtype })));
  return subtypeRecall(rows.map((r) => r.label), rows.map((r) => r.predicted), rows.map((r) => r.subtype));
}

/** Each image's group (its patient, as listed) and subtype, when the dataset knows its samples. */
export function sampleAnnotations(data: Dataset): { groups: (string | undefined)[]; subtypes: (string | undefined)[] } | null {
  const samples = (data as { samples?: readonly ImageSample[] }).samples;
  if (!samples) return null;
  return { groups: samples.map((s) => s.group), subtypes: samples.map((s) => s.subtype) };
}

/**
 * A test split's patient-level result and per-subtype recall (train's summary
 * and report), when its samples carry patients (and subtypes).
 */
export function patientSummary(ev: Evaluation, data: Dataset, ctx: DecisionContext): { patients: GroupEvaluation | null; subtypes: SubtypeRecall[] } {
  const notes = sampleAnnotations(data);
  if (!notes) return { patients: null, subtypes: [] };
  const subtypes = notes.subtypes.some((s) => s !== undefined) ? imageSubtypeRecall(ev, ctx, notes.subtypes) : [];
  const known = notes.groups.every((g) => g !== undefined && g !== '');
  return { patients: known ? evaluateGroups(ev, ctx, { column: 'patient', method: 'mean', groups: notes.groups, subtypes: notes.subtypes }) : null, subtypes };
}

/** The report table of a patient-level result and per-subtype recall. */
export function patientTable(p: { patients: GroupEvaluation | null; subtypes: SubtypeRecall[] }, classNames: readonly string[], pct: (v: number) => string): ReportTable | null {
  const rows: string[][] = [];
  if (p.patients) {
    const r = p.patients.evaluation.report;
    rows.push([`all ${p.patients.groups} patients`, '', pct(r.accuracy), `${p.patients.groups}`]);
    r.perClass.forEach((c) => rows.push([`patients: ${c.name}`, c.name, pct(c.recall), String(c.support)]));
  }
  for (const s of p.subtypes) rows.push([`images of subtype ${s.subtype}`, classNames[s.label] ?? String(s.label), pct(s.recall), String(s.images)]);
  if (!rows.length) return null;
  return { id: 'patients', title: 'Patients and subtypes', note: 'Patient level: the mean probability of each test patient\'s images, at the applied decision (accuracy for all, recall per class); subtypes: recall of their images.', columns: ['', 'class', 'accuracy / recall', 'count'], rows };
}

/** What --json prints of a group evaluation. */
export function groupEvaluationJson(g: GroupEvaluation) {
  return {
    column: g.column,
    method: g.method,
    groups: g.groups,
    accuracy: g.evaluation.accuracy,
    auc: g.evaluation.auc,
    decision: g.evaluation.report.decision,
    report: reportJson(g.evaluation.report),
    subtypes: g.subtypes,
    perGroup: g.perGroup,
  };
}
