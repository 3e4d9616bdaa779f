import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadSkills } from '../../agent/decide/load-skills.ts';
import { outOfScopeIntents, scopeParser } from '../../agent/decide/scope.ts';
import type { ParseResult, Parser } from '../../agent/nlu/types.ts';
import { fromProjectRoot } from '../../agent/paths.ts';

const fixed = (intent: string): Parser => ({
  async parse(text): Promise<ParseResult> {
    return {
      text,
      intent,
      topIntent: intent,
      confidence: 0.9,
      slots: [],
      alternatives: [],
      timing: { totalMs: 0 },
    };
  },
});

describe('out-of-scope intents', () => {
  it('are declared by the default skills and parse as not understood, keeping the top intent', async () => {
    const outOfScope = outOfScopeIntents(loadSkills(fromProjectRoot('config/skills')));
    assert.deepEqual([...outOfScope], ['out_of_scope']);
    const joke = await scopeParser(fixed('out_of_scope'), outOfScope).parse('tell me a joke');
    assert.equal(joke.intent, null);
    assert.equal(joke.topIntent, 'out_of_scope');
    const light = await scopeParser(fixed('light.on'), outOfScope).parse('lights on');
    assert.equal(light.intent, 'light.on');
  });
});
