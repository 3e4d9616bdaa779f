import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { type ModelFile, sha256Hex } from './manifest.ts';

/** Reads a model directory into one blob (files in sorted path order) plus the file list for the manifest. */
export function packDirectory(dir: string): { blob: Buffer; files: ModelFile[] } {
  const paths = (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .sort();
  const parts: Buffer[] = [];
  const files: ModelFile[] = [];
  for (const path of paths) {
    const data = readFileSync(join(dir, path));
    parts.push(data);
    files.push({ path, size: data.length, sha256: sha256Hex(data) });
  }
  return { blob: Buffer.concat(parts), files };
}

/** Writes the files of a verified blob into `dir`; throws if a file does not match its hash. */
export async function unpackBlob(blob: Buffer, files: readonly ModelFile[], dir: string): Promise<void> {
  let offset = 0;
  for (const file of files) {
    const data = blob.subarray(offset, offset + file.size);
    offset += file.size;
    if (sha256Hex(data) !== file.sha256) throw new Error(`${file.path}: sha256 mismatch`);
    const target = join(dir, file.path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, data);
  }
}
