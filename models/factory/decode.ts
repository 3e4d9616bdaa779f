/** Constrained Viterbi over CRF emissions [T * n] and transitions: the best BIO-valid tag sequence. */
export interface CrfParams {
  tags: number;
  transitions: Float32Array | number[];
  start: Float32Array | number[];
  end: Float32Array | number[];
  allowed: Uint8Array;
  allowedStart: Uint8Array;
}

/**
 * Exact constrained Viterbi, fast for many tags. BIO structure: `I-x` can only follow `B-x` or `I-x` (2
 * candidates), while `O` and `B-y` may follow anything. For those, the previous token's best state gives a
 * lower bound; only states whose score plus the best transition into the target could beat it need a look,
 * and with a trained model's peaked scores that is a handful instead of all 79 SNIPS tags. Tag layout from
 * `bioTags`: 0 = O, 2s+1 = B-s, 2s+2 = I-s.
 */
export function viterbi(emissions: Float32Array, length: number, crf: CrfParams): number[] {
  return new ViterbiDecoder(crf).decode(emissions, length);
}

/**
 * `viterbi()` for fixed parameters (the run-time parser): the tables derived from the transitions and the
 * work buffers are made once, so a parse allocates nothing here. It snapshots the parameters: build a new
 * decoder after changing them (training mutates its arrays in place).
 */
export class ViterbiDecoder {
  private readonly n: number;
  private readonly transitions: Float64Array;
  private readonly start: Float64Array;
  private readonly end: Float64Array;
  private readonly allowedStart: Uint8Array;
  /** Best transition score into each tag. */
  private readonly maxIn: Float64Array;
  /** Per previous tag i: min over O/B targets j of transitions[i][j] - maxIn[j] (the pruning bound's offset). */
  private readonly slack: Float64Array;
  /** Per I-s tag j: the transition into it from B-s (j - 1) and from itself (the diagonal, read compactly). */
  private readonly bToI: Float64Array;
  private readonly iToI: Float64Array;
  private score: Float64Array;
  private next: Float64Array;
  private readonly open: Int32Array;
  private back = new Int32Array(0);
  /** Score of the path the last `decode` returned (start + emissions + transitions + end). */
  lastScore = Number.NEGATIVE_INFINITY;

