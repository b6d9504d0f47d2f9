// scripts/reproduce/new-patients.mjs's markdown on made-up `evaluate --json` results: the people a
// recipe misses are named, with their images right per row, their share of the misses and the
// accuracy on everyone else, in numbers worked out here by hand.
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const SCRIPT = join(fileURLToPath(new URL('../..', import.meta.url)), 'scripts/reproduce/new-patients.mjs');
type Markdown = (results: Record<string, unknown[]>, opts: { seeds: number[] }) => string[];

interface Person { group: string; label: 0 | 1; subtype: string; images: number; correct: number }

/** What `evaluate --group-by patient --json` prints of a fold whose test people are `people`, at threshold 0.5. */
function evaluation(people: Person[]) {
  const images = people.reduce((a, p) => a + p.images, 0);
  const right = people.reduce((a, p) => a + p.correct, 0);
  const of = (label: 0 | 1) => people.filter((p) => p.label === label);
  const recall = (ps: Person[]) => ps.reduce((a, p) => a + p.correct, 0) / ps.reduce((a, p) => a + p.images, 0);
  const perClass = [{ index: 0, name: 'benign', recall: recall(of(0)) }, { index: 1, name: 'malignant', recall: recall(of(1)) }];
  const decided = (p: Person) => (p.correct * 2 > p.images ? p.label : 1 - p.label);
  return {
    accuracy: right / images,
    auc: 0.9,
    perClass,
    atDefault: { perClass },
    atThreshold: { perClass },
    threshold: { value: 0.5 },
    subtypes: people.map((p) => ({ subtype: p.subtype, label: p.label, images: p.images, correct: p.correct })),
    groups: {
      accuracy: people.filter((p) => decided(p) === p.label).length / people.length,
      report: { perClass: [0, 1].map((l) => ({ name: perClass[l]!.name, recall: of(l as 0 | 1).filter((p) => decided(p) === l).length / of(l as 0 | 1).length })) },
      subtypes: people.map((p) => ({ subtype: p.subtype, label: p.label, images: 1, correct: decided(p) === p.label ? 1 : 0 })),
      perGroup: people.map((p) => ({ group: p.group, label: p.label, subtypes: [p.subtype], images: p.images, correct: p.correct, score: 0.5, predicted: decided(p) })),
    },
  };
}

describe('reproduce: the New patients section', () => {
  it('names the people under half right and what they weigh', async () => {
    const { newPatientsMarkdown } = (await import(pathToFileURL(SCRIPT).href)) as { newPatientsMarkdown: Markdown };
    const seed = (s: number, fold1: Person[], fold2: Person[]) => ({ seed: s, of: 2, folds: [evaluation(fold1), evaluation(fold2)], swap: null });
    // Two seeds: a pink benign person (a) and a pale carcinoma (c) are missed in both; b and d are not.
    const histology = [
      seed(0, [{ group: '14-1', label: 0, subtype: 'F', images: 10, correct: 0 }, { group: '14-2', label: 1, subtype: 'DC', images: 10, correct: 10 }], [{ group: '14-3', label: 1, subtype: 'PC', images: 10, correct: 2 }, { group: '14-4', label: 0, subtype: 'TA', images: 10, correct: 9 }]),
      seed(1, [{ group: '14-1', label: 0, subtype: 'F', images: 10, correct: 1 }, { group: '14-3', label: 1, subtype: 'PC', images: 10, correct: 3 }], [{ group: '14-2', label: 1, subtype: 'DC', images: 10, correct: 10 }, { group: '14-4', label: 0, subtype: 'TA', images: 10, correct: 10 }]),
    ];
    const md = newPatientsMarkdown({ breakhis: [], histology, tta: [] }, { seeds: [0, 1] }).join('\n');
    expect(md).toContain('| person | class | subtypes | `--preset histology` |');
    // Over the two seeds: 14-1 has 1 of 20 images right, 14-3 has 5 of 20; 14-2 and 14-4 are not listed.
    expect(md).toContain('| 14-1 | benign | F | 1/20 (5%) |');
    expect(md).toContain('| 14-3 | malignant | PC | 5/20 (25%) |');
    expect(md).not.toMatch(/\| 14-2 \|/);
    expect(md).not.toMatch(/\| 14-4 \|/);
    // 80 images, 35 missed: 34 of them are 14-1's and 14-3's; the others' 40 images are 39 right;
    // with those right and the two people as decided: 1 - 34/80 = 57.5%.
    expect(md).toContain('- `--preset histology`: these 2 people hold 34 of its 35 missed images (97%); everyone else\'s images are 97.5% right. With every other image right and these people decided as they are, its pooled image accuracy would be 57.5%.');
  });

  it('leaves the table out for evaluations without per-person counts (an earlier release)', async () => {
    const { newPatientsMarkdown } = (await import(pathToFileURL(SCRIPT).href)) as { newPatientsMarkdown: Markdown };
    const ev = evaluation([{ group: '14-1', label: 0, subtype: 'F', images: 10, correct: 0 }, { group: '14-2', label: 1, subtype: 'DC', images: 10, correct: 10 }]);
    for (const g of ev.groups.perGroup) delete (g as { correct?: number }).correct;
    const md = newPatientsMarkdown({ breakhis: [], histology: [{ seed: 0, of: 1, folds: [ev], swap: null }], tta: [] }, { seeds: [0] }).join('\n');
    expect(md).toContain('Targets of issue 14');
    expect(md).not.toContain('People these recipes miss');
  });
});
