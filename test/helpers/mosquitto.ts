import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.ts';
import { stopChild } from './process.ts';

/** A real mosquitto broker on a private loopback port, for integration tests. */
export interface Mosquitto {
  port: number;
  url: string;
  /** Kills the broker (SIGKILL by default: a crash); `start()` brings it back on the same port. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** The broker's private directory (config; persistence files when enabled through extraConfig). */
  dir: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((done) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        done(true);
      });
      socket.once('error', () => done(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`mosquitto did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * @param options.persistence keep sessions, subscriptions and queued QoS 1 messages on disk in the broker's
 *   own directory (saved at every change, so they survive a SIGKILL), as a production broker would.
 */
export async function startMosquitto(
  extraConfig = '',
  options: { persistence?: boolean } = {},
): Promise<Mosquitto> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sling-mosq-'));
  const confPath = join(dir, 'mosquitto.conf');
  // Started as root, mosquitto drops to its own user: it must be able to write its database here.
  if (options.persistence) chmodSync(dir, 0o777);
  writeFileSync(
    confPath,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'set_tcp_nodelay true',
      ...(options.persistence
        ? [
            'persistence true',
            `persistence_location ${dir}/`,
            'autosave_interval 1',
            'autosave_on_changes true',
          ]
        : ['persistence false']),
      extraConfig,
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('mosquitto', ['-c', confPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<never>((_, reject) =>
      child!.once('exit', (code) => reject(new Error(`mosquitto exited (${code}): ${stderr}`))),
    );
    exited.catch(() => {});
    await Promise.race([waitForPort(port, 5000), exited]);
  };
  const kill = (signal: NodeJS.Signals) => stopChild(child, signal);
  await start();
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    kill: (signal: NodeJS.Signals = 'SIGKILL') => kill(signal),
    dir,
    start,
    stop: async () => {
      await kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
