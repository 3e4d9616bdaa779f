import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fromProjectRoot } from '../../agent/paths.ts';
import { stopChild } from './process.ts';

const firmwareDir = fromProjectRoot('drivers/firmware');

/** Builds the reference firmware and the simavr harness (make is a no-op when up to date). */
export function buildFirmware(): { firmware: string; harness: string } {
  // flock: test files run in parallel processes and must not run make in the same folder at once
  execFileSync('flock', [join(tmpdir(), 'sling-firmware-build.lock'), 'make', '-s', '-C', firmwareDir], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return { firmware: join(firmwareDir, 'build/sling_fw.elf'), harness: join(firmwareDir, 'build/sling-sim') };
}

/** The StandardFirmata build for the Uno that ships inside the avrgirl-arduino package. */
export function standardFirmataHex(): string {
  return fromProjectRoot('node_modules/avrgirl-arduino/junk/hex/uno/StandardFirmata.cpp.hex');
}

export interface SimEvent {
  /** Simulated time in microseconds since the MCU started. */
  simUs: number;
  /** performance.now() when this process read the line. */
  at: number;
  kind: string;
  name?: string;
  value?: number;
}

export interface AvrSim {
  /** Stable path (a symlink to the current pty), like /dev/serial/by-id/... */
  path: string;
  events: SimEvent[];
  /** Latest value reported for a pin ("D4") or PWM channel ("0A"). */
  value(name: string): number | undefined;
  waitFor(predicate: (event: SimEvent) => boolean, timeoutMs?: number, what?: string): Promise<SimEvent>;
  command(line: string): void;
  /** SIGKILL: the device vanishes like an unplugged USB cable (the symlink then dangles). */
  kill(): Promise<void>;
  /** Starts the simulator again behind the same path (replug). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface SimOptions {
  firmware: string;
  /** Report only these pins, e.g. "D4,D7" (PWM pins toggle thousands of times a second). */
  pins?: string;
  resetOnOpen?: boolean;
  /** Input pins that idle high, e.g. "D2" (a button to ground with the pull-up on). */
  pullups?: string;
}

export async function startAvrSim(options: SimOptions): Promise<AvrSim> {
  const { harness } = buildFirmware();
  const dir = mkdtempSync(join(tmpdir(), 'sling-sim-'));
  const path = join(dir, 'usb-Sling_Sim-if00');
  const events: SimEvent[] = [];
  const latest = new Map<string, number>();
  const waiters = new Set<{ predicate: (e: SimEvent) => boolean; resolve: (e: SimEvent) => void }>();
  let child: ChildProcess | undefined;

  const onLine = (line: string) => {
    const match = /^(\d+) (\S+)(?: (\S+))?(?: (\d+))?$/.exec(line);
    if (!match) return;
    const event: SimEvent = { simUs: Number(match[1]), at: performance.now(), kind: match[2]! };
    if (match[3] !== undefined) event.name = match[3];
    if (match[4] !== undefined) event.value = Number(match[4]);
    if (event.name !== undefined && event.value !== undefined) latest.set(event.name, event.value);
    events.push(event);
    for (const waiter of waiters) if (waiter.predicate(event)) waiter.resolve(event);
  };

  const start = async () => {
    const args = ['-l', path];
    if (options.pins) args.push('-p', options.pins);
    if (options.resetOnOpen === false) args.push('-n');
    if (options.pullups) args.push('-u', options.pullups);
    args.push(options.firmware);
    const proc = spawn(harness, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    child = proc;
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    await new Promise<void>((resolve, reject) => {
      const lines = createInterface({ input: proc.stdout! });
      lines.on('line', (line) => {
        if (line.startsWith('pty ')) resolve();
        else onLine(line);
      });
      proc.once('exit', (code) => reject(new Error(`sling-sim exited (${code}): ${stderr}`)));
    });
  };

  const kill = (signal: NodeJS.Signals) => stopChild(child, signal);

  await start();
  return {
    path,
    events,
    value: (name) => latest.get(name),
    waitFor(predicate, timeoutMs = 5000, what = 'simulator event') {
      const already = events.find(predicate);
      if (already) return Promise.resolve(already);
      return new Promise((resolve, reject) => {
        const waiter = {
          predicate,
          resolve: (event: SimEvent) => {
            clearTimeout(timer);
            waiters.delete(waiter);
            resolve(event);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    command(line) {
      child?.stdin?.write(`${line}\n`);
    },
    kill: () => kill('SIGKILL'),
    restart: start,
    stop: async () => {
      await kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
