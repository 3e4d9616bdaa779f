#!/usr/bin/env node
// Compiles the TypeScript sources (agent/, drivers/, models/) to JavaScript in dist/, so `sling` runs them
// without the tsx loader: the loader's hooks thread alone costs ~35 MiB of idle memory and start-up time.
// It only emits (tsconfig.build.json: noCheck, so --omit=dev installs without @types build too); `npm run
// typecheck` checks. Plain JavaScript because it runs before any TypeScript can. Usage:
//   node agent/build.js             build (npm run build; npm install runs it as `prepare`)
//   node agent/build.js --if-stale  build only when a source changed since the last build
//   node agent/build.js --check     exit 0 when dist/ is up to date, 1 when missing or stale
//   --soft                          a failed build only warns (npm `prepare`/`prestart`: sling then runs the
//                                   sources through tsx, so `npm install && npm start` never breaks on it)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const distDir = resolve(root, 'dist');
/** Written last by a successful build: the newest source time the build saw. */
const STAMP = '.sources-mtime';
const SOURCE_DIRS = ['agent', 'drivers', 'models'];
const CONFIG_FILES = ['tsconfig.json', 'tsconfig.build.json'];

/**
 * Newest modification time over the sources that get compiled, the directories holding them (deleting or
 * renaming a file changes its directory) and the compiler settings. A few ms for ~200 files.
 */
export function newestSourceMtime() {
  let newest = 0;
  const visit = (dir) => {
    let hasSources = false;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
      const path = resolve(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
        hasSources = true;
        newest = Math.max(newest, statSync(path).mtimeMs);
      }
    }
    if (hasSources) newest = Math.max(newest, statSync(dir).mtimeMs);
  };
  for (const dir of SOURCE_DIRS) if (existsSync(resolve(root, dir))) visit(resolve(root, dir));
  for (const file of CONFIG_FILES) newest = Math.max(newest, statSync(resolve(root, file)).mtimeMs);
  return newest;
}

/** True when dist/ holds a complete build of the current sources. */
export function buildIsFresh() {
  try {
    const built = Number(readFileSync(resolve(distDir, STAMP), 'utf8'));
    return Number.isFinite(built) && newestSourceMtime() <= built;
  } catch {
    return false;
  }
}

/**
 * Compiles into a fresh directory and swaps it in, so a process starting meanwhile sees either the old
 * complete build or none (then it runs the sources through tsx). Returns false when no compiler is
 * installed (e.g. `npm ci --omit=dev`): the sources then run through tsx, as before the build existed.
 */
export function build({ quiet = false } = {}) {
  let tsc;
  try {
    const pkg = createRequire(import.meta.url).resolve('typescript/package.json');
    tsc = resolve(dirname(pkg), JSON.parse(readFileSync(pkg, 'utf8')).bin.tsc);
  } catch {
    if (!quiet) console.error('sling build: typescript is not installed; sling runs the sources through tsx');
    return false;
  }
  const sourcesAt = newestSourceMtime();
  const tmp = `${distDir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const result = spawnSync(
    process.execPath,
    [tsc, '-p', resolve(root, 'tsconfig.build.json'), '--outDir', tmp],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  if (result.status !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`sling build: tsc failed (exit ${result.status ?? result.signal})`);
  }
  writeFileSync(resolve(tmp, STAMP), String(sourcesAt));
  const old = `${distDir}.old-${process.pid}`;
  if (existsSync(distDir)) renameSync(distDir, old);
  renameSync(tmp, distDir);
  rmSync(old, { recursive: true, force: true });
  if (!quiet) console.error(`sling build: compiled to ${distDir}`);
  return true;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const flags = process.argv.slice(2);
  if (flags.includes('--check')) process.exit(buildIsFresh() ? 0 : 1);
  if (flags.includes('--if-stale') && buildIsFresh()) process.exit(0);
  try {
    build();
  } catch (error) {
    if (!flags.includes('--soft')) throw error;
    console.error(`${error.message}: sling runs the sources through tsx until the next successful build`);
  }
}
