/** Training examples: text with character spans, and the BIO view the model learns from. */
import { readFileSync } from 'node:fs';
import { type Token, tokenize } from './text.ts';

export interface Span {
  start: number;
  end: number;
  /** Slot name (what the span is reported as). */
  slot: string;
}

export interface Example {
  text: string;
  /** Intent name, or null for an out-of-scope negative. */
  intent: string | null;
  spans: Span[];
  /** A sentence of a spec's `examples:` (what the user wrote): always trained on, never held out. */
  written?: true;
}

export interface TaggedExample {
  example: Example;
  tokens: Token[];
  tags: string[];
}

/** BIO tags per token: a token belongs to a span when it overlaps it. */
export function tagExample(example: Example): TaggedExample {
  const tokens = tokenize(example.text);
  const tags = tokens.map(() => 'O');
  for (const span of example.spans) {
    let first = true;
    tokens.forEach((token, i) => {
      if (token.end <= span.start || token.start >= span.end) return;
      tags[i] = `${first ? 'B' : 'I'}-${span.slot}`;
      first = false;
    });
  }
  return { example, tokens, tags };
}

/** Spans from whitespace tokens and BIO tags (SNIPS / ATIS jsonl); a stray I- starts a span, as CoNLL does. */
export function spansFromBio(
  tokens: readonly string[],
  tags: readonly string[],
): { text: string; spans: Span[] } {
  const spans: Span[] = [];
  let offset = 0;
  let open: Span | undefined;
  tokens.forEach((token, i) => {
    const start = offset;
    const end = start + token.length;
    offset = end + 1;
    const tag = tags[i] ?? 'O';
    const label = tag === 'O' ? '' : tag.slice(2);
    if (tag.startsWith('I-') && open && open.slot === label) {
      open.end = end;
      return;
    }
    open = undefined;
    if (label) {
      open = { start, end, slot: label };
      spans.push(open);
    }
  });
  return { text: tokens.join(' '), spans };
}

export class DataError extends Error {
  override name = 'DataError';
}

/**
 * Reads jsonl: `{text, tokens, tags, intent}` (SNIPS/ATIS BIO format) or `{text, intent, spans?}`;
 * `intent: null` marks an out-of-scope negative.
 */
export function readJsonl(file: string): Example[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const examples: Example[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let row: { text?: unknown; tokens?: unknown; tags?: unknown; intent?: unknown; spans?: unknown };
    try {
      row = JSON.parse(line);
    } catch (error) {
      throw new DataError(`${file}:${i + 1}: not JSON: ${(error as Error).message}`);
    }
    const intent = row.intent === null ? null : typeof row.intent === 'string' ? row.intent : undefined;
    if (intent === undefined) throw new DataError(`${file}:${i + 1}: "intent" must be a string or null`);
    if (Array.isArray(row.tokens) && Array.isArray(row.tags)) {
      if (row.tokens.length !== row.tags.length) {
        throw new DataError(`${file}:${i + 1}: tokens and tags differ in length`);
      }
      const { text, spans } = spansFromBio(row.tokens.map(String), row.tags.map(String));
      examples.push({ text, intent, spans });
    } else if (typeof row.text === 'string') {
      const spans = Array.isArray(row.spans) ? (row.spans as Span[]) : [];
      examples.push({ text: row.text, intent, spans });
    } else {
      throw new DataError(`${file}:${i + 1}: needs "text" or "tokens" + "tags"`);
    }
  });
  return examples;
}
