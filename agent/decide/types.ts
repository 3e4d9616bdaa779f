/** One step of an action plan: an action on a named device, parameters in SI-ish units (m, s, deg, %). */
export interface Action {
  device: string;
  action: string;
  params: Record<string, unknown>;
}

export interface Plan {
  /** Ordered: a compound command ("X then Y") is executed step by step. */
  actions: Action[];
  /** Short text for the user: what will happen, or why not. */
  reply: string;
  /**
   * Plan-level refusal (limits, interlocks, unknown device) — then `actions` is empty. `notUnderstood`: the
   * input was not a command of this world (no intent, or an out-of-scope intent), not a refused command.
   */
  refused?: { reason: string; notUnderstood?: boolean };
}
