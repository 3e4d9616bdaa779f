/**
 * Template language of intent specs: `(a|b)` alternatives, `[a|b]` optional words, `{slot}` / `{type:name}`
 * slot references and `[text](slot)` annotated spans. Parsing is separate from expansion so errors point at
 * the template before any sentence is produced.
 */

export type Node =
  | { kind: 'text'; text: string }
  | { kind: 'seq'; items: Node[] }
  | { kind: 'alt'; options: Node[]; optional: boolean }
  | { kind: 'slot'; type: string; name: string }
  | { kind: 'annotated'; text: string; type: string; name: string };

export class TemplateError extends Error {
  override name = 'TemplateError';
}

const SLOT_REF = /^([A-Za-z_][\w.-]*)(?::([A-Za-z_][\w.-]*))?$/;

export function parseTemplate(source: string): Node {
  let pos = 0;
  const fail = (why: string): never => {
    throw new TemplateError(`${why} at column ${pos + 1} of "${source}"`);
  };

  function parseAlternatives(close: string): Node[] {
    const options: Node[] = [parseSeq(`|${close}`)];
    while (source[pos] === '|') {
      pos++;
      options.push(parseSeq(`|${close}`));
    }
    if (source[pos] !== close) fail(`missing "${close}"`);
    pos++;
    return options;
  }

  function parseSeq(stops: string): Node {
    const items: Node[] = [];
    let text = '';
    const flush = () => {
      if (text.trim() !== '') items.push({ kind: 'text', text: text.trim().replace(/\s+/g, ' ') });
      text = '';
    };
    while (pos < source.length && !stops.includes(source[pos]!)) {
      const c = source[pos]!;
      if (c === '(') {
        flush();
        pos++;
        items.push({ kind: 'alt', options: parseAlternatives(')'), optional: false });
      } else if (c === '[') {
        flush();
        pos++;
        const start = pos;
        const options = parseAlternatives(']');
        const annotation = /^\(([^()|\s]+)\)/.exec(source.slice(pos));
        if (annotation) {
          const inner = source.slice(start, pos - 1);
          if (/[[\](){}|]/.test(inner)) fail('an annotated span [text](slot) must be plain text');
          const ref = SLOT_REF.exec(annotation[1]!) ?? fail(`bad slot name "${annotation[1]}"`);
          pos += annotation[0].length;
          items.push({ kind: 'annotated', text: inner.trim(), type: ref[1]!, name: ref[2] ?? ref[1]! });
        } else {
          items.push({ kind: 'alt', options, optional: true });
        }
      } else if (c === '{') {
        flush();
        const end = source.indexOf('}', pos);
        if (end < 0) fail('missing "}"');
        const ref = SLOT_REF.exec(source.slice(pos + 1, end)) ?? fail('bad slot reference');
        items.push({ kind: 'slot', type: ref[1]!, name: ref[2] ?? ref[1]! });
        pos = end + 1;
      } else if (c === ')' || c === ']' || c === '}' || c === '|') {
        fail(`unexpected "${c}"`);
      } else {
        text += c;
        pos++;
      }
    }
    flush();
    return items.length === 1 ? items[0]! : { kind: 'seq', items };
  }

  const root = parseSeq('');
  if (pos < source.length) fail(`unexpected "${source[pos]}"`);
  return root;
}

/** Slot references (type and reported name) a template uses. */
export function slotRefs(node: Node): { type: string; name: string }[] {
  switch (node.kind) {
    case 'text':
      return [];
    case 'seq':
      return node.items.flatMap(slotRefs);
    case 'alt':
      return node.options.flatMap(slotRefs);
    case 'slot':
    case 'annotated':
      return [{ type: node.type, name: node.name }];
  }
}

/** A produced sentence piece; slot pieces become spans. */
export interface Piece {
  text: string;
  slot?: string;
}

export interface SlotSource {
  /** Number of distinct surface forms (for counting expansions). */
  count: number;
  /** The i-th form (enumeration) */
  at(i: number): string;
  /** A random form. */
  sample(rng: () => number): string;
}

export type SlotSources = (type: string) => SlotSource;

export function countExpansions(node: Node, sources: SlotSources): number {
  switch (node.kind) {
    case 'text':
    case 'annotated':
      return 1;
    case 'seq':
      return node.items.reduce((n, item) => n * countExpansions(item, sources), 1);
    case 'alt':
      return node.options.reduce((n, o) => n + countExpansions(o, sources), node.optional ? 1 : 0);
    case 'slot':
      return sources(node.type).count;
  }
}

/** Every expansion (call only when countExpansions is small). */
export function enumerate(node: Node, sources: SlotSources): Piece[][] {
  switch (node.kind) {
    case 'text':
      return [[{ text: node.text }]];
    case 'annotated':
      return [[{ text: node.text, slot: node.name }]];
    case 'seq':
      return node.items.reduce<Piece[][]>(
        (acc, item) => {
          const next = enumerate(item, sources);
          return acc.flatMap((a) => next.map((b) => [...a, ...b]));
        },
        [[]],
      );
    case 'alt': {
      const out = node.options.flatMap((o) => enumerate(o, sources));
      return node.optional ? [[], ...out] : out;
    }
    case 'slot': {
      const source = sources(node.type);
      return Array.from({ length: source.count }, (_, i) => [{ text: source.at(i), slot: node.name }]);
    }
  }
}

/** One random expansion; alternatives are weighted by how many sentences they produce. */
export function sampleExpansion(node: Node, sources: SlotSources, rng: () => number): Piece[] {
  switch (node.kind) {
    case 'text':
      return [{ text: node.text }];
    case 'annotated':
      return [{ text: node.text, slot: node.name }];
    case 'seq':
      return node.items.flatMap((item) => sampleExpansion(item, sources, rng));
    case 'alt': {
      const weights = node.options.map((o) => Math.max(1, Math.log2(1 + countExpansions(o, sources))));
      if (node.optional) weights.push(1);
      let r = rng() * weights.reduce((a, b) => a + b, 0);
      for (let i = 0; i < node.options.length; i++) {
        r -= weights[i]!;
        if (r < 0) return sampleExpansion(node.options[i]!, sources, rng);
      }
      return node.optional ? [] : sampleExpansion(node.options.at(-1)!, sources, rng);
    }
    case 'slot':
      return [{ text: sources(node.type).sample(rng), slot: node.name }];
  }
}

/** Joins pieces with single spaces into text plus spans. */
export function render(pieces: readonly Piece[]): {
  text: string;
  spans: { start: number; end: number; slot: string }[];
} {
  let text = '';
  const spans: { start: number; end: number; slot: string }[] = [];
  for (const piece of pieces) {
    const words = piece.text.trim();
    if (words === '') continue;
    if (text !== '') text += ' ';
    if (piece.slot) spans.push({ start: text.length, end: text.length + words.length, slot: piece.slot });
    text += words;
  }
  return { text, spans };
}
