/**
 * Symbolic links in image folders: loops and links to an enclosing folder are
 * errors (they multiplied and relabelled images), links out of the root are
 * refused unless followSymlinks, an image reached twice is counted once, and
 * file-system errors say EACCES / ELOOP / ENOENT rather than "unsupported
 * format" or "missing".
 */
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { DataError, decodeImage, listImageFolder } from '@lite-cnn/sdk';

let tmp: string;
let root: string;

async function png(file: string, value: number): Promise<void> {
  await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: value, g: value, b: value } } }).png().toFile(file);
}

beforeEach(async () => {
  tmp = await fs.mkdtemp(path.join(tmpdir(), 'lite-cnn-links-'));
  root = path.join(tmp, 'data');
  for (const c of ['benign', 'malignant']) await fs.mkdir(path.join(root, c), { recursive: true });
  await png(path.join(root, 'benign', 'b1.png'), 10);
  await png(path.join(root, 'benign', 'b2.png'), 20);
  await png(path.join(root, 'malignant', 'm1.png'), 200);
});

afterEach(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

const listing = (opts = {}) => listImageFolder(root, { manifest: false, ...opts });

describe('symbolic links in an image folder', () => {
  it('a link to an enclosing folder is a loop: benign/loop -> . and benign/up -> .. are errors, not 41 copies or relabelled images', async () => {
    await fs.symlink('.', path.join(root, 'benign', 'loop'));
    await expect(listing()).rejects.toThrow(DataError);
    await expect(listing()).rejects.toThrow(/the symbolic link .*benign\/loop points to .*benign, a folder that contains it: a loop/);
    await fs.rm(path.join(root, 'benign', 'loop'));
    await fs.symlink('..', path.join(root, 'benign', 'up'));
    await expect(listing()).rejects.toThrow(/benign\/up points to .*data, a folder that contains it: a loop/);
    // followSymlinks allows links out of the root, never loops.
    await expect(listing({ followSymlinks: true })).rejects.toThrow(/a loop/);
  });

  it('a link out of the root is refused unless followSymlinks; then its images count once', async () => {
    const elsewhere = path.join(tmp, 'elsewhere');
    await fs.mkdir(elsewhere);
    await png(path.join(elsewhere, 'x.png'), 99);
    await fs.symlink(elsewhere, path.join(root, 'malignant', 'more'));
    await expect(listing()).rejects.toThrow(/the symbolic link .*malignant\/more points outside the folder, to .*elsewhere; expected links inside .* \(allow others with --follow-symlinks/);
    const followed = await listing({ followSymlinks: true });
    expect(followed.samples.map((s) => path.relative(root, s.path))).toEqual(['benign/b1.png', 'benign/b2.png', 'malignant/m1.png', 'malignant/more/x.png']);
    expect(followed.duplicates).toEqual([]);
  });

  it('an image reached twice in one class is counted once and reported; in two classes it is an error', async () => {
    await fs.mkdir(path.join(root, 'benign', 'sub'));
    await fs.symlink(path.join(root, 'benign', 'b1.png'), path.join(root, 'benign', 'sub', 'again.png'));
    const once = await listing();
    expect(once.samples.map((s) => path.relative(root, s.path))).toEqual(['benign/b1.png', 'benign/b2.png', 'malignant/m1.png']);
    expect(once.duplicates).toEqual([{ path: path.join(root, 'benign', 'sub', 'again.png'), sameAs: path.join(root, 'benign', 'b1.png') }]);
    await fs.symlink(path.join('..', 'benign', 'b2.png'), path.join(root, 'malignant', 'm2.png'));
    await expect(listing()).rejects.toThrow(/malignant\/m2\.png and .*benign\/b2\.png are the same file .* in classes 'malignant' and 'benign'; an image has one label/);
  });

  it('a link loop in a file name is ELOOP and a dangling link is ENOENT, both by name', async () => {
    await fs.symlink('self.png', path.join(root, 'benign', 'self.png'));
    await expect(listing()).rejects.toThrow(/cannot resolve .*benign\/self\.png: too many levels of symbolic links \(a link loop\) \(ELOOP\)/);
    await fs.rm(path.join(root, 'benign', 'self.png'));
    await fs.symlink('gone.png', path.join(root, 'benign', 'dangling.png'));
    await expect(listing()).rejects.toThrow(/cannot resolve .*benign\/dangling\.png: a broken symbolic link \(its target does not exist, ENOENT\)/);
  });

  it('decoding names ENOENT and ELOOP (and EACCES when not root) instead of an unsupported format', async () => {
    const shape = [4, 4, 3] as [number, number, number];
    await expect(decodeImage(path.join(root, 'benign', 'nope.png'), { shape })).rejects.toThrow(/nope\.png: does not exist \(ENOENT\)/);
    await fs.symlink('loop.png', path.join(tmp, 'loop.png'));
    await expect(decodeImage(path.join(tmp, 'loop.png'), { shape })).rejects.toThrow(/loop\.png: too many levels of symbolic links \(a link loop\) \(ELOOP\)/);
    if (process.getuid?.() === 0) {
      console.log('EACCES case skipped: running as root, which reads any file');
      return;
    }
    const locked = path.join(root, 'benign', 'b1.png');
    await fs.chmod(locked, 0);
    await expect(decodeImage(locked, { shape })).rejects.toThrow(/b1\.png: permission denied \(EACCES\)/);
  });
});
