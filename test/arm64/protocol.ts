import type { Plan } from '../../agent/decide/types.ts';

/** What worker.ts prints (one line, after `reportPrefix`) for the orchestrator to compare across machines. */
export interface WorkerSentence {
  text: string;
  intent: string | null;
  confidence: number;
  slots: { name: string; text: string; value: unknown }[];
  plan: Plan;
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
