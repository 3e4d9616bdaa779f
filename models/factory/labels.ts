/** BIO tag set and the transitions a valid BIO sequence may take. */

export function bioTags(slots: readonly string[]): string[] {
  return ['O', ...slots.flatMap((s) => [`B-${s}`, `I-${s}`])];
}

/** allowed[i * n + j]: may tag j follow tag i? I-x only after B-x or I-x. */
export function allowedTransitions(tags: readonly string[]): Uint8Array {
  const n = tags.length;
  const allowed = new Uint8Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const to = tags[j]!;
      allowed[i * n + j] = !to.startsWith('I-') || tags[i]!.slice(2) === to.slice(2) ? 1 : 0;
    }
  }
  return allowed;
}

/** A sequence may not start inside a span. */
export function allowedStarts(tags: readonly string[]): Uint8Array {
  return Uint8Array.from(tags, (t) => (t.startsWith('I-') ? 0 : 1));
}
