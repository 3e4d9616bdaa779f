// The serial link against a scripted device on a real pty pair (socat): retries, overlong lines,
// garbage, a silent device. The firmware-in-the-loop tests cover the reference firmware itself.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SerialPort } from 'serialport';
import { LineSplitter } from '../drivers/serial/line-splitter.ts';
import { LinkError, type LinkOptions, SerialLink } from '../drivers/serial/link.ts';

/** What the scripted device does with each request line; return the reply, or undefined to stay silent. */
type Script = (seq: number, command: string, line: string) => string | undefined;

describe('serial link against a scripted device on a pty pair', { timeout: 30_000 }, () => {
  let socat: ChildProcess;
  let dir: string;
  let device: SerialPort;
  let link: SerialLink;
  const received: string[] = [];
  let script: Script = (seq) => `${seq} OK`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sling-link-'));
    const host = join(dir, 'host');
    const board = join(dir, 'board');
    socat = spawn('socat', [`pty,raw,echo=0,link=${host}`, `pty,raw,echo=0,link=${board}`], {
      stdio: 'ignore',
    });
    const deadline = Date.now() + 5000;
    while (!(existsSync(host) && existsSync(board))) {
      if (Date.now() > deadline) throw new Error('socat did not create the pty pair');
      await new Promise((r) => setTimeout(r, 20));
    }
    device = new SerialPort({ path: board, baudRate: 115200 });
    await once(device, 'open');
    const lines = new LineSplitter(256);
    device.pipe(lines);
    lines.on('data', (line: string) => {
      received.push(line);
      const [seq, command] = line.split(' ');
      const reply = script(Number(seq), command ?? '', line);
      if (reply !== undefined) device.write(`${reply}\n`);
    });
    const options: LinkOptions = {
      path: host,
      baudRate: 115200,
      requestTimeoutMs: 100,
      retries: 2,
      heartbeatMs: 400,
      staleAfterMs: 2000,
      watchdogMs: 50,
      reconnectMs: 50,
      syncTimeoutMs: 1000,
      maxLineLength: 64,
    };
    link = new SerialLink(options);
    link.start();
    assert.equal(await link.waitConnected(5000), true, link.lastProblem);
  });

  after(async () => {
    await link?.stop();
    if (device?.isOpen) await new Promise((r) => device.close(r));
    socat?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('retries a lost reply with the same sequence number', async () => {
    const seen = new Set<number>();
    script = (seq, command) => {
      if (command !== 'SERVO' || seen.has(seq)) return `${seq} OK`;
      seen.add(seq); // first copy of every SERVO "lost"
      return undefined;
    };
    const before = received.length;
    // a generous timeout per attempt, so only the deliberately lost first copy needs a retry
    assert.deepEqual(await link.request('SERVO', [10], { timeoutMs: 500 }), { ok: true, data: [] });
    const servo = received.slice(before).filter((l) => l.includes('SERVO'));
    assert.ok(servo.length >= 2, `copies sent: ${servo.length}`);
    assert.equal(new Set(servo).size, 1, 'the retry repeats the same line, sequence number included');
  });

  it('gives up after the configured retries with a timeout error', async () => {
    script = (seq, command) => (command === 'SERVO' ? undefined : `${seq} OK`);
    const before = received.length;
    const started = Date.now();
    const error = await link.request('SERVO', [20]).catch((e: unknown) => e);
    assert.ok(error instanceof LinkError && error.reason === 'timeout', String(error));
    // the device side may read the last copies a little later on a loaded machine
    const copies = () => received.slice(before).filter((l) => l.includes('SERVO'));
    const deadline = Date.now() + 3000;
    while (copies().length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(copies().length, 3);
    assert.equal(new Set(copies()).size, 1, 'every attempt repeats the same sequence number');
    assert.ok(Date.now() - started >= 297, 'three attempts of 100 ms');
  });

  it('drops an endless line without growing, reports it, and keeps working', async () => {
    script = (seq) => `${seq} OK`;
    const overflow = once(link, 'overflow');
    const telemetry = once(link, 'telemetry');
    // 256 times the line limit (the splitter's bound itself is unit-tested with megabytes)
    device.write(Buffer.alloc(16 * 1024, 0x41));
    device.write('\nT ms=5 l=0 r=0\n');
    await overflow;
    assert.deepEqual((await telemetry)[0], { ms: 5, l: 0, r: 0 });
    assert.equal((await link.request('PING')).ok, true);
  });

  it('reports garbage as invalid lines instead of failing', async () => {
    const invalid = once(link, 'invalid');
    device.write('\x00\x01garbage\n');
    const [{ why }] = await invalid;
    assert.ok(why);
    assert.equal(link.connected, true);
  });

  it('closes and reconnects a link whose device went silent', async () => {
    script = () => undefined;
    const [{ reason }] = await once(link, 'disconnected');
    assert.match(reason, /no reply|no data/);
    script = (seq) => `${seq} OK`;
    assert.equal(await link.waitConnected(5000), true, link.lastProblem);
  });
});
