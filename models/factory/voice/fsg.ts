import type { Node } from './ngram.ts';

/**
 * Grammar rules → a minimal deterministic word automaton, and the grammar sentences near a word string.
 * The recogniser's second pass needs every sentence within a word edit of what the trigram decoder heard;
 * walking the grammar's rule tree for that is slow (every rule reference re-expanded, ~300 ms per utterance
 * measured for candidate lists), while the default world's whole grammar as a minimal DFA has ~4,000 states
 * (built in ~0.4 s, each rule determinised once) and an edit-distance walk over it takes milliseconds. Hand-written: no npm package compiles JSGF rules to a
 * DFA (~150 lines: Thompson construction, subset construction, Moore minimisation).
 */
export interface WordDfa {
  /** State 0 is the start. `next[s]` maps a word to the following state. */
  next: Map<string, number>[];
  final: boolean[];
}

/** Largest automaton built before giving up (a grammar whose determinisation explodes). */
const MAX_STATES = 200_000;

/**
 * Thompson construction: an NFA with epsilon arcs (`word` null) and one final state. A rule reference
 * embeds that rule's own minimal automaton (`sub`), so a rule used in many places ("<number>") is
 * determinised once instead of in every copy.
 */
function toNfa(
  rules: Map<string, Node>,
  start: Node,
  sub: (rule: string) => WordDfa,
): { arcs: { word: string | null; to: number }[][] } {
  const arcs: { word: string | null; to: number }[][] = [[], []];
  const state = () => {
    arcs.push([]);
    if (arcs.length > MAX_STATES * 4) throw new Error('grammar too large to compile into a word automaton');
    return arcs.length - 1;
  };
  const build = (node: Node, from: number): number => {
    switch (node.kind) {
      case 'word': {
        const to = state();
        arcs[from]!.push({ word: node.word, to });
        return to;
      }
      case 'rule': {
        if (node.name === 'NULL') return from;
        // <VOID> and unknown rules match nothing: a dead end.
        if (!rules.has(node.name) || node.name === 'VOID') return state();
        const dfa = sub(node.name);
        const base = arcs.length;
        for (let i = 0; i < dfa.final.length; i++) state();
        const end = state();
        arcs[from]!.push({ word: null, to: base });
        dfa.next.forEach((exits, i) => {
          for (const [word, t] of exits) arcs[base + i]!.push({ word, to: base + t });
          if (dfa.final[i]) arcs[base + i]!.push({ word: null, to: end });
        });
        return end;
      }
      case 'seq':
        return node.items.reduce((at, item) => build(item, at), from);
      case 'alt': {
        const to = state();
        for (const option of node.options) arcs[build(option, from)]!.push({ word: null, to });
        return to;
      }
      case 'opt': {
        const to = build(node.node, from);
        arcs[from]!.push({ word: null, to });
        return to;
      }
      case 'plus': {
        const loop = state();
        arcs[from]!.push({ word: null, to: loop });
        const to = build(node.node, loop);
        arcs[to]!.push({ word: null, to: loop });
        return to;
      }
    }
  };
  arcs[build(start, 0)]!.push({ word: null, to: 1 });
  return { arcs };
}

/** Subset construction. */
function determinize(arcs: { word: string | null; to: number }[][], finalState: number): WordDfa {
  const closure = (states: number[]): number[] => {
    const seen = new Set(states);
    const stack = [...states];
    while (stack.length > 0) {
      for (const a of arcs[stack.pop()!]!) {
        if (a.word === null && !seen.has(a.to)) {
          seen.add(a.to);
          stack.push(a.to);
        }
      }
    }
    return [...seen].sort((x, y) => x - y);
  };
  const ids = new Map<string, number>();
  const subsets: number[][] = [];
  const dfa: WordDfa = { next: [], final: [] };
  const idOf = (subset: number[]): number => {
    const key = subset.join(',');
    let id = ids.get(key);
    if (id === undefined) {
      id = subsets.length;
      if (id >= MAX_STATES) throw new Error('grammar too large to compile into a word automaton');
      ids.set(key, id);
      subsets.push(subset);
      dfa.next.push(new Map());
      dfa.final.push(subset.includes(finalState));
    }
    return id;
  };
  idOf(closure([0]));
  for (let s = 0; s < subsets.length; s++) {
    const byWord = new Map<string, number[]>();
    for (const n of subsets[s]!) {
      for (const a of arcs[n]!) {
        if (a.word === null) continue;
        const targets = byWord.get(a.word) ?? [];
        targets.push(a.to);
        byWord.set(a.word, targets);
      }
    }
    for (const [word, targets] of byWord) dfa.next[s]!.set(word, idOf(closure(targets)));
  }
  return dfa;
}

