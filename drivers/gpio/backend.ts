import type { ChipInfo } from './chips.ts';

// Backends deal in physical levels only (0/1 on the wire); active-low, debounce and roles are the driver's.

export type Level = 0 | 1;
export type Bias = 'as-is' | 'pull-up' | 'pull-down' | 'disable';

export interface OutputLine {
  set(level: Level): Promise<void>;
  close(): Promise<void>;
}

export interface InputLine {
  read(): Promise<Level>;
  close(): Promise<void>;
}

/** Hardware backends also emit 'fault' (message) when they lose a line. */
export interface GpioBackend {
  readonly name: string;
  on?(event: 'fault', listener: (message: string) => void): unknown;
  listChips(): Promise<ChipInfo[]>;
  openOutput(chip: ChipInfo, offset: number, initial: Level): Promise<OutputLine>;
  /** `onChange` gets every physical level change the backend sees (not debounced). */
  openInput(chip: ChipInfo, offset: number, bias: Bias, onChange: (level: Level) => void): Promise<InputLine>;
  close(): Promise<void>;
}
