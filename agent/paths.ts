import { existsSync } from 'node:fs';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * The checkout or install directory (the nearest one up with package.json), so relative paths in config work
 * from any working directory, whether this runs from the sources (agent/) or from the build (dist/agent/).
 */
export const projectRoot = findRoot(here);

/** '.ts' when running the sources through tsx, '.js' when running the build: for files found at run time. */
export const moduleExtension = extname(fileURLToPath(import.meta.url));

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(resolve(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return resolve(from, '..');
  }
}

export const defaultConfigFile = resolve(projectRoot, 'config/sling.yaml');

/** Resolves a path from config: absolute stays, relative is taken from the project root. */
export function fromProjectRoot(path: string): string {
  return isAbsolute(path) ? path : resolve(projectRoot, path);
}
