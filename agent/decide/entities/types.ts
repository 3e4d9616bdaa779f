/**
 * A builtin entity type (`builtin.distance`, `builtin.number`, ...). The model factory uses `samples` to
 * expand `{slot}` references into training phrases; the runtime uses `resolve` to turn the words the model
 * tagged into a typed value. Both sides must agree: every sample must resolve.
 */
export interface BuiltinEntity<T = unknown> {
  /** Type name as written in specs, e.g. `builtin.distance`. */
  name: string;
  /** A random surface form, e.g. "two and a half meters"; `rng` returns floats in [0, 1). */
  sample(rng: () => number): string;
  /** Typed value of a phrase, or undefined when the phrase is not this entity. */
  resolve(text: string): T | undefined;
  /** Words said before a phrase ("at half speed") that `resolve` reads past; the voice grammar allows them. */
  leads?: readonly string[];
}
