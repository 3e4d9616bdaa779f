import { isDeepStrictEqual } from 'node:util';
import type { WorkerReport, WorkerSentence } from './protocol.ts';

/**
 * int8 kernels differ between x64 (AVX) and arm64 (NEON) in rounding, so confidences may differ slightly;
 * the decision (intent, slots, plan) must not.
 */
export const confidenceTolerance = 0.02;

export interface Disagreement {
  text: string;
  field: 'intent' | 'slots' | 'plan' | 'errors' | 'confidence' | 'missing' | 'not understood';
  x64: unknown;
  arm64: unknown;
}

export function compareReports(x64: WorkerReport, arm64: WorkerReport): Disagreement[] {
  const problems: Disagreement[] = [];
  const armByText = new Map(arm64.sentences.map((s) => [s.text, s]));
  for (const ref of x64.sentences) {
    const other = armByText.get(ref.text);
    if (!other) {
      problems.push({ text: ref.text, field: 'missing', x64: ref.intent, arm64: undefined });
      continue;
    }
    problems.push(...compareSentence(ref, other));
  }
  return problems;
}

function compareSentence(x64: WorkerSentence, arm64: WorkerSentence): Disagreement[] {
  const problems: Disagreement[] = [];
  const text = x64.text;
  if (x64.intent !== arm64.intent)
    problems.push({ text, field: 'intent', x64: x64.intent, arm64: arm64.intent });
  if (!isDeepStrictEqual(x64.slots, arm64.slots))
    problems.push({ text, field: 'slots', x64: x64.slots, arm64: arm64.slots });
  if (!isDeepStrictEqual(x64.errors, arm64.errors))
    problems.push({ text, field: 'errors', x64: x64.errors, arm64: arm64.errors });
  if (!isDeepStrictEqual(x64.plan, arm64.plan))
    problems.push({ text, field: 'plan', x64: x64.plan, arm64: arm64.plan });
  if (!(Math.abs(x64.confidence - arm64.confidence) <= confidenceTolerance)) {
    problems.push({ text, field: 'confidence', x64: x64.confidence, arm64: arm64.confidence });
  }
  return problems;
}

export function maxConfidenceDelta(x64: WorkerReport, arm64: WorkerReport): number {
  const armByText = new Map(arm64.sentences.map((s) => [s.text, s]));
  let max = 0;
  for (const ref of x64.sentences) {
    const other = armByText.get(ref.text);
    if (other) max = Math.max(max, Math.abs(ref.confidence - other.confidence));
  }
  return max;
}

/**
 * Agreement proves nothing when both machines fail the same way (a model the parser cannot run answers
 * "not understood" everywhere), so the reference must understand every in-scope sentence without error.
 */
export function referenceProblems(reference: WorkerReport, inScope: readonly string[]): Disagreement[] {
  const byText = new Map(reference.sentences.map((s) => [s.text, s]));
  const problems: Disagreement[] = [];
  for (const text of inScope) {
    const s = byText.get(text);
    const understood =
      s && s.errors.length === 0 && s.intent !== null && !s.intent.split(' + ').includes('-');
    if (!understood) {
      problems.push({
        text,
        field: 'not understood',
        x64: s ? (s.errors[0] ?? s.intent) : undefined,
        arm64: undefined,
      });
    }
  }
  return problems;
}
