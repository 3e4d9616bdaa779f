import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fromProjectRoot } from '../../agent/paths.ts';
import { Probe } from '../helpers/agent.ts';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.ts';

// `sling start` as a real child process: last will, signals, systemd notifications.

function startAgentProcess(deviceId: string, url: string, env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [fromProjectRoot('agent/sling.js'), 'start'], {
    env: {
      ...process.env,
      SLING_MQTT_URL: url,
      SLING_DEVICE_ID: deviceId,
      SLING_LOG_LEVEL: 'warn',
      SLING_LOG_PRETTY: 'never',
      SLING_AGENT_CONSOLE: 'off',
      SLING_AGENT_SHUTDOWN_TIMEOUT_MS: '3000',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

const exited = (child: ChildProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );

describe('the agent process', () => {
  let broker: Mosquitto;
  let probe: Probe;
  const children: ChildProcess[] = [];

  before(async () => {
    broker = await startMosquitto();
    probe = await Probe.connect(broker.url);
    await probe.subscribe('sling/+/status');
  });

  after(async () => {
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await probe?.close();
    await broker?.stop();
  });

  const statusOf = (id: string, state: string) =>
    probe.waitFor(
      (m) => m.topic === `sling/${id}/status` && JSON.parse(m.payload).state === state,
      `${id} ${state}`,
      20_000,
    );

  it('publishes the last will "offline" when the agent is killed', async () => {
    const child = startAgentProcess('killed', broker.url);
    children.push(child);
    const online = JSON.parse((await statusOf('killed', 'online')).payload);
    assert.equal(online.pid, child.pid);
    const done = exited(child);
    child.kill('SIGKILL');
    assert.equal((await done).signal, 'SIGKILL');
    const offline = JSON.parse((await statusOf('killed', 'offline')).payload);
    assert.equal(offline.reason, 'connection lost', 'the broker published the will');
  });

  it('shuts down cleanly on SIGTERM: offline published (retained), exit 0 within the bound', async () => {
    const child = startAgentProcess('term', broker.url);
    children.push(child);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    await statusOf('term', 'online');
    const done = exited(child);
    const started = Date.now();
    child.kill('SIGTERM');
    const { code } = await done;
    const tookMs = Date.now() - started;
    assert.equal(code, 0, `exit code 0 (stderr: ${stderr})`);
    assert.ok(tookMs < 3000 + 1500, `stopped in ${tookMs} ms`);
    const offline = JSON.parse((await statusOf('term', 'offline')).payload);
    assert.equal(offline.reason, 'SIGTERM');
    const late = await Probe.connect(broker.url);
    try {
      await late.subscribe('sling/term/status');
      const retained = await late.waitFor(() => true, 'retained status');
      assert.equal(JSON.parse(retained.payload).state, 'offline');
      assert.equal(retained.packet.retain, true);
    } finally {
      await late.close();
    }
  });

  it('tells systemd READY, pings the watchdog and says STOPPING (Type=notify)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sling-notify-'));
    const socket = join(dir, 'notify.sock');
    const receiver = spawn('socat', ['-u', `UNIX-RECV:${socket}`, 'STDOUT'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let received = '';
    receiver.stdout?.on('data', (d: Buffer) => {
      received += `${d.toString()}\n`;
    });
    try {
      for (let i = 0; i < 100 && !received && receiver.exitCode === null; i++) {
        const { existsSync } = await import('node:fs');
        if (existsSync(socket)) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const child = startAgentProcess('notify', broker.url, {
        NOTIFY_SOCKET: socket,
        WATCHDOG_USEC: '200000',
      });
      children.push(child);
      await statusOf('notify', 'online');
      const deadline = Date.now() + 10_000;
      while (!(received.includes('READY=1') && received.includes('WATCHDOG=1')) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.match(received, /READY=1/);
      assert.match(received, new RegExp(`MAINPID=${child.pid}`));
      assert.match(received, /WATCHDOG=1/);
      const done = exited(child);
      child.kill('SIGINT');
      assert.equal((await done).code, 0);
      for (let i = 0; i < 50 && !received.includes('STOPPING=1'); i++)
        await new Promise((r) => setTimeout(r, 20));
      assert.match(received, /STOPPING=1/);
    } finally {
      receiver.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
