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
  const n = crf.tags;
  if (length === 0) return [];
  const maxIn = maxIncoming(crf);
  let score = new Float64Array(n);
  let next = new Float64Array(n);
  const back = new Int32Array(length * n);
  const open = new Int32Array(n);
  for (let j = 0; j < n; j++) score[j] = crf.allowedStart[j] ? crf.start[j]! + emissions[j]! : -Infinity;
  for (let t = 1; t < length; t++) {
    let top = 0;
    for (let i = 1; i < n; i++) if (score[i]! > score[top]!) top = i;
    // targets that accept any predecessor: O and B-*; start from the best previous state
    let threshold = Infinity;
    for (let j = 0; j < n; j += j === 0 ? 1 : 2) {
      const lower = score[top]! + crf.transitions[top * n + j]!;
      next[j] = lower;
      back[t * n + j] = top;
      threshold = Math.min(threshold, lower - maxIn[j]!);
    }
    // states that could beat some target's lower bound, best first (insertion sort: usually a few)
    let count = 0;
    for (let i = 0; i < n; i++) {
      if (i === top || !(score[i]! > threshold)) continue;
      let pos = count++;
      while (pos > 0 && score[open[pos - 1]!]! < score[i]!) {
        open[pos] = open[pos - 1]!;
        pos--;
      }
      open[pos] = i;
    }
    for (let j = 0; j < n; j += j === 0 ? 1 : 2) {
      let best = next[j]!;
      let arg = top;
      const enough = best - maxIn[j]!;
      for (let c = 0; c < count; c++) {
        const i = open[c]!;
        if (score[i]! <= enough) break;
        const s = score[i]! + crf.transitions[i * n + j]!;
        if (s > best) {
          best = s;
          arg = i;
        }
      }
      next[j] = best + emissions[t * n + j]!;
      back[t * n + j] = arg;
    }
    // I-s: from B-s or I-s only
    for (let j = 2; j < n; j += 2) {
      const fromB = score[j - 1]! + crf.transitions[(j - 1) * n + j]!;
      const fromI = score[j]! + crf.transitions[j * n + j]!;
      const fromBWins = fromB >= fromI;
      next[j] = (fromBWins ? fromB : fromI) + emissions[t * n + j]!;
      back[t * n + j] = fromBWins ? j - 1 : j;
    }
    [score, next] = [next, score];
  }
  let best = -Infinity;
  let last = 0;
  for (let j = 0; j < n; j++) {
    const s = score[j]! + crf.end[j]!;
    if (s > best) {
      best = s;
      last = j;
    }
  }
  const path = new Array<number>(length);
  path[length - 1] = last;
  for (let t = length - 1; t > 0; t--) path[t - 1] = back[t * n + path[t]!]!;
  return path;
}

const maxInCache = new WeakMap<object, Float64Array>();

/** Best transition score into each tag (cached per transitions array). */
function maxIncoming(crf: CrfParams): Float64Array {
  const key = crf.transitions as object;
  let maxIn = maxInCache.get(key);
  if (!maxIn) {
    const n = crf.tags;
    maxIn = new Float64Array(n).fill(-Infinity);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) maxIn[j] = Math.max(maxIn[j]!, crf.transitions[i * n + j]!);
    maxInCache.set(key, maxIn);
  }
  return maxIn;
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
