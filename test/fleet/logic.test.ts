import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveConfig } from '../../agent/config/load.ts';
import { diffConfigs } from '../../agent/fleet/diff.ts';
import {
  admitDocument,
  type ConfigDocument,
  composeConfig,
  configHash,
  documentHash,
  groupsOf,
  parseConfigDocument,
} from '../../agent/fleet/layers.ts';
import { deepMerge, mergeLayers } from '../../agent/fleet/merge.ts';
import { metaAt, REDACTED, redact } from '../../agent/fleet/meta.ts';
import { buildManifest, manifestProblem } from '../../agent/fleet/model/manifest.ts';
import {
  canonicalJson,
  generateSigningKey,
  loadPrivateKey,
  signDocument,
  verifyDocument,
} from '../../agent/fleet/signing.ts';

const file = resolveConfig({ name: 'test.yaml', text: 'device:\n  id: bot-1\nfleet:\n  groups: [lab]\n' });
const doc = (
  target: ConfigDocument['target'],
  version: number,
  config: Record<string, unknown>,
): ConfigDocument => ({
  target,
  version,
  config,
});
const layer = (d: ConfigDocument) => ({ version: d.version, hash: documentHash(d), config: d.config });
const open = { trusted: [], requireSigned: false };

describe('fleet merge', () => {
  it('deep-merges objects, replaces arrays and scalars, and deletes keys set to null', () => {
    const merged = mergeLayers([
      { a: { x: 1, y: [1, 2], z: 'keep' }, b: 1 },
      { a: { x: 2, y: [3] }, c: { d: 1 } },
      { a: { z: null }, b: null },
    ]);
    assert.deepEqual(merged, { a: { x: 2, y: [3] }, c: { d: 1 } });
  });

  it('does not modify its inputs', () => {
    const base = { a: { b: 1 } };
    deepMerge(base, { a: { b: 2 } });
    assert.deepEqual(base, { a: { b: 1 } });
  });

  it('layers file < fleet < group < device and a null in a higher layer restores the default', () => {
    const layers = {
      fleet: layer(doc('fleet', 1, { log: { level: 'warn' }, nlu: { threads: 2 } })),
      'group:lab': layer(doc('group:lab', 1, { log: { level: 'debug' }, nlu: { maxInputChars: 100 } })),
      'device:bot-1': layer(doc('device:bot-1', 1, { nlu: { threads: null } })),
      'group:other': layer(doc('group:other', 1, { log: { level: 'error' } })),
    } as const;
    const composed = composeConfig(file, layers, 'bot-1');
    assert.ok(composed.ok);
    assert.equal(composed.config.log.level, 'debug', 'group beats fleet; non-member group ignored');
    assert.equal(composed.config.nlu.threads, 1, 'device null deletes the fleet value: schema default');
    assert.equal(composed.config.nlu.maxInputChars, 100);
    assert.equal(composed.config.device.id, 'bot-1', 'file values survive');
    assert.deepEqual(composed.versions, { fleet: 1, 'group:lab': 1, 'device:bot-1': 1 });
  });

  it('takes groups from the file, overridden by the fleet or the device layer, never by a group layer', () => {
    assert.deepEqual(groupsOf(file, {}, 'bot-1'), ['lab']);
    const layers = {
      'device:bot-1': layer(doc('device:bot-1', 1, { fleet: { groups: ['east', 'lab'] } })),
      'group:lab': layer(doc('group:lab', 1, { fleet: { groups: ['x'] } })),
    };
    assert.deepEqual(groupsOf(file, layers, 'bot-1'), ['east', 'lab']);
  });
});

describe('fleet validation', () => {
  it('rejects a merged config with the exact path, reason and the layer that set it', () => {
    const layers = {
      fleet: layer(doc('fleet', 3, { nlu: { threads: 99 } })),
      'device:bot-1': layer(doc('device:bot-1', 7, { log: { colour: 'red' } })),
    };
    const composed = composeConfig(file, layers, 'bot-1');
    assert.ok(!composed.ok);
    const found = composed.issues.map((i) => `${i.source}|${i.path}|${i.message}`).sort();
    assert.equal(found.length, 2);
    assert.equal(found[0], 'device:bot-1 v7|log.colour|unknown key');
    assert.match(found[1]!, /^fleet v3\|nlu\.threads\|.*<=16/);
  });
});

describe('fleet schema metadata', () => {
  it('reads apply policy, motion safety and secrets from the schema, deepest wins', () => {
    assert.equal(metaAt(['mqtt', 'prefix']).apply, 'restart');
    assert.equal(metaAt(['mqtt', 'embedded', 'port']).apply, 'restart', 'inherited from the parent');
    assert.equal(metaAt(['mqtt', 'url']).apply, undefined, 'unmarked: live');
    assert.equal(metaAt(['log', 'level']).motionSafe, true);
    assert.equal(metaAt(['fleet', 'groups']).apply, 'live');
    assert.equal(metaAt(['fleet', 'stateDir']).apply, 'restart');
    assert.equal(metaAt(['mqtt', 'password']).secret, true);
  });

  it('redacts secrets and hashes without them', () => {
    const withSecret = resolveConfig({ name: 's.yaml', text: 'mqtt:\n  password: hunter2\n' });
    const red = redact(withSecret);
    assert.equal(red.mqtt.password, REDACTED);
    assert.equal(withSecret.mqtt.password, 'hunter2', 'the original is untouched');
    assert.ok(!JSON.stringify(red).includes('hunter2'));
    assert.equal(redact(file).mqtt.password, undefined, 'an unset secret stays unset');
    assert.notEqual(configHash(file), configHash(withSecret));
  });
});

