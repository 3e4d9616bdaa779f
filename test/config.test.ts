import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../agent/config/errors.ts';
import { configJsonSchema } from '../agent/config/json-schema.ts';
import { loadConfig, resolveConfig } from '../agent/config/load.ts';
import { projectRoot } from '../agent/paths.ts';

function issuesOf(fn: () => unknown) {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.issues;
  }
  assert.fail('expected the config to be rejected');
}

describe('config', () => {
  it('fills every default from an empty document', () => {
    const config = resolveConfig({ name: 'x.yaml', text: '' });
    assert.equal(config.device.id, 'sling-01');
    assert.equal(config.mqtt.prefix, 'sling');
    assert.equal(config.mqtt.url, undefined);
    assert.equal(config.nlu.maxInputChars, 256);
  });

  it('rejects a wrong type naming file, line, key path and reason', () => {
    const text = ['mqtt:', '  embedded:', '    port: "1883x"', 'nlu:', '  threads: 2'].join('\n');
    const issues = issuesOf(() => resolveConfig({ name: 'site.yaml', text }));
    assert.equal(issues.length, 1);
    assert.deepEqual(
      { source: issues[0]!.source, path: issues[0]!.path, line: issues[0]!.line },
      { source: 'site.yaml', path: 'mqtt.embedded.port', line: 3 },
    );
    assert.match(issues[0]!.message, /expected number/);
  });

  it('rejects an unknown key at its own line', () => {
    const text = ['device:', '  id: bot', '  colour: red', 'nlu:', '  modle: x'].join('\n');
    const issues = issuesOf(() => resolveConfig({ name: 'site.yaml', text }));
    const found = issues.map((i) => `${i.path}@${i.line}:${i.message}`).sort();
    assert.deepEqual(found, ['device.colour@3:unknown key', 'nlu.modle@5:unknown key']);
  });

  it('reports YAML syntax errors with their line', () => {
    const issues = issuesOf(() => resolveConfig({ name: 'broken.yaml', text: 'mqtt:\n  prefix: [a\n' }));
    assert.equal(issues[0]!.source, 'broken.yaml');
    assert.ok((issues[0]!.line ?? 0) >= 2);
  });

  it('rejects a document that is not a mapping', () => {
    const issues = issuesOf(() => resolveConfig({ name: 'list.yaml', text: '- a\n- b\n' }));
    assert.match(issues[0]!.message, /mapping/);
  });

  it('applies SLING_* environment overrides with the leaf type', () => {
    const config = resolveConfig(
      { name: 'x.yaml', text: 'mqtt:\n  url: mqtt://file:1883\n' },
      { SLING_MQTT_URL: 'mqtts://env:8883', SLING_DEVICE_ID: '42', SLING_MQTT_EMBEDDED_PORT: '1999' },
    );
    assert.equal(config.mqtt.url, 'mqtts://env:8883');
    assert.equal(config.device.id, '42');
    assert.equal(config.mqtt.embedded.port, 1999);
  });

  it('blames the environment variable for a bad override', () => {
    const issues = issuesOf(() =>
      resolveConfig({ name: 'x.yaml', text: '' }, { SLING_MQTT_URL: 'http://x' }),
    );
    assert.equal(issues[0]!.source, 'env:SLING_MQTT_URL');
    assert.equal(issues[0]!.path, 'mqtt.url');
  });

  it('loads the shipped default config file', () => {
    const { config, file } = loadConfig(undefined, {});
    assert.equal(file, resolve(projectRoot, 'config/sling.yaml'));
    assert.equal(config.nlu.model, 'models/default');
  });

  it('keeps config/schemas/sling.config.schema.json in step with the code', () => {
    const committed = JSON.parse(
      readFileSync(resolve(projectRoot, 'config/schemas/sling.config.schema.json'), 'utf8'),
    );
    assert.deepEqual(committed, configJsonSchema(), 'run `npm run build:schemas` and commit the result');
  });
});

describe('sling CLI', () => {
  const bin = resolve(projectRoot, 'agent/sling.js');

  it('prints its version from package.json', () => {
    const pkg = JSON.parse(readFileSync(resolve(projectRoot, 'package.json'), 'utf8'));
    assert.equal(execFileSync('node', [bin, '--version'], { encoding: 'utf8' }).trim(), pkg.version);
  });

  it('config check exits 1 and lists problems for a bad file, 0 for a good one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sling-cfg-'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'log:\n  level: loud\n');
    const failed = spawnSync('node', [bin, 'config', 'check', bad], { encoding: 'utf8', cwd: dir });
    assert.equal(failed.status, 1);
    assert.match(failed.stderr, new RegExp(`${bad.replace(/[/.]/g, '\\$&')}:2:\\d+: log\\.level: `));
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'log:\n  level: warn\n');
    const passed = spawnSync('node', [bin, 'config', 'check', good], { encoding: 'utf8', cwd: dir });
    assert.equal(passed.status, 0, passed.stderr);
  });
});
