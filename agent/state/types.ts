/** A value in the live state store: device state and sensor readings share one shape. */
export interface StateValue {
  value: unknown;
  /** Milliseconds since the epoch when the value was observed. */
  at: number;
  stale?: boolean;
}

/** Read/write view of the state store that drivers, skills and safety use; keys look like `robot.pose`. */
export interface StateSink {
  set(key: string, value: unknown, at?: number): void;
}

export interface StateView {
  get(key: string): StateValue | undefined;
  snapshot(): Record<string, StateValue>;
}
