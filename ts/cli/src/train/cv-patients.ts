/**
 * The test patients of a cross-validation, each from the one fold that tested
 * it: how many of its images the fold's decision gets right, the mean
 * positive-class probability of its images and the decision on the patient.
 * A recipe's misses on new patients are often whole patients (one stained
 * unlike its class, a rare subtype: docs/histology.md); the fold means and
 * the per-subtype recall hide which ones, this table names them.
 */
import type { GroupOutcome } from '../model/group-evaluation.js';
import type { ReportTable } from '../report/index.js';
import { fixed, percent } from '../ui/format.js';

/**
 * A test patient as a fold records it (fold-k/done.json): its group outcome
 * (with --group-pattern the group is the person; its decision is on its
 * images' mean probability at the fold's decision) and the fold that tested it.
 */
export type PatientOutcome = GroupOutcome & { fold: number };

/**
 * A test patient as read back from a fold's done.json: a record of an
 * earlier release holds only the class, the decision and `subtype` (its
 * first image's).
 */
export type RecordedPatient = Pick<PatientOutcome, 'label' | 'predicted'> & Partial<PatientOutcome> & { subtype?: string | null };

/** A row of cv.json's `patients`. */
export interface TestPatient {
  patient: string;
  fold: number;
  label: string;
  subtypes: string[];
  images: number;
  correct: number;
  score: number | null;
  decided: string;
}

/**
 * The rows of cv.json's `patients`, worst first (image accuracy, then fold
 * and patient). Records of an earlier release (no patient name in their
 * done.json) are left out.
 */
export function testPatients(outcomes: readonly RecordedPatient[], classNames: readonly string[]): TestPatient[] {
  const name = (c: number) => classNames[c] ?? String(c);
  return outcomes
    .filter((p): p is PatientOutcome => typeof p.group === 'string' && typeof p.fold === 'number' && Array.isArray(p.subtypes) && typeof p.images === 'number' && typeof p.correct === 'number')
    .map((p) => ({ patient: p.group, fold: p.fold, label: name(p.label), subtypes: p.subtypes, images: p.images, correct: p.correct, score: p.score, decided: name(p.predicted) }))
    .sort((a, b) => a.correct / a.images - b.correct / b.images || a.fold - b.fold || a.patient.localeCompare(b.patient));
}

const describe = (p: TestPatient, posName: string | null): string =>
  `${p.patient} (${[p.label, ...p.subtypes].join(', ')}; fold ${p.fold}): ${p.correct}/${p.images} images right` +
  `${p.score !== null && posName !== null ? `, mean ${posName} probability ${fixed(p.score, 2)}` : ''}, decided ${p.decided}`;

/** The text lines after the fold table: the patients with misclassified images, worst first, at most `limit`. */
export function patientLines(rows: readonly TestPatient[], posName: string | null, limit = 10): string[] {
  if (!rows.length) return [];
  const missed = rows.filter((p) => p.correct < p.images);
  const wrongImages = missed.reduce((a, p) => a + p.images - p.correct, 0);
  if (!missed.length) return [`test patients: all ${rows.length} have every image right`];
  const lines = [`test patients with misclassified images (${missed.length} of ${rows.length}, ${wrongImages} images; worst first):`];
  for (const p of missed.slice(0, limit)) lines.push(`  ${describe(p, posName)}`);
  if (missed.length > limit) lines.push(`  ... ${missed.length - limit} more in cv.json (patients)`);
  return lines;
}

/** report.html's table of every test patient, worst first. */
export function patientReportTable(rows: readonly TestPatient[], posName: string | null): ReportTable | null {
  if (!rows.length) return null;
  const withScore = posName !== null && rows.some((p) => p.score !== null);
  const columns = ['patient', 'fold', 'class', 'subtypes', 'images right', 'image accuracy', ...(withScore ? [`mean ${posName} probability`] : []), 'decided'];
  return {
    id: 'cv-patients',
    title: 'Test patients',
    note: "Each patient from the fold that tested it, worst first: its images decided at the fold's decision, and the patient decided on their mean probability.",
    columns,
    rows: rows.map((p) => [p.patient, String(p.fold), p.label, p.subtypes.join(', '), `${p.correct}/${p.images}`, percent(p.correct / p.images, 1), ...(withScore ? [p.score === null ? 'n/a' : fixed(p.score, 3)] : []), p.decided]),
  };
}
