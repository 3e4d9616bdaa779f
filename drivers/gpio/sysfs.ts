import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import type { Bias, GpioBackend, InputLine, Level, OutputLine } from './backend.ts';
import type { ChipInfo } from './chips.ts';

const ROOT = '/sys/class/gpio';

/**
 * Fallback for kernels or images without the libgpiod tools: the deprecated sysfs interface. Global line
 * numbers are chip base + offset (on a Pi 5 the RP1 base is not 0, e.g. GPIO17 is 588 on 6.6 kernels),
 * so the base is read from the chip, never assumed. Inputs are polled (sysfs edges need poll(2), which
 * Node cannot wait on without an addon). Bias cannot be set through sysfs.
 */
export class SysfsGpioBackend implements GpioBackend {
  readonly name = 'sysfs';
  private readonly bases = new Map<string, number>();
  private readonly exported = new Set<number>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly pollMs: number) {}

  static available(): boolean {
    return existsSync(`${ROOT}/export`);
  }

  async listChips(): Promise<ChipInfo[]> {
    return readdirSync(ROOT)
      .filter((entry) => entry.startsWith('gpiochip'))
      .map((entry) => {
        const read = (file: string) => readFileSync(`${ROOT}/${entry}/${file}`, 'utf8').trim();
        const base = Number(read('base'));
        // Named after the base here: the char-device number is not visible through sysfs.
        this.bases.set(entry, base);
        return { name: entry, label: read('label'), lines: Number(read('ngpio')) };
      });
  }

  private async exportLine(
    chip: ChipInfo,
    offset: number,
    direction: 'in' | 'out' | 'low' | 'high',
  ): Promise<string> {
    const global = (this.bases.get(chip.name) ?? 0) + offset;
    const dir = `${ROOT}/gpio${global}`;
    if (!existsSync(dir)) await writeFile(`${ROOT}/export`, String(global));
    this.exported.add(global);
    // udev may take a moment to make the new files writable.
    for (let attempt = 0; ; attempt++) {
      try {
        await writeFile(`${dir}/direction`, direction);
        return dir;
      } catch (error) {
        if (attempt >= 20) throw error;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  }

  async openOutput(chip: ChipInfo, offset: number, initial: Level): Promise<OutputLine> {
    const dir = await this.exportLine(chip, offset, initial ? 'high' : 'low');
    return { set: (level) => writeFile(`${dir}/value`, String(level)), close: async () => {} };
  }

  async openInput(
    chip: ChipInfo,
    offset: number,
    _bias: Bias,
    onChange: (level: Level) => void,
  ): Promise<InputLine> {
    const dir = await this.exportLine(chip, offset, 'in');
    const read = async (): Promise<Level> =>
      (await readFile(`${dir}/value`, 'utf8')).trim() === '1' ? 1 : 0;
    let level = await read();
    const timer = setInterval(async () => {
      const next = await read().catch(() => level);
      if (next !== level) {
        level = next;
        onChange(level);
      }
    }, this.pollMs);
    this.timers.add(timer);
    return {
      read: async () => level,
      close: async () => {
        clearInterval(timer);
        this.timers.delete(timer);
      },
    };
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    for (const global of this.exported) await writeFile(`${ROOT}/unexport`, String(global)).catch(() => {});
    this.exported.clear();
  }
}
