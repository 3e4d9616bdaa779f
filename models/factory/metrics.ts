/** Evaluation metrics (pure): intent accuracy, CoNLL span F1, sentence exact match, out-of-scope P/R. */

export interface LabeledSpan {
  slot: string;
  start: number;
  end: number;
}

export interface Judged {
  goldIntent: string | null;
  /** Top intent regardless of the threshold. */
  predIntent: string | null;
  /** False when the parser said "not understood". */
  understood: boolean;
  goldSpans: LabeledSpan[];
  predSpans: LabeledSpan[];
}

export interface Metrics {
  count: number;
  intentAccuracy: number;
  slotPrecision: number;
  slotRecall: number;
  slotF1: number;
  exactMatch: number;
  outOfScope?: { precision: number; recall: number; negatives: number };
}

const key = (s: LabeledSpan) => `${s.slot}\u0000${s.start}\u0000${s.end}`;

/** Counts of span matches: a predicted span is correct when label, start and end all equal a gold span. */
export function spanCounts(gold: readonly LabeledSpan[], pred: readonly LabeledSpan[]) {
  const remaining = new Map<string, number>();
  for (const s of gold) remaining.set(key(s), (remaining.get(key(s)) ?? 0) + 1);
  let correct = 0;
  for (const s of pred) {
    const n = remaining.get(key(s)) ?? 0;
    if (n > 0) {
      correct++;
      remaining.set(key(s), n - 1);
    }
  }
  return { correct, gold: gold.length, pred: pred.length };
}

const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);

/**
 * Intent accuracy and slot scores are closed-set (over in-scope items, top intent); exact match needs the
 * intent and every span right. Out-of-scope items (goldIntent null) score only out-of-scope P/R.
 */
export function computeMetrics(items: readonly Judged[]): Metrics {
  const inScope = items.filter((i) => i.goldIntent !== null);
  let intentRight = 0;
  let exact = 0;
  let correct = 0;
  let gold = 0;
  let pred = 0;
  for (const item of inScope) {
    const ok = item.predIntent === item.goldIntent;
    if (ok) intentRight++;
    const c = spanCounts(item.goldSpans, item.predSpans);
    correct += c.correct;
    gold += c.gold;
    pred += c.pred;
    if (ok && c.correct === c.gold && c.correct === c.pred) exact++;
  }
  const precision = ratio(correct, pred);
  const recall = ratio(correct, gold);
  const metrics: Metrics = {
    count: inScope.length,
    intentAccuracy: ratio(intentRight, inScope.length),
    slotPrecision: precision,
    slotRecall: recall,
    slotF1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
    exactMatch: ratio(exact, inScope.length),
  };
  const negatives = items.length - inScope.length;
  if (negatives > 0) {
    const rejected = items.filter((i) => !i.understood);
    const truePositive = rejected.filter((i) => i.goldIntent === null).length;
    metrics.outOfScope = {
      precision: ratio(truePositive, rejected.length),
      recall: ratio(truePositive, negatives),
      negatives,
    };
  }
  return metrics;
}
