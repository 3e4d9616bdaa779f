import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LineSplitter } from '../drivers/serial/line-splitter.ts';
import { planDrive, planMove, planTurn } from '../drivers/serial/motion.ts';
import { encodeRequest, parseDeviceLine, SequenceCounter } from '../drivers/serial/protocol.ts';

describe('serial line protocol', () => {
  it('frames requests and refuses arguments that would break the framing', () => {
    assert.equal(encodeRequest(7, 'M', [120, -35]), '7 M 120 -35\n');
    assert.equal(encodeRequest(65535, 'PING'), '65535 PING\n');
    assert.throws(() => encodeRequest(0, 'PING'), RangeError);
    assert.throws(() => encodeRequest(1, 'M', [1.5]), /integer/);
    assert.throws(() => encodeRequest(1, 'SAY', ['two words']), /plain word/);
    assert.throws(() => encodeRequest(1, 'SAY', ['x\n2 M 255 255']), /plain word/);
    assert.throws(() => encodeRequest(1, 'ping'), /upper-case/);
  });

  it('parses replies, telemetry, events and the reset banner', () => {
    assert.deepEqual(parseDeviceLine('12 OK sling-fw 1'), { kind: 'ok', seq: 12, data: ['sling-fw', '1'] });
    assert.deepEqual(parseDeviceLine('12 OK\r'), { kind: 'ok', seq: 12, data: [] });
    assert.deepEqual(parseDeviceLine('3 ERR 3 out-of-range'), {
      kind: 'err',
      seq: 3,
      code: 3,
      reason: 'out-of-range',
    });
    assert.deepEqual(parseDeviceLine('3 ERR 4'), { kind: 'err', seq: 3, code: 4, reason: 'line too long' });
    assert.deepEqual(parseDeviceLine('T ms=100 l=-20 r=0 a0=1.5'), {
      kind: 'telemetry',
      fields: { ms: 100, l: -20, r: 0, a0: 1.5 },
    });
    assert.deepEqual(parseDeviceLine('E deadman'), { kind: 'event', name: 'deadman', fields: {} });
    assert.deepEqual(parseDeviceLine('HELLO sling-fw 1'), {
      kind: 'hello',
      firmware: 'sling-fw',
      version: '1',
    });
    assert.deepEqual(parseDeviceLine('23HELLO sling-fw 1'), {
      kind: 'hello',
      firmware: 'sling-fw',
      version: '1',
    });
  });

  it('reports malformed lines as invalid with a reason instead of throwing', () => {
    for (const line of [
      '',
      '0 OK',
      '70000 OK',
      '5 MAYBE',
      '5 ERR x',
      'T l=',
      'T l=abc',
      'T =3',
      'E',
      'garbage',
    ]) {
      const parsed = parseDeviceLine(line);
      assert.equal(parsed.kind, 'invalid', line);
      assert.ok(parsed.kind === 'invalid' && parsed.why.length > 0);
    }
  });

  it('wraps sequence numbers within 1..65535', () => {
    const counter = new SequenceCounter(65534);
    assert.deepEqual([counter.next(), counter.next(), counter.next()], [65534, 65535, 1]);
    const random = new SequenceCounter();
    const first = random.next();
    assert.ok(first >= 1 && first <= 65535);
  });
});

describe('line splitter', () => {
  const collect = (splitter: LineSplitter) => {
    const lines: string[] = [];
    splitter.on('data', (line: string) => lines.push(line));
    return lines;
  };

  it('joins lines split across chunks and strips CR', async () => {
    const splitter = new LineSplitter(32);
    const lines = collect(splitter);
    splitter.write(Buffer.from('1 O'));
    splitter.write(Buffer.from('K\r\nT ms=1\n\n2 OK\n3'));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(lines, ['1 OK', 'T ms=1', '2 OK']);
    assert.equal(splitter.buffered, 1);
  });

  it('never holds more than the limit for a device that never sends a newline', async () => {
    const splitter = new LineSplitter(64);
    const lines = collect(splitter);
    let overflows = 0;
    splitter.on('overflow', () => overflows++);
    const junk = Buffer.alloc(4096, 0x41);
    for (let i = 0; i < 1000; i++) {
      splitter.write(junk);
      assert.ok(splitter.buffered <= 64);
    }
    splitter.write(Buffer.from('tail\n5 OK\n'));
    await new Promise((r) => setImmediate(r));
    assert.equal(overflows, 1);
    assert.deepEqual(lines, ['5 OK'], 'the overlong line is dropped whole, the next one survives');
  });
});

describe('open-loop motion planning', () => {
  const geometry = { maxSpeedMps: 0.5, trackWidthM: 0.2 };

  it('moves at the configured speed for distance / speed', () => {
    const plan = planMove({ distance_m: 1 }, 0.25, geometry);
    assert.ok(plan.ok);
    assert.equal(plan.drive.left, 128);
    assert.equal(plan.drive.right, 128);
    assert.ok(Math.abs(plan.drive.durationMs - 3984) < 1, String(plan.drive.durationMs));
    const back = planMove({ distance_m: -0.5 }, 10, geometry);
    assert.ok(back.ok && back.drive.left === -255 && Math.abs(back.drive.durationMs - 1000) < 1e-6);
  });

  it('turns left (counter-clockwise) with the right wheel forward', () => {
    const plan = planTurn({ angle_deg: 90 }, 0.5, geometry);
    assert.ok(plan.ok);
    assert.deepEqual([plan.drive.left, plan.drive.right], [-255, 255]);
    // quarter of a 0.2 m track circle at 0.5 m/s
    assert.ok(Math.abs(plan.drive.durationMs - ((Math.PI * 0.2) / 4 / 0.5) * 1000) < 1e-6);
  });

  it('refuses non-finite and out-of-range parameters', () => {
    assert.equal(planMove({ distance_m: Number.POSITIVE_INFINITY }, 0.2, geometry).ok, false);
    assert.equal(planMove({ distance_m: '2' }, 0.2, geometry).ok, false);
    assert.equal(planTurn({}, 0.2, geometry).ok, false);
    assert.equal(planDrive({ left: 1.2, right: 0, duration_s: 1 }).ok, false);
    assert.equal(planDrive({ left: 0.2, right: 0, duration_s: 600 }).ok, false);
    assert.deepEqual(planDrive({ left: -1, right: 0.5, duration_s: 0.5 }), {
      ok: true,
      drive: { left: -255, right: 128, durationMs: 500 },
    });
  });
});
