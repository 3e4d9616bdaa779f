import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout or install directory, so relative paths in config work from any working directory. */
export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const defaultConfigFile = resolve(projectRoot, 'config/sling.yaml');

/** Resolves a path from config: absolute stays, relative is taken from the project root. */
export function fromProjectRoot(path: string): string {
  return isAbsolute(path) ? path : resolve(projectRoot, path);
}
