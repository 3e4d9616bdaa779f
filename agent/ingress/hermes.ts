import type { ParseResult } from '../nlu/types.ts';

// Payloads as Rhasspy documents them for hermes/intent/<name> and hermes/nlu/intentNotRecognized. Pure.

export interface HermesContext {
  id?: string | null;
  siteId: string;
  sessionId?: string | null;
}

function slotValue(value: unknown): Record<string, unknown> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return {
      kind: 'Custom',
      ...(value as Record<string, unknown>),
      value: (value as { value?: unknown }).value ?? value,
    };
  }
  return { kind: typeof value === 'number' ? 'Number' : 'Custom', value };
}

export function hermesIntent(parse: ParseResult, context: HermesContext) {
  return {
    input: parse.text,
    intent: { intentName: parse.intent, confidenceScore: parse.confidence },
    siteId: context.siteId,
    id: context.id ?? null,
    sessionId: context.sessionId ?? null,
    slots: parse.slots.map((slot) => ({
      entity: slot.type ?? slot.name,
      slotName: slot.name,
      rawValue: slot.text,
      value: slotValue(slot.value),
      confidence: parse.confidence,
      range: { start: slot.start, end: slot.end },
    })),
    asrTokens: [],
    asrConfidence: null,
    rawInput: parse.text,
    wakewordId: null,
    lang: null,
    customData: null,
  };
}

export function hermesNotRecognized(parse: ParseResult, context: HermesContext) {
  return {
    input: parse.text,
    siteId: context.siteId,
    id: context.id ?? null,
    sessionId: context.sessionId ?? null,
    customData: null,
  };
}
