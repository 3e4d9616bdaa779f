import { EventEmitter } from 'node:events';
import type { Bias, GpioBackend, InputLine, Level, OutputLine } from './backend.ts';
import type { ChipInfo } from './chips.ts';

/**
 * A simulated GPIO chip (`gpio.backend: sim`): try a wiring config without hardware, drive inputs from
 * tests or the `simulate` action, and watch outputs. Inputs float to their bias level (pull-up → 1).
 */
export class SimGpioBackend extends EventEmitter implements GpioBackend {
  readonly name = 'sim';
  private readonly levels = new Map<string, Level>();
  private readonly inputHandlers = new Map<string, (level: Level) => void>();

  constructor(private readonly chips: ChipInfo[]) {
    super();
  }

  async listChips(): Promise<ChipInfo[]> {
    return this.chips.map((c) => ({ ...c }));
  }

  async openOutput(chip: ChipInfo, offset: number, initial: Level): Promise<OutputLine> {
    const key = `${chip.name}:${offset}`;
    this.levels.set(key, initial);
    this.emit('output', { chip: chip.name, offset, level: initial });
    return {
      set: async (level) => {
        this.levels.set(key, level);
        this.emit('output', { chip: chip.name, offset, level });
      },
      close: async () => {},
    };
  }

  async openInput(
    chip: ChipInfo,
    offset: number,
    bias: Bias,
    onChange: (level: Level) => void,
  ): Promise<InputLine> {
    const key = `${chip.name}:${offset}`;
    if (!this.levels.has(key)) this.levels.set(key, bias === 'pull-up' ? 1 : 0);
    this.inputHandlers.set(key, onChange);
    return {
      read: async () => this.levels.get(key) ?? 0,
      close: async () => {
        this.inputHandlers.delete(key);
      },
    };
  }

  /** Drives a simulated input to a physical level, as a button or switch would. */
  setLevel(chipName: string, offset: number, level: Level): void {
    const key = `${chipName}:${offset}`;
    if (this.levels.get(key) === level) return;
    this.levels.set(key, level);
    this.inputHandlers.get(key)?.(level);
  }

  level(chipName: string, offset: number): Level | undefined {
    return this.levels.get(`${chipName}:${offset}`);
  }

  async close(): Promise<void> {
    this.inputHandlers.clear();
  }
}
