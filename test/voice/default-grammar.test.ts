import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fromProjectRoot } from '../../agent/paths.ts';
import { SpecError } from '../../models/factory/spec.ts';
import { buildVoiceModel } from '../../models/factory/voice/build.ts';
import { readVoiceSpec } from '../../models/factory/voice/spec.ts';

test('models/default/voice is what npm run build:voice builds from config/intents (else rebuild it)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sling-voice-drift-'));
  try {
    // Same source string as the build:voice script, so voice.json matches byte for byte.
    await buildVoiceModel(readVoiceSpec(fromProjectRoot('config/intents')), dir, 'config/intents');
    const committed = fromProjectRoot('models/default/voice');
    const files = readdirSync(join(dir, 'voice')).sort();
    assert.deepEqual(readdirSync(committed).sort(), files);
    for (const f of files) {
      assert.ok(
        readFileSync(join(committed, f), 'utf8') === readFileSync(join(dir, 'voice', f), 'utf8'),
        `models/default/voice/${f} differs from a fresh build: run npm run build:voice`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the voice grammar reads specs with the factory parser: bad specs fail with file and line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sling-voice-spec-'));
  try {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'intents:\n  light.on:\n    templates:\n      - turn on {room}\n');
    assert.throws(
      () => readVoiceSpec(file),
      (e: unknown) => e instanceof SpecError && e.line === 4 && /unknown slot "room"/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
