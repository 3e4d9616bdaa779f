/** The contract between "understand" and everything after it. Offsets are into the caller's original text. */
export interface SlotMatch {
  /** Slot name from the intent spec, e.g. `distance`. */
  name: string;
  /** Exact substring of the original text. */
  text: string;
  start: number;
  end: number;
  /** Canonical or typed value (synonym → canonical, builtin entity → typed); `text` when nothing resolves it. */
  value: unknown;
  /** Slot type (`room`, `builtin.distance`, ...), when known. */
  type?: string;
}

export interface IntentScore {
  intent: string;
  confidence: number;
}

export interface ParseResult {
  text: string;
  /** Top intent when it clears the model's out-of-scope threshold, else null ("not understood"). */
  intent: string | null;
  /** Top intent regardless of the threshold, so closed-set benchmarks can be scored. */
  topIntent: string | null;
  confidence: number;
  slots: SlotMatch[];
  /**
   * The next intents, most probable first. With intent–slot agreement (manifest `intentSlots`) the top intent is
   * the one whose slots agree with the tags, which may be less probable than an alternative.
   */
  alternatives: IntentScore[];
  /** Why the input was refused before or by the model (empty, too long, no letters...). */
  error?: string;
  timing: { totalMs: number; inferenceMs?: number };
}

/** Anything that turns text into a ParseResult; it never throws on bad input. */
export interface Parser {
  parse(text: string): Promise<ParseResult>;
}
