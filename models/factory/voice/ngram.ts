/**
 * A trigram language model (ARPA text) from the grammar, for the decoder's n-gram search. Hand-written:
 * ~100 lines, and no npm package builds ARPA models. Why not decode with the JSGF directly: PocketSphinx
 * inlines every rule reference, so the default world's grammar became a 60k-state network (230 MB, seconds to
 * load); the trigram model over the same sentences loads in milliseconds and keeps their word order.
 *
 * Sentences are sampled from the JSGF (each alternative equally likely), n-grams counted, and probabilities
 * estimated with absolute discounting and back-off.
 */
export type Node =
  | { kind: 'word'; word: string }
  | { kind: 'rule'; name: string }
  | { kind: 'seq'; items: Node[] }
  | { kind: 'alt'; options: Node[] }
  | { kind: 'opt'; node: Node }
  | { kind: 'plus'; node: Node };

/** Parses the rule bodies of a JSGF grammar written by jsgf.ts (no weights, tags or imports). */
export function parseJsgfRules(jsgf: string): { rules: Map<string, Node>; root: string } {
  const rules = new Map<string, Node>();
  let root = '';
  const body = jsgf.replace(/^#JSGF.*$|^grammar .*$/gm, '');
  for (const statement of body.split(';')) {
    const m = /^\s*(public\s+)?<([^>]+)>\s*=([\s\S]*)$/.exec(statement);
    if (!m) continue;
    if (m[1]) root = m[2]!;
    const tokens = m[3]!.match(/<[^>]+>|[()[\]|+*]|[^\s()[\]|+*<>]+/g) ?? [];
    let i = 0;
    const alt = (): Node => {
      const options = [seq()];
      while (tokens[i] === '|') {
        i++;
        options.push(seq());
      }
      return options.length === 1 ? options[0]! : { kind: 'alt', options };
    };
    const seq = (): Node => {
      const items: Node[] = [];
      while (i < tokens.length && ![')', ']', '|'].includes(tokens[i]!)) {
        let item = atom();
        while (tokens[i] === '+' || tokens[i] === '*') {
          item =
            tokens[i] === '+'
              ? { kind: 'plus', node: item }
              : { kind: 'opt', node: { kind: 'plus', node: item } };
          i++;
        }
        items.push(item);
      }
      return items.length === 1 ? items[0]! : { kind: 'seq', items };
    };
    const atom = (): Node => {
      const t = tokens[i++]!;
      if (t === '(' || t === '[') {
        const inner = alt();
        i++; // closing bracket
        return t === '[' ? { kind: 'opt', node: inner } : inner;
      }
      if (t.startsWith('<')) return { kind: 'rule', name: t.slice(1, -1) };
      return { kind: 'word', word: t };
    };
    rules.set(m[2]!, alt());
  }
  return { rules, root };
}

/** The rules jsgf.ts puts a grammar's frame words in: leads and tails of a command, a slot's leads. */
export const isFrameRule = (name: string) => /^(lead|tail)(_|$)/.test(name);

/**
 * A random sentence of `start`, each alternative equally likely. Frame rules are left out, without drawing
 * from `rng`: samples (the language model's, enrollment prompts) are the bare commands, the same as from a
 * grammar without frames. A language model that learned the frames traded as many right hearings as it gained.
 */
export function sampleSentence(rules: Map<string, Node>, start: string, rng: () => number): string[] {
  const out: string[] = [];
  const walk = (node: Node, depth: number): void => {
    if (depth > 50) return;
    switch (node.kind) {
      case 'word':
        out.push(node.word);
        break;
      case 'rule':
        if (node.name !== 'VOID' && node.name !== 'NULL' && !isFrameRule(node.name)) {
          walk(rules.get(node.name)!, depth + 1);
        }
        break;
      case 'seq':
        for (const item of node.items) walk(item, depth);
        break;
      case 'alt':
        walk(node.options[Math.floor(rng() * node.options.length)]!, depth);
        break;
      case 'opt':
        if (node.node.kind === 'rule' && isFrameRule(node.node.name)) break;
        if (rng() < 0.5) walk(node.node, depth);
        break;
      case 'plus':
        do walk(node.node, depth);
        while (rng() < 0.15);
    }
  };
  walk(rules.get(start)!, 0);
  return out;
}

const DISCOUNT = 0.5;
const log10 = (p: number) => Math.log10(Math.max(p, 1e-99)).toFixed(6);

/** Trigram ARPA model of `sentences`; every word of `vocabulary` gets a unigram even if never sampled. */
export function buildArpa(sentences: string[][], vocabulary: string[]): string {
  const counts = [new Map<string, number>(), new Map<string, number>(), new Map<string, number>()];
  const add = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  for (const s of sentences) {
    const w = ['<s>', ...s, '</s>'];
    for (let i = 0; i < w.length; i++) {
      if (i > 0) add(counts[0]!, w[i]!);
      if (i >= 1) add(counts[1]!, `${w[i - 1]} ${w[i]}`);
      if (i >= 2) add(counts[2]!, `${w[i - 2]} ${w[i - 1]} ${w[i]}`);
    }
  }
  const vocab = [...new Set([...vocabulary, '</s>'])];
  const total = [...counts[0]!.values()].reduce((a, b) => a + b, 0);
  // Unigrams: add-one so grammar words never sampled keep a small probability.
  const uni = new Map(vocab.map((w) => [w, ((counts[0]!.get(w) ?? 0) + 1) / (total + vocab.length)]));
  // Context totals and the seen continuations of each history.
  const following = [new Map<string, string[]>(), new Map<string, string[]>()];
  const historyCount = [new Map<string, number>(), new Map<string, number>()];
  for (const order of [1, 2] as const) {
    for (const [gram, c] of counts[order]!) {
      const parts = gram.split(' ');
      const history = parts.slice(0, -1).join(' ');
      const list = following[order - 1]!.get(history) ?? [];
      list.push(gram);
      following[order - 1]!.set(history, list);
      historyCount[order - 1]!.set(history, (historyCount[order - 1]!.get(history) ?? 0) + c);
    }
  }
  const prob = [new Map<string, number>(), new Map<string, number>()];
  const backoff = [new Map<string, number>(), new Map<string, number>()];
  const lower = (gram: string, order: number): number => {
    const parts = gram.split(' ');
    if (order === 0) return uni.get(parts[parts.length - 1]!) ?? 1 / (total + vocab.length);
    const p = prob[order - 1]!.get(gram);
    if (p !== undefined) return p;
    const history = parts.slice(0, -1).join(' ');
    return (backoff[order - 1]!.get(history) ?? 1) * lower(parts.slice(1).join(' '), order - 1);
  };
  for (const order of [1, 2] as const) {
    for (const [history, grams] of following[order - 1]!) {
      const n = historyCount[order - 1]!.get(history)!;
      let seenLower = 0;
      let seenMass = 0;
      for (const gram of grams) {
        const p = (counts[order]!.get(gram)! - DISCOUNT) / n;
        prob[order - 1]!.set(gram, p);
        seenMass += p;
        seenLower += lower(gram.split(' ').slice(1).join(' '), order - 1);
      }
      backoff[order - 1]!.set(history, (1 - seenMass) / Math.max(1e-9, 1 - seenLower));
    }
  }
  const lines = [
    '\\data\\',
    `ngram 1=${vocab.length + 1}`,
    `ngram 2=${prob[0]!.size}`,
    `ngram 3=${prob[1]!.size}`,
    '',
  ];
  lines.push('\\1-grams:', `-99.000000 <s> ${log10(backoff[0]!.get('<s>') ?? 1)}`);
  for (const w of vocab)
    lines.push(`${log10(uni.get(w)!)} ${w}${w === '</s>' ? '' : ` ${log10(backoff[0]!.get(w) ?? 1)}`}`);
  lines.push('', '\\2-grams:');
  for (const [gram, p] of prob[0]!) {
    const b = backoff[1]!.get(gram);
    lines.push(`${log10(p)} ${gram}${b === undefined ? '' : ` ${log10(b)}`}`);
  }
  lines.push('', '\\3-grams:');
  for (const [gram, p] of prob[1]!) lines.push(`${log10(p)} ${gram}`);
  lines.push('', '\\end\\', '');
  return lines.join('\n');
}

/**
 * The language model of a grammar: sentences sampled from its `<one>` rule (single commands), 15% of them
 * joined to a second command with a connective, as people say "X then Y".
 */
export function languageModel(
  jsgf: string,
  vocabulary: string[],
  connectives: string[],
  samples = 30000,
  seed = 11,
): string {
  const { rules } = parseJsgfRules(jsgf);
  if (!rules.has('one')) throw new Error('grammar has no <one> rule');
  let state = seed;
  const rng = () => {
    state = (state * 16807) % 2147483647;
    return state / 2147483647;
  };
  const sentences: string[][] = [];
  for (let i = 0; i < samples; i++) {
    const sentence = sampleSentence(rules, 'one', rng);
    if (connectives.length > 0 && rng() < 0.15) {
      sentence.push(
        ...connectives[Math.floor(rng() * connectives.length)]!.split(' '),
        ...sampleSentence(rules, 'one', rng),
      );
    }
    if (sentence.length > 0) sentences.push(sentence);
  }
  return buildArpa(sentences, vocabulary);
}

/** Word arcs of the grammar once every rule reference is inlined, as PocketSphinx's JSGF compiler does. */
export function inlinedSize(jsgf: string): number {
  const { rules, root } = parseJsgfRules(jsgf);
  const memo = new Map<string, number>();
  const size = (node: Node): number => {
    switch (node.kind) {
      case 'word':
        return 1;
      case 'rule': {
        if (!rules.has(node.name)) return 0;
        if (!memo.has(node.name)) memo.set(node.name, size(rules.get(node.name)!));
        return memo.get(node.name)!;
      }
      case 'seq':
        return node.items.reduce((n, item) => n + size(item), 0);
      case 'alt':
        return node.options.reduce((n, option) => n + size(option), 0);
      default:
        return size(node.node);
    }
  };
  return size(rules.get(root)!);
}

/**
 * Whether `words` is a complete sentence of the grammar's public rule. Used at run time to refuse what the
 * trigram decoder produced but the grammar cannot say (typically speech that is not a command at all).
 */
export function grammarAccepts(rules: Map<string, Node>, root: string, words: string[]): boolean {
  const rule = rules.get(root);
  return rule !== undefined && spanEnds(rules, words)(rule, 0, 0).has(words.length);
}

/**
 * The longest run of `words` that is a complete grammar sentence, e.g. "okay move ahead two meters" inside
 * "okay move ahead two meters out" (a stray word the decoder added at the end).
 */
export function longestGrammarSpan(
  rules: Map<string, Node>,
  root: string,
  words: string[],
): { start: number; end: number } | undefined {
  const rule = rules.get(root);
  if (!rule) return undefined;
  const ends = spanEnds(rules, words);
  let best: { start: number; end: number } | undefined;
  for (let start = 0; start < words.length; start++) {
    for (const end of ends(rule, start, 0)) {
      if (end > start && (!best || end - start > best.end - best.start)) best = { start, end };
    }
  }
  return best;
}

/** Positions where a match of `node` starting at `at` can end (memoised per node and position). */
function spanEnds(rules: Map<string, Node>, words: string[]) {
  const memo = new Map<Node, Map<number, Set<number>>>();
  const ends = (node: Node, at: number, depth: number): Set<number> => {
    let byPos = memo.get(node);
    const hit = byPos?.get(at);
    if (hit) return hit;
    const out = new Set<number>();
    if (depth > 200) return out;
    switch (node.kind) {
      case 'word':
        if (words[at] === node.word) out.add(at + 1);
        break;
      case 'rule': {
        const rule = rules.get(node.name);
        if (rule) for (const e of ends(rule, at, depth + 1)) out.add(e);
        break;
      }
      case 'seq': {
        let positions = new Set([at]);
        for (const item of node.items) {
          const next = new Set<number>();
          for (const p of positions) for (const e of ends(item, p, depth + 1)) next.add(e);
          positions = next;
          if (positions.size === 0) break;
        }
        for (const p of positions) out.add(p);
        break;
      }
      case 'alt':
        for (const option of node.options) for (const e of ends(option, at, depth + 1)) out.add(e);
        break;
      case 'opt':
        out.add(at);
        for (const e of ends(node.node, at, depth + 1)) out.add(e);
        break;
      case 'plus': {
        let frontier = ends(node.node, at, depth + 1);
        while (frontier.size > 0) {
          const next = new Set<number>();
          for (const p of frontier) {
            if (out.has(p)) continue;
            out.add(p);
            if (p > at) for (const e of ends(node.node, p, depth + 1)) next.add(e);
          }
          frontier = next;
        }
        break;
      }
    }
    if (!byPos) {
      byPos = new Map();
      memo.set(node, byPos);
    }
    byPos.set(at, out);
    return out;
  };
  return ends;
}

/**
 * Reads back an ARPA trigram model (as `buildArpa` writes it) for scoring word strings: natural-log
 * probabilities with back-off. Hand-written for the same reason as the writer: ~40 lines, no npm package.
 */
export class ArpaTrigram {
  private readonly unigrams = new Map<string, { p: number; backoff: number }>();
  private readonly bigrams = new Map<string, { p: number; backoff: number }>();
  private readonly trigrams = new Map<string, number>();

  constructor(arpa: string) {
    let order = 0;
    for (const line of arpa.split('\n')) {
      const section = /^\\(\d)-grams:/.exec(line);
      if (section) {
        order = Number(section[1]);
        continue;
      }
      if (line.startsWith('\\')) order = 0;
      const f = line.trim().split(/\s+/);
      if (order === 0 || f.length < order + 1) continue;
      const p = Number(f[0]) * Math.LN10;
      const gram = f.slice(1, order + 1).join(' ');
      const backoff = Number(f[order + 1] ?? 0) * Math.LN10;
      if (order === 1) this.unigrams.set(gram, { p, backoff });
      else if (order === 2) this.bigrams.set(gram, { p, backoff });
      else this.trigrams.set(gram, p);
    }
    if (this.unigrams.size === 0) throw new Error('not an ARPA language model: no 1-grams');
  }

  /** ln P(word | w1 w2); `<s>` and `</s>` as in the model. Unknown words get the model's floor (-99). */
  logProb(w1: string, w2: string, word: string): number {
    const tri = this.trigrams.get(`${w1} ${w2} ${word}`);
    if (tri !== undefined) return tri;
    const backoff2 = this.bigrams.get(`${w1} ${w2}`)?.backoff ?? 0;
    const bi = this.bigrams.get(`${w2} ${word}`);
    if (bi !== undefined) return backoff2 + bi.p;
    return backoff2 + (this.unigrams.get(w2)?.backoff ?? 0) + (this.unigrams.get(word)?.p ?? -99 * Math.LN10);
  }
}