/** Moore's partition refinement: states with the same future are merged (shared suffixes). */
function minimize(dfa: WordDfa): WordDfa {
  const n = dfa.final.length;
  let classes: number[] = dfa.final.map((f) => (f ? 1 : 0));
  let count = new Set(classes).size;
  for (;;) {
    const ids = new Map<string, number>();
    const next = new Array<number>(n);
    for (let s = 0; s < n; s++) {
      const signature = [...dfa.next[s]!]
        .map(([w, t]) => `${w}:${classes[t]}`)
        .sort()
        .join(' ');
      const key = `${classes[s]}|${signature}`;
      let id = ids.get(key);
      if (id === undefined) {
        id = ids.size;
        ids.set(key, id);
      }
      next[s] = id;
    }
    classes = next;
    if (ids.size === count) break;
    count = ids.size;
  }
  // Renumber so the start state's class is 0.
  const order = new Map<number, number>([[classes[0]!, 0]]);
  for (const c of classes) if (!order.has(c)) order.set(c, order.size);
  const out: WordDfa = {
    next: Array.from({ length: order.size }, () => new Map()),
    final: new Array(order.size).fill(false),
  };
  for (let s = 0; s < n; s++) {
    const c = order.get(classes[s]!)!;
    out.final[c] = dfa.final[s]!;
    for (const [w, t] of dfa.next[s]!) out.next[c]!.set(w, order.get(classes[t]!)!);
  }
  return out;
}

/** The minimal DFA of the sentences `rule` can say. */
export function ruleDfa(rules: Map<string, Node>, rule: string): WordDfa {
  const memo = new Map<string, WordDfa>();
  const building = new Set<string>();
  const compile = (name: string): WordDfa => {
    const done = memo.get(name);
    if (done) return done;
    const node = rules.get(name);
    if (!node) throw new Error(`grammar has no rule <${name}>`);
    if (building.has(name)) throw new Error(`rule <${name}> refers to itself: not a finite-state grammar`);
    building.add(name);
    const dfa = minimize(determinize(toNfa(rules, node, compile).arcs, 1));
    building.delete(name);
    memo.set(name, dfa);
    return dfa;
  };
  return compile(rule);
}

/** Whether the automaton accepts `words` (for tests and checks). */
export function dfaAccepts(dfa: WordDfa, words: string[]): boolean {
  let s: number | undefined = 0;
  for (const w of words) {
    s = dfa.next[s]!.get(w);
    if (s === undefined) return false;
  }
  return dfa.final[s]!;
}

export interface NearSentence {
  words: string[];
  distance: number;
}

/**
 * Sentences of the automaton within `maxDistance` word edits (substitutions, insertions, deletions) of
 * `words`, closest first, at most `cap` of them: a depth-first walk carrying one row of the edit-distance
 * table, cut where every entry of the row exceeds `maxDistance`.
 */
export function nearSentences(
  dfa: WordDfa,
  words: string[],
  maxDistance: number,
  cap: number,
): NearSentence[] {
  const n = words.length;
  const found: NearSentence[] = [];
  const path: string[] = [];
  // Bounded work: a grammar with wide number slots can have many near sentences.
  let budget = 200_000;
  const walk = (state: number, row: number[]) => {
    if (--budget < 0) return;
    if (dfa.final[state] && row[n]! <= maxDistance) found.push({ words: [...path], distance: row[n]! });
    if (path.length >= n + maxDistance) return;
    for (const [word, next] of dfa.next[state]!) {
      const out = [row[0]! + 1];
      let best = out[0]!;
      for (let j = 1; j <= n; j++) {
        const v = Math.min(row[j]! + 1, out[j - 1]! + 1, row[j - 1]! + (words[j - 1] === word ? 0 : 1));
        out.push(v);
        if (v < best) best = v;
      }
      if (best > maxDistance) continue;
      path.push(word);
      walk(next, out);
      path.pop();
    }
  };
  walk(
    0,
    Array.from({ length: n + 1 }, (_, j) => j),
  );
  return found.sort((a, b) => a.distance - b.distance).slice(0, cap);
}

