// Firmware-in-the-loop: the reference firmware runs in simavr behind a real pty; the serial driver talks
// to it through serialport. Motor outputs are observed on the simulated MCU's PWM compare registers.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { SerialPort } from 'serialport';
import { StateStore } from '../agent/state/store.ts';
import { SerialDriver } from '../drivers/serial/driver.ts';
import { LineSplitter } from '../drivers/serial/line-splitter.ts';
import { type AvrSim, buildFirmware, startAvrSim } from './helpers/avr-sim.ts';

const never = new AbortController().signal;
// Left motor PWM = OC0B ("0B"), right motor PWM = OC0A ("0A"), directions on D4 / D7, servo on OC1A.
const motorsOff = (sim: AvrSim) => !sim.value('0A') && !sim.value('0B');

describe('serial driver against the reference firmware in simavr', { timeout: 60_000 }, () => {
  let sim: AvrSim;
  let driver: SerialDriver;
  let state: StateStore;
  const events: Record<string, unknown>[] = [];

  before(async () => {
    sim = await startAvrSim({ firmware: buildFirmware().firmware, pins: 'D4,D7', pullups: 'D2' });
    driver = new SerialDriver({
      kind: 'serial',
      path: sim.path,
      telemetry: { a0: { key: 'sensors.front_distance_cm', scale: 0.1 } },
      gripper: { travelMs: 0 },
      // generous: these tests check behaviour, not speed, and the machine may be loaded
      requestTimeoutMs: 1000,
      staleAfterMs: 2500,
    });
    driver.on('event', (event) => {
      if (event.type !== 'telemetry') events.push(event);
    });
    state = new StateStore();
    await driver.open(state);
    assert.equal(driver.health().ok, true, driver.health().detail);
  });

  after(async () => {
    await driver?.close();
    await sim?.stop();
  });

  it('resets the firmware when the port is opened, like an Uno', async () => {
    const open = await sim.waitFor((e) => e.kind === 'host-open', 5000, 'host-open');
    await sim.waitFor((e) => e.kind === 'reset' && e.simUs >= open.simUs, 5000, 'reset after open');
    assert.match(driver.health().detail ?? '', /sling-fw 1/);
  });

  it('acknowledges commands and moves the servo and motors', async () => {
    const gripper = await driver.execute(
      { device: 'gripper', action: 'set', params: { angle_deg: 45 } },
      never,
    );
    assert.equal(gripper.status, 'ok', gripper.error);
    // 544 us + 45/180 of 1856 us, in 0.5 us timer ticks
    await sim.waitFor((e) => e.name === '1A' && e.value === 2016, 3000, 'servo compare value 2016');

    const started = performance.now();
    const drive = driver.execute(
      { device: 'robot', action: 'drive', params: { left: 0.5, right: -0.5, duration_s: 0.4 } },
      never,
    );
    await sim.waitFor((e) => e.name === '0B' && e.value === 128 && e.at > started, 3000, 'left PWM 128');
    await sim.waitFor(
      (e) => e.name === 'D7' && e.value === 1 && e.at > started,
      3000,
      'right motor reversed',
    );
    const outcome = await drive;
    assert.equal(outcome.status, 'ok', outcome.error);
    assert.ok(motorsOff(sim), 'motors stopped after the timed drive');
    assert.ok(Number(outcome.result?.duration_s) >= 0.4, `held for ${outcome.result?.duration_s} s`);
    // Simulated time falls behind the wall clock on a loaded machine, so only a loose lower bound here.
    const onFor = sim.events.filter((e) => e.at > started && e.name === '0B');
    const runUs = onFor.at(-1)!.simUs - onFor[0]!.simUs;
    assert.ok(runUs >= 200_000 && runUs < 2_000_000, `motor ran ${runUs} us of simulated time`);
  });

  it('maps device ERR replies and refuses bad parameters before sending them', async () => {
    assert.deepEqual(await driver.link.request('M', [300, 0]), {
      ok: false,
      code: 3,
      reason: 'out-of-range',
    });
    assert.deepEqual(await driver.link.request('FLY'), { ok: false, code: 1, reason: 'unknown-command' });
    const bad = await driver.execute(
      { device: 'robot', action: 'drive', params: { left: 2, right: 0, duration_s: 1 } },
      never,
    );
    assert.equal(bad.status, 'rejected');
    const nan = await driver.execute(
      { device: 'robot', action: 'move', params: { distance_m: Number.NaN } },
      never,
    );
    assert.equal(nan.status, 'rejected');
    assert.match(nan.error ?? '', /distance_m/);
    assert.ok(motorsOff(sim));
  });

  it('parses telemetry into the state store', async () => {
    sim.command('adc 0 1234');
    const deadline = Date.now() + 5000;
    let distance: unknown;
    while (Date.now() < deadline) {
      distance = state.get('sensors.front_distance_cm')?.value;
      if (typeof distance === 'number' && Math.abs(distance - 123.4) < 1) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(typeof distance === 'number' && Math.abs(distance - 123.4) < 1, `front distance ${distance}`);
    assert.equal(state.get('gripper.angle_deg')?.value, 45);
    assert.deepEqual(state.get('robot.motors')?.value, { left: 0, right: 0 });
  });

  it('cancels a running move on abort and stops the motors', async () => {
    const controller = new AbortController();
    const started = performance.now();
    const move = driver.execute(
      { device: 'robot', action: 'move', params: { distance_m: 5 } },
      controller.signal,
    );
    await sim.waitFor((e) => e.name === '0A' && (e.value ?? 0) > 0 && e.at > started, 3000, 'motors on');
    controller.abort();
    const outcome = await move;
    assert.equal(outcome.status, 'cancelled');
    await sim.waitFor((e) => e.name === '0A' && e.value === 0 && e.at > started, 3000, 'motors off');
  });

  it('latches the firmware e-stop until cleared, and clearing never restarts motion', async () => {
    assert.equal(
      (await driver.execute({ device: 'robot', action: 'estop', params: {} }, never)).status,
      'ok',
    );
    const refused = await driver.execute(
      { device: 'robot', action: 'drive', params: { left: 0.3, right: 0.3, duration_s: 1 } },
      never,
    );
    assert.equal(refused.status, 'rejected');
    assert.match(refused.error ?? '', /ERR 5/);
    assert.equal(
      (await driver.execute({ device: 'robot', action: 'reset_estop', params: {} }, never)).status,
      'ok',
    );
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(motorsOff(sim));
  });

  it("reports the robot's e-stop button as an e-stop; its latch releases only with the button up", async () => {
    const before = events.length;
    assert.equal((await driver.link.request('M', [90, 90])).ok, true);
    const on = await sim.waitFor((e) => e.name === '0A' && e.value === 90, 3000, 'motors on');
    sim.command('in D2 0'); // button to ground
    await sim.waitFor((e) => e.name === '0A' && e.value === 0 && e.simUs > on.simUs, 3000, 'motors off');
    const deadline = Date.now() + 3000;
    const isButton = (e: Record<string, unknown>) => e.type === 'estop' && e.source === 'robot:button';
    while (!events.slice(before).some(isButton) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    assert.ok(events.slice(before).some(isButton), `estop event in ${JSON.stringify(events.slice(before))}`);
    const drive = { device: 'robot', action: 'drive', params: { left: 0.2, right: 0.2, duration_s: 0.2 } };
    const held = await driver.execute(drive, never);
    assert.equal(held.status, 'rejected');
    assert.match(held.error ?? '', /button/);
    sim.command('in D2 1');
    await new Promise((r) => setTimeout(r, 100));
    const released = await driver.execute(drive, never);
    assert.equal(released.status, 'ok', released.error);
    assert.equal(events.slice(before).filter((e) => e.type === 'estop').length, 1, 'reported once');
  });

  it('firmware deadman stops the motors when the heartbeat stops (agent event loop stalled)', async () => {
    const reply = await driver.link.request('M', [120, 120]);
    assert.equal(reply.ok, true);
    const on = await sim.waitFor((e) => e.name === '0A' && e.value === 120, 3000, 'motors on');
    // Block this process: no heartbeat, no command reaches the firmware.
    const stallStart = performance.now();
    const stallUntil = Date.now() + 900;
    while (Date.now() < stallUntil) {
      // busy wait on purpose
    }
    const off = await sim.waitFor(
      (e) => e.name === '0A' && e.value === 0 && e.simUs > on.simUs,
      3000,
      'deadman',
    );
    // Heartbeats went on until the stall began, so the deadman fires 500 ms after the last one: no sooner
    // than 500 ms after the motors started, and no later than 500 ms after the stall began (simulated
    // time never runs ahead of the wall clock), plus a margin for the last heartbeat in flight.
    const afterUs = off.simUs - on.simUs;
    const latestUs = 500_000 + (stallStart - on.at) * 1000 + 100_000;
    // (495 ms: simavr rounds the 1 ms timer period, so 500 firmware milliseconds can be ~0.1 ms short)
    assert.ok(
      afterUs >= 495_000 && afterUs <= latestUs,
      `deadman fired ${afterUs} us after the motors started (latest ${latestUs})`,
    );
    const deadline = Date.now() + 3000;
    while (!events.some((e) => e.type === 'deadman') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    assert.ok(
      events.some((e) => e.type === 'deadman' && e.source === 'robot:firmware'),
      'deadman event reported',
    );
  });

  it('notices a firmware reset (HELLO) and carries on', async () => {
    const before = events.length;
    sim.command('reset');
    const deadline = Date.now() + 5000;
    while (!events.slice(before).some((e) => e.type === 'reset') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    assert.ok(
      events.slice(before).some((e) => e.type === 'reset'),
      `reset event in ${JSON.stringify(events.slice(before))} ${JSON.stringify(sim.events.slice(-5))}`,
    );
    const ping = await driver.link.request('PING');
    assert.equal(ping.ok, true);
  });

  it('times out a request the frozen device never answers, then recovers through the watchdog', async () => {
    sim.command('pause');
    const started = Date.now();
    await assert.rejects(
      driver.link.request('PING', [], { timeoutMs: 100, retries: 2 }),
      /no reply to .*PING/,
    );
    // three attempts of 100 ms (timers may fire a millisecond early against Date.now())
    assert.ok(Date.now() - started >= 297, 'three attempts of 100 ms');
    await once(driver.link, 'disconnected');
    assert.equal(driver.health().ok, false);
    sim.command('resume');
    assert.equal(await driver.link.waitConnected(10_000), true, driver.health().detail);
  });

  it('reconnects after the device is unplugged and plugged back in', async () => {
    const gone = once(driver.link, 'disconnected');
    await sim.kill();
    const [{ reason }] = await gone;
    assert.ok(reason, 'a reason is given');
    const down = await driver.execute({ device: 'gripper', action: 'open', params: {} }, never);
    assert.equal(down.status, 'error');
    assert.match(down.error ?? '', /not connected/);
    const replugged = performance.now();
    await sim.restart();
    assert.equal(await driver.link.waitConnected(10_000), true, driver.health().detail);
    const reconnectMs = performance.now() - replugged;
    assert.ok(reconnectMs < 10_000);
    const open = await driver.execute({ device: 'gripper', action: 'open', params: {} }, never);
    assert.equal(open.status, 'ok', open.error);
    assert.equal(state.get('robot.connected')?.value, true);
  });
});

describe('reference firmware protocol details, on a raw serial port', { timeout: 30_000 }, () => {
  let sim: AvrSim;
  let port: SerialPort;
  const lines: string[] = [];

  const send = async (line: string, expect: RegExp): Promise<string> => {
    const start = lines.length;
    port.write(`${line}\n`);
    const deadline = Date.now() + 5000;
    for (;;) {
      const found = lines.slice(start).find((l) => expect.test(l));
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(`no line matching ${expect} after "${line}": ${lines.slice(start).join(' | ')}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  before(async () => {
    sim = await startAvrSim({ firmware: buildFirmware().firmware, pins: 'D4,D7', pullups: 'D2' });
    port = new SerialPort({ path: sim.path, baudRate: 115200 });
    const splitter = new LineSplitter(256);
    port.pipe(splitter);
    splitter.on('data', (line: string) => lines.push(line));
    await once(port, 'open');
    const deadline = Date.now() + 5000;
    while (!lines.some((l) => l.startsWith('HELLO')) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    assert.ok(
      lines.some((l) => l === 'HELLO sling-fw 1'),
      `banner after the open: ${lines.join(' | ')}`,
    );
  });

  after(async () => {
    if (port?.isOpen) await new Promise((r) => port.close(r));
    await sim?.stop();
  });

  it('answers a repeated sequence number without acting twice', async () => {
    assert.equal(await send('7 M 100 100', /^7 /), '7 OK');
    await sim.waitFor((e) => e.name === '0A' && e.value === 100, 3000, 'motors at 100');
    assert.equal(await send('7 M 200 200', /^7 /), '7 OK', 'the stored reply');
    await send('8 HB', /^8 /);
    assert.equal(sim.value('0A'), 100, 'the repeat was not executed');
    assert.equal(await send('9 STOP', /^9 /), '9 OK');
  });

  it('rejects malformed and overlong requests with a reason', async () => {
    assert.equal(await send('10 M 1', /^10 /), '10 ERR 2 bad-args');
    assert.equal(await send('11 SERVO 181', /^11 /), '11 ERR 3 out-of-range');
    assert.equal(await send('12 TELEM 5', /^12 /), '12 ERR 3 out-of-range');
    assert.equal(await send('M 100 100', /^E /), 'E bad-request');
    assert.equal(await send(`13 PING ${'x'.repeat(80)}`, /^E /), 'E line-too-long');
    assert.equal(await send('14 PING', /^14 /), '14 OK sling-fw 1', 'still in sync after the long line');
  });

  it('stops telemetry on TELEM 0', async () => {
    assert.equal(await send('15 TELEM 0', /^15 /), '15 OK');
    await new Promise((r) => setTimeout(r, 150));
    const start = lines.length;
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(lines.slice(start).filter((l) => l.startsWith('T ')).length, 0);
    assert.equal(await send('16 TELEM 50', /^16 /), '16 OK');
    const restart = lines.length;
    await send('17 HB', /^17 /);
    await new Promise((r) => setTimeout(r, 400));
    assert.ok(lines.slice(restart).filter((l) => l.startsWith('T ')).length >= 3);
  });
});
