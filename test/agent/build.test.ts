import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { fromProjectRoot, projectRoot } from '../../agent/paths.ts';

// `sling` runs the compiled build (dist/) when it is fresh. Here the sources are compiled into a private
// directory inside the project (dist/ itself may be in use by other tests) and the compiled CLI must find the
// project root, its commands (.js) and the builtin entities, and parse like the sources do.

describe('the compiled build', () => {
  mkdirSync(fromProjectRoot('.sling'), { recursive: true });
  const out = mkdtempSync(join(fromProjectRoot('.sling'), 'build-test-'));
  after(() => rmSync(out, { recursive: true, force: true }));

  it('compiles and runs `sling parse` from JavaScript', () => {
    const pkg = createRequire(import.meta.url).resolve('typescript/package.json');
    const tsc = resolve(dirname(pkg), 'bin/tsc');
    const built = spawnSync(
      process.execPath,
      [tsc, '-p', fromProjectRoot('tsconfig.build.json'), '--outDir', out],
      { encoding: 'utf8' },
    );
    assert.equal(built.status, 0, built.stdout + built.stderr);
    assert.ok(readdirSync(join(out, 'agent/commands')).includes('parse.js'));
    const cli = pathToFileURL(join(out, 'agent/cli.js')).href;
    const script = `const { main } = await import(${JSON.stringify(cli)}); await main([process.argv[0], 'sling', ...process.argv.slice(1)]);`;
    const parse = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', script, 'parse', '--json', 'dim the lounge lights to 30 percent'],
      { encoding: 'utf8', cwd: '/' },
    );
    assert.equal(parse.status, 0, parse.stderr);
    const result = JSON.parse(parse.stdout);
    assert.equal(result.intent, 'light.dim', parse.stdout);
    assert.deepEqual(
      result.slots.map((s: { name: string; value: unknown }) => [s.name, s.value]),
      [
        ['room', 'living_room'],
        ['brightness', 30],
      ],
    );
    // the compiled modules resolve the project root, not the build directory
    const paths = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const p = await import(${JSON.stringify(pathToFileURL(join(out, 'agent/paths.js')).href)}); console.log(JSON.stringify([p.projectRoot, p.moduleExtension]));`,
      ],
      { encoding: 'utf8' },
    );
    assert.deepEqual(JSON.parse(paths.stdout), [projectRoot, '.js'], paths.stderr);
  });
});
