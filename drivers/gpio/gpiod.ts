import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import type { Bias, GpioBackend, InputLine, Level, OutputLine } from './backend.ts';
import { type ChipInfo, parseGpiodetect } from './chips.ts';

const run = promisify(execFile);

/**
 * Hardware backend on the libgpiod command-line tools (Debian/Raspberry Pi OS package `gpiod`): the GPIO
 * character device without a native Node addon. Why not a binding: node-libgpiod must compile against
 * libgpiod-dev at install time (npm blocks install scripts, and ARM boards then need a toolchain), onoff is
 * sysfs only, pigpio/rpio do not know the Pi 5's RP1. The tools cost a process per line and a few ms per
 * output change, which suits relays, LEDs, buttons and e-stop inputs; fast PWM is out of scope.
 * Both CLI generations are handled: v1 (Debian 12) and v2 (Debian 13) differ in flags and event codes.
 * Emits 'fault' (message) when a tool dies unexpectedly.
 */
export class GpiodToolsBackend extends EventEmitter implements GpioBackend {
  readonly name = 'gpiod';
  private readonly children = new Set<ChildProcess>();
  private major = 1;

  static async available(): Promise<boolean> {
    try {
      await run('gpiodetect', ['--version'], { timeout: 3000 });
      return true;
    } catch {
      return false;
    }
  }

  async listChips(): Promise<ChipInfo[]> {
    const version = await run('gpiodetect', ['--version'], { timeout: 3000 });
    this.major = Number(/v(\d+)\./.exec(version.stdout)?.[1] ?? 1);
    const { stdout } = await run('gpiodetect', [], { timeout: 3000 });
    return parseGpiodetect(stdout);
  }

  private spawnTool(tool: string, args: string[]): ChildProcess {
    const child = spawn(tool, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.add(child);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-500);
    });
    child.on('error', (error) => this.emit('fault', `${tool}: ${error.message}`));
    child.on('exit', (code, signal) => {
      this.children.delete(child);
      if (!child.killed)
        this.emit('fault', `${tool} ${args.join(' ')} exited (${code ?? signal}): ${stderr.trim()}`);
    });
    return child;
  }

  private biasArgs(bias: Bias): string[] {
    if (bias === 'as-is') return [];
    return this.major >= 2 ? ['-b', bias] : ['-B', bias];
  }

  private holdArgs(chip: ChipInfo, offset: number, level: Level): string[] {
    // The value only holds while the process lives: v1 needs --mode=signal, v2 holds by default.
    return this.major >= 2
      ? ['-c', chip.name, `${offset}=${level}`]
      : ['--mode=signal', chip.name, `${offset}=${level}`];
  }

  private async stop(child: ChildProcess | undefined): Promise<void> {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }

  async openOutput(chip: ChipInfo, offset: number, initial: Level): Promise<OutputLine> {
    let holder = this.spawnTool('gpioset', this.holdArgs(chip, offset, initial));
    return {
      set: async (level) => {
        // The line is released between the two processes (a few ms); fine for relays and LEDs.
        await this.stop(holder);
        holder = this.spawnTool('gpioset', this.holdArgs(chip, offset, level));
      },
      close: () => this.stop(holder),
    };
  }

  async openInput(
    chip: ChipInfo,
    offset: number,
    bias: Bias,
    onChange: (level: Level) => void,
  ): Promise<InputLine> {
    const get =
      this.major >= 2
        ? await run('gpioget', ['-c', chip.name, '--numeric', ...this.biasArgs(bias), String(offset)], {
            timeout: 3000,
          })
        : await run('gpioget', [...this.biasArgs(bias), chip.name, String(offset)], { timeout: 3000 });
    let level: Level = get.stdout.trim().endsWith('1') ? 1 : 0;
    const args =
      this.major >= 2
        ? ['-c', chip.name, '-e', 'both', ...this.biasArgs(bias), '-F', '%o %e', String(offset)]
        : ['-b', ...this.biasArgs(bias), '-F', '%o %e', chip.name, String(offset)];
    const monitor = this.spawnTool('gpiomon', args);
    createInterface({ input: monitor.stdout! }).on('line', (line) => {
      const code = Number(line.trim().split(/\s+/)[1]);
      // v1: 1 rising, 0 falling; v2: 1 rising, 2 falling.
      const next: Level = code === 1 ? 1 : 0;
      if (next !== level) {
        level = next;
        onChange(level);
      }
    });
    return { read: async () => level, close: () => this.stop(monitor) };
  }

  async close(): Promise<void> {
    await Promise.all([...this.children].map((child) => this.stop(child)));
  }
}
