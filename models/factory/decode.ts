/** Constrained Viterbi over CRF emissions [T * n] and transitions: the best BIO-valid tag sequence. */
export interface CrfParams {
  tags: number;
  transitions: Float32Array | number[];
  start: Float32Array | number[];
  end: Float32Array | number[];
  allowed: Uint8Array;
  allowedStart: Uint8Array;
}

export function viterbi(emissions: Float32Array, length: number, crf: CrfParams): number[] {
  const n = crf.tags;
  if (length === 0) return [];
  let score = new Float64Array(n);
  let next = new Float64Array(n);
  const back = new Int32Array(length * n);
  for (let j = 0; j < n; j++) score[j] = crf.allowedStart[j] ? crf.start[j]! + emissions[j]! : -Infinity;
  for (let t = 1; t < length; t++) {
    for (let j = 0; j < n; j++) {
      let best = -Infinity;
      let arg = 0;
      for (let i = 0; i < n; i++) {
        if (!crf.allowed[i * n + j]) continue;
        const s = score[i]! + crf.transitions[i * n + j]!;
        if (s > best) {
          best = s;
          arg = i;
        }
      }
      next[j] = best + emissions[t * n + j]!;
      back[t * n + j] = arg;
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
