/**
 * The original BreakHis v1 archive layout:
 * `BreaKHis_v1/histology_slides/breast/<benign|malignant>/SOB/<subtype>/<patient>/<mag>X/*.png`,
 * file names like `SOB_B_A-14-22549AB-40-001.png` (procedure SOB, class
 * B|M, subtype, patient id `<year>-<slide>`, magnification, sequence). Class,
 * subtype, patient and magnification are read from the file name and checked
 * against the folders, so a misfiled image is an error rather than a wrong label.
 */
import { DataError } from '../errors.js';
import { compareNames, isImageFile, requireNode, type ImageListing, type ImageSample } from './samples.js';

export const BREAKHIS_MAGNIFICATIONS: readonly number[] = [40, 100, 200, 400];

export interface BreakhisName {
  className: 'benign' | 'malignant';
  /** A, F, PT, TA (benign); DC, LC, MC, PC (malignant). */
  subtype: string;
  /** `<year>-<slide>`, e.g. '14-22549AB'. */
  patient: string;
  magnification: number;
  sequence: number;
}

const NAME = /^SOB_([BM])_([A-Z]+)-(\d+-[0-9A-Za-z]+)-(\d+)-(\d+)\.png$/i;

/** Parses a BreakHis file name, or returns null when it does not follow the pattern. */
export function parseBreakhisName(fileName: string): BreakhisName | null {
  const m = NAME.exec(fileName);
  if (!m) return null;
  return {
    className: m[1]!.toUpperCase() === 'B' ? 'benign' : 'malignant',
    subtype: m[2]!.toUpperCase(),
    patient: m[3]!,
    magnification: Number(m[4]),
    sequence: Number(m[5]),
  };
}

/**
 * The person behind a BreakHis slide id: ids that share the number and differ
 * in the letter suffix (`14-23060AB` / `14-23060CD`) may be one person, so
 * strict patient-level splits group by the numeric part (`14-23060`).
 */
export function breakhisPersonId(patient: string): string {
  return patient.replace(/[A-Za-z]+$/, '');
}

export interface BreakhisOptions {
  /** Keep only these magnifications (40, 100, 200, 400). Default: all. */
  magnification?: number | readonly number[];
}

export interface BreakhisListing extends ImageListing {
  magnifications: number[];
}

/**
 * Lists the BreakHis archive. `root` may be the folder holding `BreaKHis_v1`,
 * `BreaKHis_v1` itself, or its `histology_slides/breast` folder. Classes are
 * ['benign', 'malignant']; groups are the patient ids (always known).
 */
export async function listBreakhis(root: string, options: BreakhisOptions = {}): Promise<BreakhisListing> {
  requireNode('listBreakhis');
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const mags = options.magnification === undefined ? BREAKHIS_MAGNIFICATIONS : typeof options.magnification === 'number' ? [options.magnification] : options.magnification;
  for (const m of mags) {
    if (!BREAKHIS_MAGNIFICATIONS.includes(m)) throw new DataError(`listBreakhis: magnification must be one of ${BREAKHIS_MAGNIFICATIONS.join(', ')}, got ${m}`);
  }
  const isDir = (p: string) => fs.stat(p).then((s) => s.isDirectory(), () => false);
  const candidates = [path.join(root, 'BreaKHis_v1', 'histology_slides', 'breast'), path.join(root, 'histology_slides', 'breast'), root];
  let breast: string | undefined;
  for (const c of candidates) {
    if ((await isDir(path.join(c, 'benign'))) || (await isDir(path.join(c, 'malignant')))) {
      breast = c;
      break;
    }
  }
  if (breast === undefined) {
    const why = (await isDir(root)) ? 'has no BreaKHis_v1/histology_slides/breast/<benign|malignant> folders' : 'does not exist';
    throw new DataError(`listBreakhis: expected the BreakHis archive layout BreaKHis_v1/histology_slides/breast/<benign|malignant>/SOB/<subtype>/<patient>/<mag>X/*.png, but ${root} ${why}`);
  }
  const classNames = ['benign', 'malignant'];
  const samples: ImageSample[] = [];
  const ignored: string[] = [];
  const list = async (dir: string) => (await fs.readdir(dir, { withFileTypes: true }).catch(() => [])).filter((d) => !d.name.startsWith('.')).sort((a, b) => compareNames(a.name, b.name));
  for (const [label, className] of classNames.entries()) {
    const sob = path.join(breast, className, 'SOB');
    for (const subtypeDir of await list(sob)) {
      if (!subtypeDir.isDirectory()) continue;
      for (const patientDir of await list(path.join(sob, subtypeDir.name))) {
        if (!patientDir.isDirectory()) continue;
        for (const magDir of await list(path.join(sob, subtypeDir.name, patientDir.name))) {
          const folderMag = /^(\d+)X$/i.exec(magDir.name);
          if (!magDir.isDirectory() || !folderMag || !mags.includes(Number(folderMag[1]))) continue;
          const dir = path.join(sob, subtypeDir.name, patientDir.name, magDir.name);
          for (const f of await list(dir)) {
            const full = path.join(dir, f.name);
            if (!f.isFile()) continue;
            if (!isImageFile(f.name)) {
              ignored.push(full);
              continue;
            }
            const n = parseBreakhisName(f.name);
            if (!n) throw new DataError(`listBreakhis: ${full}: expected a file name like SOB_B_A-14-22549AB-40-001.png (class, subtype, patient, magnification, sequence)`);
            if (n.className !== className) throw new DataError(`listBreakhis: ${full}: the file name says ${n.className} but it lies in the ${className} folder`);
            if (n.magnification !== Number(folderMag[1])) throw new DataError(`listBreakhis: ${full}: the file name says ${n.magnification}X but it lies in the ${magDir.name} folder`);
            samples.push({ path: full, label, className, group: n.patient, subtype: n.subtype, magnification: n.magnification });
          }
        }
      }
    }
  }
  if (samples.length === 0) {
    throw new DataError(`listBreakhis: found no images at magnification ${mags.map((m) => `${m}X`).join('/')} under ${breast}`);
  }
  for (const [label, className] of classNames.entries()) {
    if (!samples.some((s) => s.label === label)) throw new DataError(`listBreakhis: class folder '${className}' has no images at ${mags.map((m) => `${m}X`).join('/')} under ${breast}`);
  }
  return { root, classNames, samples, ignored, groupsKnown: true, magnifications: [...mags] };
}
