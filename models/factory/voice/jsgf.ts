import { NUMBER_RULES, numberToWords } from './numbers.ts';

/**
 * Intent spec → JSGF speech grammar. Works on a typed intermediate form so it does not depend on how the
 * spec was read. The template syntax of the intent spec (`(a|b)`, `[opt]`, `{slot}`) is deliberately a
 * subset of JSGF, so translation is token by token: slot references become rules, annotated example spans
 * `[text](slot)` become "the text or any value of that slot", words become lower-case spoken words.
 */
export interface VoiceGrammarSpec {
  /** Slot type → the phrases that may fill it (list synonyms, builtin samples, open-slot examples). */
  slots: Record<string, string[]>;
  /** Intent name → sentences in template syntax (examples and templates alike). */
  intents: Record<string, string[]>;
  /** Connectives that join two commands in one utterance ("X then Y"); empty for none. */
  connectives?: string[];
}

export interface BuiltGrammar {
  jsgf: string;
  /** Every word the grammar can produce (the dictionary must cover them all). */
  words: string[];
}

const ruleName = (prefix: string, name: string) => `${prefix}_${name.replace(/[^A-Za-z0-9]+/g, '_')}`;

/** Spoken words of a plain phrase: lower case, digits spelled out, punctuation dropped. */
export function spokenWords(phrase: string): string[] {
  return phrase
    .toLowerCase()
    .replace(/(\d+(?:\.\d+)?)\s*%/g, '$1 percent')
    .replace(/-?\d+(?:\.\d+)?/g, (n) => ` ${numberToWords(n)} `)
    .replace(/[^a-z0-9' ]+/g, ' ')
    .split(/\s+/)
    .map((w) => w.replace(/^'+|'+$/g, ''))
    .filter(Boolean);
}

/** One template or example → a JSGF expansion; throws with the reason on unbalanced brackets. */
export function templateToJsgf(template: string, slotRule: (type: string) => string): string {
  // `light[s]`: an optional suffix glued to a word means the word with or without it.
  const glued = template.replace(/([A-Za-z']+)\[([a-z']+)\](?!\()/g, '($1|$1$2)');
  // `[text](slot)`: the example's words, or anything else the slot accepts.
  const withSpans = glued.replace(/\[([^\]]*)\]\(([\w.:-]+)\)/g, (_, text: string, slot: string) => {
    const words = spokenWords(text).join(' ');
    return `\uE001${words}\uE002${slot}\uE003`;
  });
  const out: string[] = [];
  let depth = 0;
  const tokens =
    withSpans.match(/\uE001[^\uE002]*\uE002[^\uE003]*\uE003|\{[^}]*\}|[()[\]|]|[^()[\]|{}\s\uE001]+/g) ?? [];
  for (const token of tokens) {
    if (token.startsWith('\uE001')) {
      const [words, slot] = token.slice(1, -1).split('\uE002') as [string, string];
      out.push(words ? `(${words} | ${slotRule(slot)})` : slotRule(slot));
    } else if (token.startsWith('{')) {
      const [type] = token.slice(1, -1).split(':');
      out.push(slotRule(type!.trim()));
    } else if (token === '(' || token === '[') {
      depth++;
      out.push(token);
    } else if (token === ')' || token === ']') {
      depth--;
      if (depth < 0) throw new Error(`unbalanced "${token}" in "${template}"`);
      out.push(token);
    } else if (token === '|') out.push('|');
    else out.push(...spokenWords(token));
  }
  if (depth !== 0) throw new Error(`unclosed bracket in "${template}"`);
  return out
    .join(' ')
    .replace(/\(\s*\)|\[\s*\]/g, '')
    .trim();
}

export function buildJsgf(spec: VoiceGrammarSpec): BuiltGrammar {
  const words = new Set<string>();
  const lines = ['#JSGF V1.0;', 'grammar sling;', ''];
  let usesNumber = false;
  const slotRule = (type: string) => {
    if (!spec.slots[type]) throw new Error(`unknown slot type "${type}"`);
    return `<${ruleName('slot', type)}>`;
  };
  const intentRules: string[] = [];
  for (const [intent, sentences] of Object.entries(spec.intents)) {
    const alternatives = new Set<string>();
    for (const sentence of sentences) {
      try {
        const expansion = templateToJsgf(sentence, slotRule);
        if (expansion) alternatives.add(`( ${expansion} )`);
      } catch (error) {
        throw new Error(`intent ${intent}: ${(error as Error).message}`);
      }
    }
    if (alternatives.size === 0) continue;
    const name = `<${ruleName('intent', intent)}>`;
    intentRules.push(name);
    lines.push(`${name} = ${[...alternatives].join('\n  | ')};`);
  }
  if (intentRules.length === 0) throw new Error('the spec has no sentences to build a grammar from');
  for (const [type, phrases] of Object.entries(spec.slots)) {
    const alternatives = new Set<string>();
    for (const phrase of phrases) {
      // Digit runs in sampled builtin phrases generalise to the shared <number> rule.
      const spelled = phrase.replace(/(\d)\s*%/g, '$1 percent');
      const generalised = /\d/.test(spelled) ? spelled.replace(/-?\d+(?:\.\d+)?/g, '\uE004') : spelled;
      const spoken = spokenWords(generalised.replace(/\uE004/g, ' NUMBERRULE ')).join(' ');
      if (spoken.includes('numberrule')) usesNumber = true;
      if (spoken) alternatives.add(spoken.replace(/numberrule/g, '<number>'));
    }
    if (alternatives.size === 0) alternatives.add('<VOID>');
    lines.push(`<${ruleName('slot', type)}> = ${[...alternatives].map((a) => `( ${a} )`).join(' | ')};`);
  }
  if (usesNumber) lines.push(...NUMBER_RULES);
  lines.push(`<one> = ${intentRules.join(' | ')};`);
  const connectives = (spec.connectives ?? ['then', 'and then', 'and']).map((c) => spokenWords(c).join(' '));
  lines.push(
    connectives.length
      ? `public <command> = <one> [ ( ${connectives.join(' | ')} ) <one> ];`
      : 'public <command> = <one>;',
  );
  const jsgf = `${lines.join('\n')}\n`;
  // Words are everything that is not syntax or a rule reference.
  for (const line of lines.slice(3)) {
    const body = line.slice(line.indexOf('=') + 1);
    for (const token of body.replace(/<[^>]+>/g, ' ').split(/[\s()[\]|;+*]+/)) if (token) words.add(token);
  }
  return { jsgf, words: [...words].sort() };
}