  constructor(crf: CrfParams) {
    const n = crf.tags;
    this.n = n;
    this.transitions = Float64Array.from(crf.transitions);
    this.start = Float64Array.from(crf.start);
    this.end = Float64Array.from(crf.end);
    this.allowedStart = crf.allowedStart;
    this.maxIn = new Float64Array(n).fill(-Infinity);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) this.maxIn[j] = Math.max(this.maxIn[j]!, this.transitions[i * n + j]!);
    this.slack = new Float64Array(n).fill(Infinity);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j += j === 0 ? 1 : 2)
        this.slack[i] = Math.min(this.slack[i]!, this.transitions[i * n + j]! - this.maxIn[j]!);
    this.bToI = new Float64Array(n);
    this.iToI = new Float64Array(n);
    for (let j = 2; j < n; j += 2) {
      this.bToI[j] = this.transitions[(j - 1) * n + j]!;
      this.iToI[j] = this.transitions[j * n + j]!;
    }
    this.score = new Float64Array(n);
    this.next = new Float64Array(n);
    this.open = new Int32Array(n);
  }

  decode(emissions: Float32Array, length: number): number[] {
    const n = this.n;
    if (length === 0) return [];
    if (this.back.length < length * n) this.back = new Int32Array(length * n);
    const { transitions, start, end, allowedStart, slack, open, back, bToI, iToI } = this;
    let score = this.score;
    let next = this.next;
    // the best state (first of equals) and the best score among the others: when that one cannot pass the
    // pruning bound, the scan for candidates below is skipped (most tokens of a trained model)
    let top = -1;
    let topScore = -Infinity;
    let second = -Infinity;
    for (let j = 0; j < n; j++) {
      const s = allowedStart[j] ? start[j]! + emissions[j]! : -Infinity;
      score[j] = s;
      if (top < 0 || s > topScore) {
        second = topScore;
        top = j;
        topScore = s;
      } else if (s > second) second = s;
    }
    for (let t = 1; t < length; t++) {
      // states that could beat the best previous state into some O/B target, best first (insertion sort:
      // usually none or a few). The margin keeps rounding from dropping a needed one; an extra one is harmless.
      const threshold = topScore + slack[top]! - 1e-9 * (1 + Math.abs(topScore));
      let count = 0;
      for (let i = 0; second > threshold && i < n; i++) {
        const s = score[i]!;
        if (i === top || !(s > threshold)) continue;
        let pos = count++;
        while (pos > 0 && score[open[pos - 1]!]! < s) {
          open[pos] = open[pos - 1]!;
          pos--;
        }
        open[pos] = i;
      }
      const row = top * n;
      const base = t * n;
      // tags in order O, B-1, I-1, B-2, ... (equals keep the first). O: from the best previous state, or a
      // candidate that beats it
      let best = topScore + transitions[row]!;
      let arg = top;
      if (count > 0) {
        arg = this.bestPredecessor(0, top, best, count, score);
        if (arg !== top) best = score[arg]! + transitions[arg * n]!;
      }
      let s = best + emissions[base]!;
      next[0] = s;
      back[base] = arg;
      let nextTop = 0;
      let nextTopScore = s;
      let nextSecond = -Infinity;
      for (let j = 1; j < n; j += 2) {
        // B-s: likewise
        best = topScore + transitions[row + j]!;
        arg = top;
        if (count > 0) {
          arg = this.bestPredecessor(j, top, best, count, score);
          if (arg !== top) best = score[arg]! + transitions[arg * n + j]!;
        }
        s = best + emissions[base + j]!;
        next[j] = s;
        back[base + j] = arg;
        if (s > nextTopScore) {
          nextSecond = nextTopScore;
          nextTop = j;
          nextTopScore = s;
        } else if (s > nextSecond) nextSecond = s;
        const inside = j + 1;
        if (inside === n) break;
        // I-s: from B-s (j) or I-s only
        const fromB = score[j]! + bToI[inside]!;
        const fromI = score[inside]! + iToI[inside]!;
        const fromBWins = fromB >= fromI;
        s = (fromBWins ? fromB : fromI) + emissions[base + inside]!;
        next[inside] = s;
        back[base + inside] = fromBWins ? j : inside;
        if (s > nextTopScore) {
          nextSecond = nextTopScore;
          nextTop = inside;
          nextTopScore = s;
        } else if (s > nextSecond) nextSecond = s;
      }
      const swap = score;
      score = next;
      next = swap;
      top = nextTop;
      topScore = nextTopScore;
      second = nextSecond;
    }
    let best = -Infinity;
    let last = 0;
    for (let j = 0; j < n; j++) {
      const s = score[j]! + end[j]!;
      if (s > best) {
        best = s;
        last = j;
      }
    }
    this.score = score;
    this.next = next;
    this.lastScore = best;
    const path = new Array<number>(length);
    path[length - 1] = last;
    for (let t = length - 1; t > 0; t--) path[t - 1] = back[t * n + path[t]!]!;
    return path;
  }

  /**
   * The best predecessor of O/B tag `j`: `top` (whose path scores `best`) unless one of the `count` candidates
   * in `open` (best first) beats it. Out of the per-tag loop: only reached on the few tokens with candidates.
   */
  private bestPredecessor(j: number, top: number, best: number, count: number, score: Float64Array): number {
    const { transitions, open, n } = this;
    const enough = best - this.maxIn[j]!;
    let arg = top;
    for (let c = 0; c < count; c++) {
      const i = open[c]!;
      if (score[i]! <= enough) break;
      const s = score[i]! + transitions[i * n + j]!;
      if (s > best) {
        best = s;
        arg = i;
      }
    }
    return arg;
  }
}

