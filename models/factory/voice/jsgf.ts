import { NUMBER_RULES, numberToWords, wordsToNumbers } from './numbers.ts';

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
  /** Slot types whose phrases are samples of a numeric builtin: their numbers generalise to any number. */
  numericSlots?: string[];
  /** List slots: canonical value → synonyms (what tells one value from another, for contrasts). */
  listSlots?: Record<string, Record<string, string[]>>;
  /** Connectives that join two commands in one utterance ("X then Y"); empty for none. */
  connectives?: string[];
  /**
   * Words a speaker may put before any command without changing it ("hey", "could you please", "uh"); up to
   * two are allowed ("okay now", "hey can you"). Empty or absent: none beyond what the templates say.
   */
  leads?: string[];
  /** Words that may close any command without changing it ("please", "thanks"). */
  tails?: string[];
  /** Slot type → words that may come before any of its phrases ("at" half speed). */
  slotLeads?: Record<string, readonly string[]>;
}

export interface BuiltGrammar {
  jsgf: string;
  /** Every word the grammar can produce (the dictionary must cover them all). */
  words: string[];
  /** Spoken connectives between two commands. */
  connectives: string[];
}

const ruleName = (prefix: string, name: string) => `${prefix}_${name.replace(/[^A-Za-z0-9]+/g, '_')}`;

// Unit abbreviations after a number are spoken in full ("1.5 m" is said "one point five meters").
const UNITS: Record<string, string> = {
  'm/s': 'meters per second',
  'cm/s': 'centimeters per second',
  'km/h': 'kilometers per hour',
  kph: 'kilometers per hour',
  mph: 'miles per hour',
  '°c': 'degrees celsius',
  '°f': 'degrees fahrenheit',
  '°': 'degrees',
  '%': 'percent',
  pc: 'percent',
  mm: 'millimeters',
  cm: 'centimeters',
  km: 'kilometers',
  m: 'meters',
  ft: 'feet',
  deg: 'degrees',
  rad: 'radians',
  c: 'celsius',
  f: 'fahrenheit',
  s: 'seconds',
  sec: 'seconds',
  min: 'minutes',
  h: 'hours',
};
const UNIT_AFTER_NUMBER = new RegExp(
  `(\\d)\\s*(${Object.keys(UNITS)
    .sort((a, b) => b.length - a.length)
    .map((u) => u.replace(/[/]/g, '\\/'))
    .join('|')})(?![a-z])`,
  'g',
);

// Abbreviations that are never words are expanded anywhere ("ninety deg").
const ALWAYS = /(?<![a-z])(deg|rad|cm|mm|km|ft|mph|kph|pc)(?![a-z])/g;

export function expandUnits(phrase: string): string {
  return phrase
    .toLowerCase()
    .replace(UNIT_AFTER_NUMBER, (_, digit: string, unit: string) => `${digit} ${UNITS[unit]}`)
    .replace(ALWAYS, (unit: string) => UNITS[unit]!);
}

/** Marks a letter of a spelled-out abbreviation through spokenWords (which would expand "c" after a number). */
const LETTER = 'qqletter';

/**
 * The phrase with its unit abbreviations read out letter by letter, as text-to-speech and many people read
 * them: "30 cm" → "30 c m", "0.4 m/s" → "0.4 m slash s", "21 °C" → "21 degrees c" (espeak-ng's
 * readings). "%" is read "percent" either way.
 */
function spellUnits(phrase: string): string {
  // Abbreviations without a vowel are spelled ("cm"); ones with one are read as a word ("deg", "min").
  const spell = (unit: string) => {
    const degrees = unit.startsWith('°');
    const rest = degrees ? unit.slice(1) : unit;
    if (!/^[b-df-hj-np-tv-z/]*$/.test(rest) || (!degrees && rest === '')) return unit;
    const letters = [...rest].map((ch) => (ch === '/' ? 'slash' : `${LETTER}${ch}`));
    return ` ${degrees ? 'degrees ' : ''}${letters.join(' ')} `;
  };
  return phrase
    .toLowerCase()
    .replace(UNIT_AFTER_NUMBER, (_, digit: string, unit: string) => `${digit} ${spell(unit)}`)
    .replace(ALWAYS, (unit: string) => spell(unit));
}

/**
 * Every way the phrase is spoken: its words (units in full, "centimeters") and, when it has unit
 * abbreviations, the same with them spelled out ("c m"). The first is the canonical spoken form.
 */
export function spokenVariants(phrase: string): string[][] {
  const full = spokenWords(phrase);
  const spelled = spokenWords(spellUnits(phrase)).map((w) =>
    w.startsWith(LETTER) ? w.slice(LETTER.length) : w,
  );
  return spelled.join(' ') === full.join(' ') ? [full] : [full, spelled];
}

/**
 * Spelled unit abbreviations after a number back to their words ("thirty c m" → "thirty centimeters"),
 * the form parsers trained on typed sentences know. `isNumber` tells a number word or digits.
 */
export function unspellUnits(words: string[], isNumber: (word: string) => boolean): string[] {
  const pairs = Object.keys(UNITS)
    .map((unit) => spokenVariants(`1 ${unit}`).map((v) => v.slice(1)))
    .filter((v) => v.length === 2)
    .map(([full, spelled]) => ({ full: full!, spelled: spelled! }))
    .sort((a, b) => b.spelled.length - a.spelled.length);
  const out: string[] = [];
  for (let i = 0; i < words.length; ) {
    const pair =
      out.length > 0 && isNumber(out[out.length - 1]!)
        ? pairs.find((p) => p.spelled.every((w, k) => words[i + k] === w))
        : undefined;
    if (pair) {
      out.push(...pair.full);
      i += pair.spelled.length;
    } else out.push(words[i++]!);
  }
  return out;
}

