import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultWorld } from '../../agent/decide/world.ts';
import { loadCommandFixtures, loadOutOfScope } from '../helpers/command-fixtures.ts';

describe('command fixtures', () => {
  const fixtures = loadCommandFixtures();
  const world = defaultWorld();

  it('hold at least 300 commands and 50 out-of-scope inputs, no duplicates', () => {
    assert.ok(fixtures.length >= 300, `${fixtures.length} commands`);
    assert.ok(loadOutOfScope().length >= 50);
    const texts = fixtures.map((f) => f.text.toLowerCase());
    assert.deepEqual(
      texts.filter((t, i) => texts.indexOf(t) !== i),
      [],
    );
  });

  it('expect only devices and actions of the default world, with finite numbers', () => {
    for (const f of fixtures) {
      if (f.expect.kind !== 'actions') continue;
      for (const a of f.expect.actions) {
        assert.ok(
          world.devices[a.device]?.actions.includes(a.action),
          `line ${f.line}: ${a.device} ${a.action}`,
        );
        for (const v of Object.values(a.params)) if (typeof v === 'number') assert.ok(Number.isFinite(v));
      }
    }
  });
});
