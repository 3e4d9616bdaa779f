import type { Plan } from '../../agent/decide/types.ts';

/** What worker.ts prints (one line, after `reportPrefix`) for the orchestrator to compare across machines. */
export interface WorkerSentence {
  text: string;
  intent: string | null;
  confidence: number;
  slots: { name: string; text: string; value: unknown }[];
  plan: Plan;
  /** ParseResult.error of each clause that has one (bad input, or a model the parser cannot run). */
  errors: string[];
  parseMs: number;
}

export interface WorkerReport {
  arch: string;
  node: string;
  onnxruntime: string;
  modelLoadMs: number;
  sentences: WorkerSentence[];
  nativeDeps: Record<string, string>;
}

export const reportPrefix = 'SLING_ARM64_REPORT ';
