import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveConfig } from '../../agent/config/load.ts';
import { backoffDelay } from '../../agent/ingress/backoff.ts';
import { formatResult } from '../../agent/ingress/console.ts';
import { CommandDedup } from '../../agent/ingress/dedup.ts';
import { CommandGuard } from '../../agent/ingress/guard.ts';
import { hermesIntent } from '../../agent/ingress/hermes.ts';
import { decodeCommand } from '../../agent/ingress/messages.ts';
import { SensorMapper } from '../../agent/ingress/sensors.ts';
import { LatencyWindow } from '../../agent/report/latency.ts';
import { statusOfActions } from '../../agent/report/result.ts';
import { throttle } from '../../agent/report/throttle.ts';
import { SystemdNotifier } from '../../agent/systemd.ts';

describe('ingress pure logic', () => {
  it('backoff grows exponentially, is capped, and is jittered between min and the ceiling', () => {
    assert.equal(
      backoffDelay(0, 100, 10_000, () => 1),
      100,
    );
    assert.equal(
      backoffDelay(3, 100, 10_000, () => 1),
      800,
    );
    assert.equal(
      backoffDelay(3, 100, 10_000, () => 0),
      100,
    );
    assert.equal(
      backoffDelay(3, 100, 10_000, () => 0.5),
      450,
    );
    assert.equal(
      backoffDelay(50, 100, 10_000, () => 1),
      10_000,
    );
  });

  it('decodes plain-text and JSON commands and explains what is wrong', () => {
    assert.deepEqual(decodeCommand(Buffer.from('  stop  ')), {
      ok: true,
      value: { text: 'stop', dryRun: false },
    });
    assert.deepEqual(decodeCommand(Buffer.from('{"id":"a","text":"stop","dryRun":true}')), {
      ok: true,
      value: { id: 'a', text: 'stop', dryRun: true },
    });
    const bad = decodeCommand(Buffer.from('{"id": 7, "text": "x"}'));
    assert.equal(bad.ok, false);
    assert.match((bad as { reason: string }).reason, /^invalid command JSON: id: /);
    assert.match((decodeCommand(Buffer.from('{"text":')) as { reason: string }).reason, /^malformed JSON/);
    assert.equal((decodeCommand(Buffer.from('')) as { reason: string }).reason, 'empty command');
  });

  it('guards size, allow-lists and rate with a token bucket per source', () => {
    let now = 0;
    const guard = new CommandGuard(
      {
        maxPayloadBytes: 10,
        perSecond: 2,
        burst: 2,
        allowTopics: ['sling/+/command'],
        allowClients: ['ops'],
      },
      () => now,
    );
    assert.equal(guard.checkSize(10).ok, true);
    assert.equal(guard.checkSize(11).ok, false);
    assert.equal(guard.checkAllowed('sling/a/command', 'ops').ok, true);
    assert.equal(guard.checkAllowed('hermes/nlu/query', 'ops').ok, false);
    assert.equal(guard.checkAllowed('sling/a/command', undefined).ok, false);
    assert.equal(guard.checkRate('ops').ok, true);
    assert.equal(guard.checkRate('ops').ok, true);
    assert.equal(guard.checkRate('ops').ok, false);
    assert.equal(guard.checkRate('other').ok, true, 'buckets are per source');
    now = 500; // half a second refills one token at 2/s
    assert.equal(guard.checkRate('ops').ok, true);
    assert.equal(guard.checkRate('ops').ok, false);
  });

  it('dedup answers a pending or finished id from memory and forgets the oldest beyond its size', async () => {
    const dedup = new CommandDedup<{ n: number }>(2);
    let release!: (v: { n: number }) => void;
    const first = dedup.track('a', new Promise((r) => (release = r)));
    assert.ok(dedup.seen('a') instanceof Promise, 'pending work is shared');
    release({ n: 1 });
    await first;
    assert.deepEqual(dedup.seen('a'), { n: 1 });
    await dedup.track('b', Promise.resolve({ n: 2 }));
    await dedup.track('c', Promise.resolve({ n: 3 }));
    assert.equal(dedup.seen('a'), undefined, 'bounded');
    assert.equal(dedup.size, 2);
  });

  it('maps sensor topics with named wildcards to keys and reads JSON fields', () => {
    const mapper = new SensorMapper([
      { topic: 'home/+room/temperature', key: 'sensors.temperature.{room}', staleAfterS: 60 },
      { topic: 'zigbee2mqtt/#path', key: 'sensors.zigbee.{path}', field: 'battery' },
    ]);
    assert.deepEqual(mapper.patterns, ['home/+/temperature', 'zigbee2mqtt/#']);
    assert.deepEqual(mapper.staleness, { 'sensors.temperature': 60_000 });
    assert.deepEqual(mapper.map('home/kitchen/temperature', Buffer.from('21.5')), {
      ok: true,
      key: 'sensors.temperature.kitchen',
      value: 21.5,
    });
    assert.deepEqual(mapper.map('zigbee2mqtt/hall/door', Buffer.from('{"battery": 80}')), {
      ok: true,
      key: 'sensors.zigbee.hall.door',
      value: 80,
    });
    assert.equal(mapper.map('home/kitchen/temperature', Buffer.from('NaN'))?.ok, false);
    assert.equal(mapper.map('office/x', Buffer.from('1')), undefined);
  });

  it('maps a parse to the Rhasspy hermes/intent payload', () => {
    const payload = hermesIntent(
      {
        text: 'dim the kitchen light to 30 percent',
        intent: 'light.dim',
        topIntent: 'light.dim',
        confidence: 0.9,
        slots: [
          { name: 'room', text: 'kitchen', start: 8, end: 15, value: 'kitchen', type: 'room' },
          {
            name: 'level',
            text: '30 percent',
            start: 25,
            end: 35,
            value: { value: 30, unit: '%' },
            type: 'builtin.percentage',
          },
        ],
        alternatives: [],
        timing: { totalMs: 1 },
      },
      { siteId: 'default', sessionId: 's', id: 'q' },
    );
    assert.deepEqual(payload.intent, { intentName: 'light.dim', confidenceScore: 0.9 });
    assert.equal(payload.slots[0]?.entity, 'room');
    assert.deepEqual(payload.slots[0]?.value, { kind: 'Custom', value: 'kitchen' });
    assert.equal(payload.slots[1]?.value.value, 30);
    assert.deepEqual(payload.slots[1]?.range, { start: 25, end: 35 });
    assert.equal(payload.sessionId, 's');
  });

  it('summarises action statuses and formats results for the console', () => {
    const a = { device: 'robot', action: 'move', params: {} };
    assert.equal(statusOfActions([{ ...a, status: 'ok' }]), 'ok');
    assert.equal(
      statusOfActions([
        { ...a, status: 'refused' },
        { ...a, status: 'skipped' },
      ]),
      'rejected',
    );
    assert.equal(
      statusOfActions([
        { ...a, status: 'ok' },
        { ...a, status: 'cancelled' },
      ]),
      'error',
    );
    assert.equal(statusOfActions([{ ...a, status: 'dry_run' }]), 'ok');
    const line = formatResult({
      id: '1',
      text: 'go',
      status: 'ok',
      intent: 'robot.move',
      confidence: 0.91,
      slots: [],
      actions: [{ ...a, params: { distance_m: 2 }, status: 'ok' }],
      reply: 'Driving 2 m.',
      timing: { parseMs: 1, totalMs: 2 },
    });
    assert.equal(line, '[ok] Driving 2 m. (robot.move 91%)\n  robot.move {"distance_m":2} → ok\n');
  });

  it('throttles to one call per interval with a trailing call carrying the latest state', async () => {
    let calls = 0;
    const t = throttle(() => calls++, 50);
    for (let i = 0; i < 100; i++) t.trigger();
    assert.equal(calls, 1);
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(calls, 2, 'one trailing call for the whole burst');
    t.cancel();
  });

  it('keeps latency percentiles over a fixed window', () => {
    const w = new LatencyWindow(100);
    for (let i = 1; i <= 1000; i++) w.add(i % 100 === 0 ? 100 : i % 100);
    assert.deepEqual(w.summary(), { count: 1000, p50: 50, p90: 90, p99: 99 });
  });

  it('reads the systemd watchdog interval only when it is meant for this process', () => {
    assert.equal(new SystemdNotifier({}).enabled, false);
    assert.equal(new SystemdNotifier({ NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '2000000' }).watchdogMs, 2000);
    assert.equal(
      new SystemdNotifier({ NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '2000000', WATCHDOG_PID: '1' })
        .watchdogMs,
      undefined,
    );
  });

  it('has defaults for every agent setting and validates them', () => {
    const config = resolveConfig({ name: 't', text: '{}' });
    assert.equal(config.agent.maxPayloadBytes, 4096);
    assert.equal(config.agent.hermes.enabled, true);
    assert.deepEqual(config.sensors.subscriptions, []);
    assert.throws(
      () => resolveConfig({ name: 't.yaml', text: 'agent:\n  rateLimit:\n    perSecond: -1\n' }),
      /t\.yaml:3:5: agent\.rateLimit\.perSecond/,
    );
  });
});

describe('local console', () => {
  it('reads typed commands and prints the results', async () => {
    const { PassThrough } = await import('node:stream');
    const { startConsole } = await import('../../agent/ingress/console.ts');
    const input = new PassThrough();
    const output = new PassThrough();
    let printed = '';
    output.on('data', (d: Buffer) => {
      printed += d.toString();
    });
    const seen: { text: string; source: string }[] = [];
    const rl = startConsole(
      {
        command: async (cmd) => {
          seen.push(cmd);
          return {
            id: '1',
            text: cmd.text,
            status: 'not_understood',
            intent: null,
            confidence: 0.1,
            slots: [],
            actions: [],
            reply: 'Sorry.',
            timing: { parseMs: 0, totalMs: 0 },
          };
        },
      },
      input,
      output,
    );
    input.write('\n   \nhello robot\n');
    for (let i = 0; i < 50 && !printed.includes('Sorry.'); i++) await new Promise((r) => setTimeout(r, 10));
    rl.close();
    assert.deepEqual(seen, [{ text: 'hello robot', source: 'console' }], 'blank lines are not commands');
    assert.match(printed, /\[not_understood\] Sorry\.\n/);
  });
});