/**
 * Intent–slot agreement: each slot may only come with the intents it has in the training data
 * (`Manifest.intentSlots`). `choose` returns the (intent, tag path) with the highest log p(intent) + CRF path
 * score among the pairs that agree (the product of the two heads' probabilities; the CRF's partition function is
 * the same for every path, so it cancels), or null when the free path already agrees with the top intent: then
 * that pair is the optimum (no other intent has a higher probability, no path a higher score), which is the
 * common case and costs one table look-up per token.
 */
export class IntentSlotAgreement {
  /** allowed[intent * tags + tag]: O always, B-s/I-s when slot s is seen with the intent. */
  private readonly allowed: Uint8Array;
  private readonly tags: number;
  private masked = new Float32Array(0);
  private readonly none: number;

  constructor(
    intents: readonly string[],
    tags: readonly string[],
    intentSlots: Readonly<Record<string, readonly string[]>>,
    /** The out-of-scope class: never chosen (the parser reports the top real intent). */
    noneIntent: string,
  ) {
    this.tags = tags.length;
    this.none = intents.indexOf(noneIntent);
    this.allowed = new Uint8Array(intents.length * tags.length);
    intents.forEach((intent, i) => {
      const slots = new Set(intentSlots[intent] ?? []);
      tags.forEach((tag, t) => {
        if (tag === 'O' || slots.has(tag.slice(2))) this.allowed[i * tags.length + t] = 1;
      });
    });
  }

  agrees(intent: number, path: readonly number[]): boolean {
    const row = intent * this.tags;
    for (let k = 0; k < path.length; k++) if (this.allowed[row + path[k]!] === 0) return false;
    return true;
  }

  /**
   * `path` is the free Viterbi path `decoder` just returned for `emissions` (its score in `decoder.lastScore`);
   * `probs` the intent distribution.
   */
  choose(
    probs: Float32Array,
    emissions: Float32Array,
    length: number,
    decoder: ViterbiDecoder,
    path: number[],
  ): { intent: number; path: number[] } | null {
    let top = -1;
    for (let i = 0; i < probs.length; i++) {
      if (i !== this.none && (top < 0 || probs[i]! > probs[top]!)) top = i;
    }
    if (top < 0 || this.agrees(top, path)) return null;
    const order = [...probs.keys()].filter((i) => i !== this.none).sort((a, b) => probs[b]! - probs[a]!);
    const free = decoder.lastScore;
    const n = this.tags;
    if (this.masked.length < length * n) this.masked = new Float32Array(length * n);
    let best: { intent: number; path: number[]; score: number } | undefined;
    for (const i of order) {
      const prior = Math.log(Math.max(probs[i]!, 1e-30));
      // no path scores above the free one: this intent, and every less probable one, cannot win
      if (best && prior + free <= best.score) break;
      let candidate = path;
      let score = free;
      if (!this.agrees(i, path)) {
        const row = i * n;
        for (let t = 0; t < length; t++) {
          for (let j = 0; j < n; j++) {
            this.masked[t * n + j] = this.allowed[row + j] === 1 ? emissions[t * n + j]! : -1e30;
          }
        }
        candidate = decoder.decode(this.masked, length);
        score = decoder.lastScore;
      }
      if (!best || prior + score > best.score) best = { intent: i, path: candidate, score: prior + score };
    }
    return best ? { intent: best.intent, path: best.path } : null;
  }
}

/** Token spans from BIO tag names: [{slot, first, last}] in token indices. */
export function bioSpans(tags: readonly string[]): { slot: string; first: number; last: number }[] {
  const spans: { slot: string; first: number; last: number }[] = [];
  tags.forEach((tag, i) => {
    if (tag === 'O') return;
    const label = tag.slice(2);
    const open = spans.at(-1);
    if (tag.startsWith('I-') && open && open.slot === label && open.last === i - 1) open.last = i;
    else spans.push({ slot: label, first: i, last: i });
  });
  return spans;
}
