import type { WordDfa } from '../../../models/factory/voice/fsg.ts';
import type { ArpaTrigram } from '../../../models/factory/voice/ngram.ts';

/**
 * The trigram decoder's word lattice (HTK SLF, as `pocketsphinx_batch -outlatfmt htk` writes it) and the
 * best grammar sentences in it (pure). The decoder's best path is often no sentence of the grammar while
 * the lattice holds one that is: on held-out commands (models/README.md, "Grammar sentences from the word
 * lattice") the right sentence was a lattice path for 125 of 180 clips at 20 dB where the best path gave 100.
 * Walking the lattice and the grammar's word automaton together finds the best such paths in milliseconds.
 */
export interface Lattice {
  /** Word of each node; null for silence, fillers and the lattice's own !NULL / sentence-boundary nodes. */
  words: (string | null)[];
  /** Links out of each node with their acoustic score (natural log). */
  links: { to: number; acoustic: number }[][];
  start: number;
  end: number;
}

const NODE = /^I=(\d+)\s.*\bW=(\S+)/;
const LINK = /^J=\d+\s+S=(\d+)\s+E=(\d+)\s+a=(\S+)/;

/** Parses an HTK lattice; undefined when it is incomplete (fewer links than its header says) or malformed. */
export function parseHtkLattice(text: string): Lattice | undefined {
  const header = /^N=(\d+)\s+L=(\d+)/m.exec(text);
  const start = /^start=(\d+)/m.exec(text);
  const end = /^end=(\d+)/m.exec(text);
  if (!header || !start || !end) return undefined;
  const nodes = Number(header[1]);
  const words: (string | null)[] = new Array(nodes).fill(null);
  const links: { to: number; acoustic: number }[][] = Array.from({ length: nodes }, () => []);
  let linkCount = 0;
  for (const line of text.split('\n')) {
    const node = NODE.exec(line);
    if (node) {
      const i = Number(node[1]);
      const word = node[2]!;
      if (i >= nodes) return undefined;
      words[i] = /^(!|\[|<sil>|\+\+)/.test(word) ? null : word.replace(/\(\d+\)$/, '');
      continue;
    }
    const link = LINK.exec(line);
    if (link) {
      const [from, to, acoustic] = [Number(link[1]), Number(link[2]), Number(link[3])];
      if (from >= nodes || to >= nodes || !Number.isFinite(acoustic)) return undefined;
      links[from]!.push({ to, acoustic });
      linkCount++;
    }
  }
  if (linkCount < Number(header[2])) return undefined;
  return { words, links, start: Number(start[1]), end: Number(end[1]) };
}

/** Nodes reachable from the start, in an order where every link goes forward (the lattice is acyclic). */
function forwardOrder(l: Lattice): number[] {
  const reachable = new Set([l.start]);
  const stack = [l.start];
  while (stack.length > 0) {
    for (const { to } of l.links[stack.pop()!]!) {
      if (!reachable.has(to)) {
        reachable.add(to);
        stack.push(to);
      }
    }
  }
  const incoming = new Map<number, number>();
  for (const n of reachable) for (const { to } of l.links[n]!) incoming.set(to, (incoming.get(to) ?? 0) + 1);
  const order: number[] = [];
  const ready = [l.start];
  while (ready.length > 0) {
    const n = ready.pop()!;
    order.push(n);
    for (const { to } of l.links[n]!) {
      const left = incoming.get(to)! - 1;
      incoming.set(to, left);
      if (left === 0) ready.push(to);
    }
  }
  return order;
}

interface Partial {
  score: number;
  words: string[];
  key: string;
  state: number;
}

/**
 * Up to `count` distinct grammar sentences spelt by lattice paths, best first, scored by acoustic score plus
 * `lmWeight` × the trigram model's log probability (the decoder's own ranking, constrained to the grammar).
 * Each node keeps its `count` best distinct word strings, so this is exact for the best and close for the rest.
 */
export function latticeSentences(
  l: Lattice,
  dfa: WordDfa,
  lm: ArpaTrigram,
  count: number,
  lmWeight: number,
): string[][] {
  const kept: Partial[][] = l.words.map(() => []);
  const offer = (node: number, p: Partial) => {
    const list = kept[node]!;
    const same = list.findIndex((q) => q.key === p.key);
    if (same >= 0) {
      if (list[same]!.score >= p.score) return;
      list.splice(same, 1);
    }
    let at = list.findIndex((q) => q.score < p.score);
    if (at < 0) at = list.length;
    if (at >= count) return;
    list.splice(at, 0, p);
    if (list.length > count) list.pop();
  };
  kept[l.start]!.push({ score: 0, words: [], key: '', state: 0 });
  for (const node of forwardOrder(l)) {
    for (const p of kept[node]!) {
      for (const { to, acoustic } of l.links[node]!) {
        const word = l.words[to];
        let next: Partial;
        if (word === null || word === undefined) next = { ...p, score: p.score + acoustic };
        else {
          const state = dfa.next[p.state]!.get(word);
          if (state === undefined) continue;
          const n = p.words.length;
          const lmScore = lm.logProb(p.words[n - 2] ?? '<s>', p.words[n - 1] ?? '<s>', word);
          next = {
            score: p.score + acoustic + lmWeight * lmScore,
            words: [...p.words, word],
            key: p.key === '' ? word : `${p.key} ${word}`,
            state,
          };
        }
        if (to === l.end) {
          if (!dfa.final[next.state] || next.words.length === 0) continue;
          const n = next.words.length;
          next.score += lmWeight * lm.logProb(next.words[n - 2] ?? '<s>', next.words[n - 1]!, '</s>');
        }
        offer(to, next);
      }
    }
  }
  return kept[l.end]!.map((p) => p.words);
}
