import type { Parser } from '../nlu/types.ts';
import type { Skills } from './skills.ts';

const cache = new WeakMap<Skills, ReadonlySet<string>>();

/** Intents whose skill says the input is not a command of this world (`notUnderstood: true`). */
export function outOfScopeIntents(skills: Skills): ReadonlySet<string> {
  let intents = cache.get(skills);
  if (!intents) {
    intents = new Set(
      Object.entries(skills)
        .filter(([, skill]) => skill.notUnderstood)
        .map(([intent]) => intent),
    );
    cache.set(skills, intents);
  }
  return intents;
}

/**
 * A parser whose out-of-scope intents come back as not understood (`intent: null`, `topIntent` kept), so
 * every path — commands, Hermes NLU queries, voice — treats "tell me a joke" like input no intent matched.
 */
export function scopeParser(parser: Parser, outOfScope: ReadonlySet<string>): Parser {
  if (outOfScope.size === 0) return parser;
  return {
    async parse(text) {
      const result = await parser.parse(text);
      return result.intent !== null && outOfScope.has(result.intent) ? { ...result, intent: null } : result;
    },
  };
}