describe('fleet diff', () => {
  it('lists changed leaves with live or restart and motion safety', () => {
    const next = resolveConfig({
      name: 'n.yaml',
      text: 'device:\n  id: bot-1\nfleet:\n  groups: [lab]\nlog:\n  level: warn\nnlu:\n  threads: 2\nmqtt:\n  url: mqtt://b:1883\n  prefix: other\n',
    });
    const diff = diffConfigs(file, next);
    assert.deepEqual(
      diff.changes.map((c) => [c.path, c.apply, c.motionSafe]),
      [
        ['log.level', 'live', true],
        ['mqtt.prefix', 'restart', false],
        ['mqtt.url', 'live', false],
        ['nlu.threads', 'live', false],
      ],
    );
    assert.deepEqual(diff.sections, ['log', 'mqtt', 'nlu']);
    assert.deepEqual(diff.restartRequired, ['mqtt.prefix']);
    assert.equal(diff.motionSafe, false);
    assert.equal(diffConfigs(file, structuredClone(file)).changes.length, 0);
    assert.equal(diffConfigs(file, { ...file, log: { ...file.log, level: 'error' } }).motionSafe, true);
  });
});

describe('fleet documents', () => {
  const key = generateSigningKey();
  const { key: privateKey } = loadPrivateKey(key.privateKeyPem);
  const trust = { trusted: [{ id: key.id, key: key.publicKey }], requireSigned: true };

  it('parses documents and says what is wrong with a bad one', () => {
    assert.ok(parseConfigDocument(JSON.stringify(doc('fleet', 1, {}))).ok);
    const bad = parseConfigDocument('{"target":"fleet","version":0,"config":{}}');
    assert.ok(!bad.ok && /^version: /.test(bad.reason));
    const notJson = parseConfigDocument('{nope');
    assert.ok(!notJson.ok && /not JSON/.test(notJson.reason));
  });

  it('signs canonical JSON: key order does not matter, any change breaks it', () => {
    const signed = signDocument(
      { version: 2, target: 'fleet', config: { log: { level: 'warn' } } },
      privateKey,
      key.id,
    );
    const reordered = JSON.parse(
      JSON.stringify({ config: signed.config, signature: signed.signature, target: 'fleet', version: 2 }),
    );
    assert.deepEqual(verifyDocument(reordered, trust.trusted, true), { ok: true, keyId: key.id });
    const tampered = { ...signed, config: { log: { level: 'trace' } } };
    assert.match(
      (verifyDocument(tampered, trust.trusted, true) as { reason: string }).reason,
      /bad signature/,
    );
    assert.equal(canonicalJson({ b: 1, a: [2, { d: 1, c: 2 }] }), '{"a":[2,{"c":2,"d":1}],"b":1}');
  });

  it('rejects unsigned (when required), unknown keys, wrong targets and replays', () => {
    const d = doc('fleet', 5, { log: { level: 'warn' } });
    assert.match((admitDocument(d, 'fleet', undefined, trust) as { reason: string }).reason, /unsigned/);
    assert.equal(admitDocument(d, 'fleet', undefined, open).kind, 'new');
    const other = generateSigningKey();
    const foreign = signDocument({ ...d }, loadPrivateKey(other.privateKeyPem).key, other.id);
    assert.match(
      (admitDocument(foreign, 'fleet', undefined, trust) as { reason: string }).reason,
      /unknown key/,
    );
    const signed = signDocument({ ...d }, privateKey, key.id);
    const admitted = admitDocument(signed, 'fleet', undefined, trust);
    assert.equal(admitted.kind, 'new');
    assert.match(
      (admitDocument(signed, 'group:lab', undefined, trust) as { reason: string }).reason,
      /arrived on/,
    );
    const mark = { version: 5, hash: documentHash(signed) };
    assert.equal(
      admitDocument(signed, 'fleet', mark, trust).kind,
      'duplicate',
      'a retained redelivery is a no-op',
    );
    const older = signDocument({ ...d, version: 4, config: {} }, privateKey, key.id);
    assert.match(
      (admitDocument(older, 'fleet', mark, trust) as { reason: string }).reason,
      /replayed or stale: version 4/,
    );
    const sameVersion = signDocument({ ...d, config: {} }, privateKey, key.id);
    assert.equal(admitDocument(sameVersion, 'fleet', mark, trust).kind, 'reject');
  });

  it('keeps trust settings local: a document may not touch them', () => {
    for (const config of [
      { fleet: { requireSigned: false } },
      { fleet: { publicKeys: [] } },
      { fleet: null },
    ]) {
      const verdict = admitDocument(doc('fleet', 1, config), 'fleet', undefined, open);
      assert.equal(verdict.kind, 'reject', JSON.stringify(config));
      assert.match((verdict as { reason: string }).reason, /only the local config file/);
    }
    assert.equal(
      admitDocument(doc('fleet', 1, { fleet: { groups: ['a'] } }), 'fleet', undefined, open).kind,
      'new',
    );
  });
});

describe('model manifest', () => {
  it('hashes each chunk and the whole, and checks consistency', () => {
    const blob = Buffer.alloc(5000, 7);
    const files = [{ path: 'model.onnx', size: 5000, sha256: 'x'.repeat(64) }];
    const manifest = buildManifest(blob, files, { target: 'fleet', version: 1, name: 'm', chunkSize: 2048 });
    assert.equal(manifest.chunks.length, 3);
    assert.equal(manifestProblem(manifest), undefined);
    assert.match(manifestProblem({ ...manifest, size: 4000 })!, /add up/);
    assert.match(manifestProblem({ ...manifest, chunks: manifest.chunks.slice(1) })!, /chunk hashes/);
  });
});
