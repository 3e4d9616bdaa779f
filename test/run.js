#!/usr/bin/env node
// Node 20's test runner does not expand globs or find .ts files, so list them here.
// Usage: node test/run.js [path-filter ...]   e.g. node test/run.js config
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const testDir = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(testDir, { recursive: true, withFileTypes: false })
  .map(String)
  .filter((file) => file.endsWith('.test.ts') && !file.includes('node_modules'))
  .filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)))
  .map((file) => relative(process.cwd(), join(testDir, file)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
const concurrency = process.env.SLING_TEST_CONCURRENCY ?? String(Math.max(2, availableParallelism()));
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${concurrency}`,
    // A hung test or a leaked handle fails its file instead of stalling CI.
    `--test-timeout=${process.env.SLING_TEST_TIMEOUT_MS ?? 180000}`,
    '--test-force-exit',
    '--test-reporter=spec',
    ...files,
  ],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