/** A phrase as a JSGF expansion: its words, or its spoken variants as alternatives. */
function spokenExpansion(phrase: string): string {
  const variants = spokenVariants(phrase).filter((v) => v.length > 0);
  if (variants.length <= 1) return (variants[0] ?? []).join(' ');
  return `( ${variants.map((v) => v.join(' ')).join(' | ')} )`;
}

/** Spoken words of a plain phrase: lower case, units and digits spelled out, punctuation dropped. */
export function spokenWords(phrase: string): string[] {
  return expandUnits(phrase)
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
    return `\uE001${spokenExpansion(text)}\uE002${slot}\uE003`;
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
    else out.push(spokenExpansion(token));
  }
  if (depth !== 0) throw new Error(`unclosed bracket in "${template}"`);
  return out
    .join(' ')
    .replace(/\(\s*\)|\[\s*\]/g, '')
    .trim();
}

/**
 * Alternatives of a slot rule, with every "<number> ..." phrase folded into one `<number> ( ... )` branch:
 * PocketSphinx copies a rule at each reference, and a copy per phrase made the default grammar 60k states.
 */
export function slotExpansion(alternatives: string[]): string {
  if (alternatives.length === 0) return '<VOID>';
  const suffixes: string[] = [];
  let bare = false;
  const others: string[] = [];
  for (const a of alternatives) {
    if (a === '<number>') bare = true;
    else if (a.startsWith('<number> ') && !a.slice(9).includes('<number>')) suffixes.push(a.slice(9));
    else others.push(a);
  }
  const branches = others.map((a) => `( ${a} )`);
  if (suffixes.length > 0) {
    const tail = `( ${suffixes.join(' | ')} )`;
    branches.push(bare ? `( <number> [ ${tail} ] )` : `( <number> ${tail} )`);
  } else if (bare) branches.push('( <number> )');
  return branches.join(' | ');
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
  const numeric = new Set(spec.numericSlots ?? []);
  for (const [type, phrases] of Object.entries(spec.slots)) {
    const alternatives = new Set<string>();
    for (const phrase of phrases) {
      for (const variant of spokenVariants(phrase)) {
        if (!numeric.has(type)) {
          if (variant.length > 0) alternatives.add(variant.join(' '));
          continue;
        }
        // Sampled numeric phrases generalise to the shared <number> rule; number words become digits
        // first, so "ninety degrees" and "45 degrees" collapse into one pattern.
        const spoken = wordsToNumbers(variant.join(' ')).replace(/-?\d+(?:\.\d+)?/g, '<number>');
        if (spoken.includes('<number>')) usesNumber = true;
        if (spoken) alternatives.add(spoken);
      }
    }
    const leads = spec.slotLeads?.[type] ?? [];
    if (leads.length > 0) {
      lines.push(
        `<${ruleName('lead', type)}> = ${leads.map((w) => `( ${spokenWords(w).join(' ')} )`).join(' | ')};`,
      );
      lines.push(
        `<${ruleName('slot', type)}> = [ <${ruleName('lead', type)}> ] ( ${slotExpansion([...alternatives])} );`,
      );
    } else lines.push(`<${ruleName('slot', type)}> = ${slotExpansion([...alternatives])};`);
  }
  if (usesNumber) lines.push(...NUMBER_RULES);
  lines.push(`<one> = ${intentRules.join(' | ')};`);
  // Frame rules (ngram.ts `isFrameRule`) are left out of sampled sentences: <one> samples as without them.
  const frame = (words: string[] | undefined) =>
    [...new Set((words ?? []).map((w) => spokenWords(w).join(' ')).filter(Boolean))].map((w) => `( ${w} )`);
  const leads = frame(spec.leads);
  const tails = frame(spec.tails);
  if (leads.length > 0) lines.push(`<lead> = ${leads.join(' | ')};`);
  if (tails.length > 0) lines.push(`<tail> = ${tails.join(' | ')};`);
  const clause =
    leads.length + tails.length > 0
      ? `${leads.length ? '[ <lead> ] [ <lead> ] ' : ''}<one>${tails.length ? ' [ <tail> ]' : ''}`
      : undefined;
  if (clause) lines.push(`<clause> = ${clause};`);
  const unit = clause ? '<clause>' : '<one>';
  const connectives = (spec.connectives ?? ['then', 'and then', 'and']).map((c) => spokenWords(c).join(' '));
  lines.push(
    // Two commands at most ("X then Y"); this doubles the decoder's graph, which only small grammars use.
    connectives.length
      ? `public <command> = ${unit} [ ( ${connectives.join(' | ')} ) ${unit} ];`
      : `public <command> = ${unit};`,
  );
  const jsgf = `${lines.join('\n')}\n`;
  // Words are everything that is not syntax or a rule reference.
  for (const line of lines.slice(3)) {
    const body = line.slice(line.indexOf('=') + 1);
    for (const token of body.replace(/<[^>]+>/g, ' ').split(/[\s()[\]|;+*]+/)) if (token) words.add(token);
  }
  return { jsgf, words: [...words].sort(), connectives };
}