/**
 * Sentences of the automaton whose pronunciation is within `maxDistance` phone edits of `phones`, closest
 * first, at most `cap`. What a decoder mishears sounds like what was said ("brighten the living room" for
 * "drive to the living room", "make it you have" for "make it cooler"), which is often several word edits
 * but few phone edits. The same walk as nearSentences, one table row per phone of each word; `pronounce`
 * gives a word's phones (words without one are skipped). Deepened one edit at a time, so when the work
 * bound (`budget` word arcs) cuts the search short, the closest sentences have been found.
 */
export function nearSentencesByPhones(
  dfa: WordDfa,
  pronounce: (word: string) => string[] | undefined,
  phones: string[],
  maxDistance: number,
  cap: number,
  budget = 20_000,
): NearSentence[] {
  const n = phones.length;
  const found = new Map<string, NearSentence>();
  const path: string[] = [];
  const walk = (state: number, row: Int32Array, limit: number) => {
    if (budget <= 0) return;
    if (dfa.final[state] && row[n]! <= limit) {
      const key = path.join(' ');
      if (!found.has(key)) found.set(key, { words: [...path], distance: row[n]! });
    }
    for (const [word, next] of dfa.next[state]!) {
      if (--budget <= 0) return;
      const sounds = pronounce(word);
      if (!sounds) continue;
      let current = row;
      let best = 0;
      for (const phone of sounds) {
        const out = new Int32Array(n + 1);
        out[0] = current[0]! + 1;
        best = out[0]!;
        for (let j = 1; j <= n; j++) {
          const v = Math.min(
            current[j]! + 1,
            out[j - 1]! + 1,
            current[j - 1]! + (phones[j - 1] === phone ? 0 : 1),
          );
          out[j] = v;
          if (v < best) best = v;
        }
        current = out;
        if (best > limit) break;
      }
      if (best > limit) continue;
      path.push(word);
      walk(next, current, limit);
      path.pop();
    }
  };
  const first = Int32Array.from({ length: n + 1 }, (_, j) => j);
  for (let limit = 0; limit <= maxDistance && found.size < cap && budget > 0; limit++) walk(0, first, limit);
  return [...found.values()].sort((a, b) => a.distance - b.distance).slice(0, cap);
}

/** The minimal automaton of a sentence list (a word trie, minimised: shared prefixes and suffixes). */
export function sentencesDfa(sentences: string[][]): WordDfa {
  const trie: WordDfa = { next: [new Map()], final: [false] };
  for (const words of sentences) {
    let s = 0;
    for (const w of words) {
      let t = trie.next[s]!.get(w);
      if (t === undefined) {
        t = trie.final.length;
        trie.next.push(new Map());
        trie.final.push(false);
        trie.next[s]!.set(w, t);
      }
      s = t;
    }
    trie.final[s] = true;
  }
  return minimize(trie);
}

/**
 * Sphinx FSG text of an acyclic automaton in which every sentence is equally likely: an arc's probability is
 * the share of the state's sentences that go through it. Decoding a sentence list as one automaton instead of
 * parallel chains shares the words that near sentences have in common, so fewer paths are searched.
 */
export function dfaFsg(name: string, dfa: WordDfa): string {
  const count = new Array<number>(dfa.final.length).fill(-1);
  const sentencesFrom = (s: number): number => {
    if (count[s]! < 0) {
      let n = dfa.final[s] ? 1 : 0;
      for (const t of dfa.next[s]!.values()) n += sentencesFrom(t);
      count[s] = n;
    }
    return count[s]!;
  };
  const end = dfa.final.length;
  const lines: string[] = [];
  dfa.next.forEach((exits, s) => {
    const total = sentencesFrom(s);
    if (total === 0) return;
    for (const [word, t] of exits)
      lines.push(`TRANSITION ${s} ${t} ${(sentencesFrom(t) / total).toFixed(6)} ${word}`);
    if (dfa.final[s]) lines.push(`TRANSITION ${s} ${end} ${(1 / total).toFixed(6)}`);
  });
  return [
    `FSG_BEGIN ${name}`,
    `NUM_STATES ${end + 1}`,
    'START_STATE 0',
    `FINAL_STATE ${end}`,
    ...lines,
    'FSG_END',
    '',
  ].join('\n');
}
