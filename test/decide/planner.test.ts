import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitCompound } from '../../agent/decide/compound.ts';
import { decide } from '../../agent/decide/decide.ts';
import { loadSkills, parseSkills, SkillError } from '../../agent/decide/load-skills.ts';
import { NOT_UNDERSTOOD, planCommand } from '../../agent/decide/planner.ts';
import { defaultWorld, worldSchema } from '../../agent/decide/world.ts';
import type { ParseResult, Parser } from '../../agent/nlu/types.ts';
import { fromProjectRoot } from '../../agent/paths.ts';
import { StateStore } from '../../agent/state/store.ts';

const skills = loadSkills(fromProjectRoot('config/skills'));
const world = defaultWorld();

/** A hand-written parse: slots as [name, text] (value = text, resolved by the planner) or [name, text, value]. */
function parse(intent: string | null, ...slots: [string, string, unknown?][]): ParseResult {
  const text = slots.map((s) => s[1]).join(' ');
  return {
    text,
    intent,
    topIntent: intent,
    confidence: intent ? 0.99 : 0.2,
    slots: slots.map(([name, t, value]) => ({ name, text: t, start: 0, end: t.length, value: value ?? t })),
    alternatives: [],
    timing: { totalMs: 0 },
  };
}

const plan = (...parses: ParseResult[]) => planCommand(parses, { world, skills });

describe('planner: intent + slots → actions', () => {
  it('converts units and applies direction signs', () => {
    assert.deepEqual(
      plan(parse('robot.move', ['direction', 'forward', 'forward'], ['distance', 'two meters'])).actions,
      [{ device: 'robot', action: 'move', params: { distance_m: 2 } }],
    );
    assert.deepEqual(
      plan(parse('robot.move', ['direction', 'back', 'backward'], ['distance', '30 cm'])).actions,
      [{ device: 'robot', action: 'move', params: { distance_m: -0.3 } }],
    );
    assert.deepEqual(
      plan(parse('robot.turn', ['side', 'right', 'right'], ['angle', 'a quarter turn'])).actions,
      [{ device: 'robot', action: 'turn', params: { angle_deg: -90 } }],
    );
  });

  it('uses defaults when slots are missing', () => {
    assert.deepEqual(plan(parse('robot.turn', ['side', 'left', 'left'])).actions[0]!.params, {
      angle_deg: 90,
    });
    assert.deepEqual(plan(parse('robot.move', ['direction', 'back', 'backward'])).actions[0]!.params, {
      distance_m: -1,
    });
    assert.deepEqual(plan(parse('thermostat.cooler')).actions[0], {
      device: 'thermostat',
      action: 'adjust',
      params: { delta_c: -1 },
    });
  });

  it('turns a speed word into a fraction of the configured maximum, before the move', () => {
    const p = plan(
      parse('robot.move', ['direction', 'forward', 'forward'], ['distance', '2 m'], ['speed', 'slowly']),
    );
    assert.deepEqual(p.actions, [
      { device: 'robot', action: 'set_speed', params: { speed_mps: 0.125 } },
      { device: 'robot', action: 'move', params: { distance_m: 2 } },
    ]);
  });

  it('clamps out-of-range values under a clamp policy and says so', () => {
    const p = plan(parse('robot.move', ['direction', 'forward', 'forward'], ['distance', '10 meters']));
    assert.deepEqual(p.actions[0]!.params, { distance_m: 5 });
    assert.match(p.reply, /distance m limited to 5 \(asked 10\)/);
    assert.equal(p.refused, undefined);
  });

  it('refuses out-of-range values under a refuse policy, with the range in the reply', () => {
    const p = plan(parse('thermostat.set', ['temperature', '35 degrees']));
    assert.deepEqual(p.actions, []);
    assert.match(p.refused!.reason, /target c 35 is outside thermostat's range 10 to 30/);
  });

  it('always refuses non-finite values, whatever the policy', () => {
    const p = plan(
      parse(
        'robot.move',
        ['direction', 'forward', 'forward'],
        ['distance', 'lots', Number.POSITIVE_INFINITY],
      ),
    );
    assert.deepEqual(p.actions, []);
    assert.match(p.refused!.reason, /not a finite number/);
    const nan = plan(parse('robot.turn', ['angle', 'x', Number.NaN]));
    assert.match(nan.refused!.reason, /not a finite number/);
  });

  it('converts Fahrenheit and bare degrees in the configured unit', () => {
    assert.deepEqual(
      plan(parse('thermostat.set', ['temperature', '70 degrees fahrenheit'])).actions[0]!.params,
      {
        target_c: 21.11,
      },
    );
    const fahrenheitWorld = worldSchema.parse({ temperatureUnit: 'F' });
    const p = planCommand([parse('thermostat.set', ['temperature', '68 degrees'])], {
      world: fahrenheitWorld,
      skills,
    });
    assert.deepEqual(p.actions[0]!.params, { target_c: 20 });
    const delta = planCommand([parse('thermostat.warmer', ['temperature', '9 degrees'])], {
      world: fahrenheitWorld,
      skills,
    });
    assert.deepEqual(delta.actions[0]!.params, { delta_c: 5 });
  });

  it('picks lights by room, by name or synonym, or all of them', () => {
    assert.deepEqual(plan(parse('light.on', ['room', 'lounge', 'living_room'])).actions, [
      { device: 'light.living_room', action: 'on', params: {} },
    ]);
    assert.deepEqual(plan(parse('light.off', ['device', 'big light', 'big light'])).actions, [
      { device: 'light.living_room', action: 'off', params: {} },
    ]);
    assert.deepEqual(
      plan(parse('light.off')).actions.map((a) => a.device),
      ['light.living_room', 'light.kitchen', 'light.bedroom'],
    );
    assert.deepEqual(
      plan(parse('light.on', ['room', 'kitchen', 'kitchen'], ['room', 'bedroom', 'bedroom'])).actions.map(
        (a) => a.device,
      ),
      ['light.kitchen', 'light.bedroom'],
    );
    assert.match(
      plan(parse('light.on', ['device', 'disco ball'])).refused!.reason,
      /don't know a light called/,
    );
  });

  it('resolves colours to RGB and places by synonym', () => {
    assert.deepEqual(
      plan(parse('light.set_color', ['room', 'kitchen', 'kitchen'], ['color', 'red'])).actions,
      [{ device: 'light.kitchen', action: 'set', params: { color: { r: 255, g: 0, b: 0 } } }],
    );
    assert.deepEqual(plan(parse('robot.goto', ['place', 'the charger', 'the charger'])).actions[0]!.params, {
      place: 'dock',
    });
    assert.match(
      plan(parse('robot.goto', ['place', 'the moon', 'the moon'])).refused!.reason,
      /don't know where/,
    );
    assert.equal(plan(parse('robot.goto')).refused!.reason, 'Where to?');
  });

  it('refuses unknown intents and words that do not resolve', () => {
    assert.equal(plan(parse(null)).reply, NOT_UNDERSTOOD);
    assert.deepEqual(plan(parse(null)).actions, []);
    assert.match(plan(parse('robot.fly')).refused!.reason, /no skill/);
    assert.deepEqual(plan(parse('out_of_scope')), {
      actions: [],
      reply: NOT_UNDERSTOOD,
      refused: { reason: NOT_UNDERSTOOD, notUnderstood: true },
    });
    assert.match(
      plan(parse('robot.move', ['distance', 'a smidge'])).refused!.reason,
      /couldn't make sense of "a smidge"/,
    );
  });

  it('chains clauses in order and refuses the whole plan if one clause fails', () => {
    const ok = plan(
      parse('robot.move', ['distance', '2 meters']),
      parse('robot.turn', ['side', 'left', 'left']),
    );
    assert.deepEqual(
      ok.actions.map((a) => a.action),
      ['move', 'turn'],
    );
    assert.equal(ok.reply, 'Moving forward 2 m, then turning left 90 degrees.');
    const bad = plan(parse('robot.move', ['distance', '2 meters']), parse(null));
    assert.deepEqual(bad.actions, []);
    assert.ok(bad.refused);
  });

  it('answers state queries from the store with a short reply', () => {
    const state = new StateStore({ sensors: 60_000 }, () => 100_000);
    state.set('sensors.temperature.kitchen', 21.456, 99_000);
    state.set('robot.pose', { x: 1.234, y: -0.5, heading_deg: 90 }, 99_000);
    state.set('robot.battery_pct', 87, 99_000);
    state.set('light.bedroom.on', true, 99_000);
    state.set('sensors.temperature.bedroom', 18, 1_000);
    const ask = (p: ParseResult) => planCommand([p], { world, skills, state });
    assert.equal(
      ask(parse('query.temperature', ['room', 'kitchen', 'kitchen'])).reply,
      "It's 21.46 °C in the kitchen.",
    );
    assert.equal(ask(parse('query.position')).reply, "I'm at x 1.23 m, y -0.5 m, facing 90 degrees.");
    assert.equal(ask(parse('query.battery')).reply, 'Battery is at 87%.');
    assert.equal(ask(parse('query.light', ['room', 'bedroom', 'bedroom'])).reply, 'The bedroom light is on.');
    assert.match(ask(parse('query.temperature', ['room', 'bedroom', 'bedroom'])).reply, /18 °C.*old/);
    assert.equal(ask(parse('query.distance')).reply, 'I have no distance reading yet.');
    assert.deepEqual(ask(parse('query.battery')).actions, []);
  });
});

describe('compound commands', () => {
  it('splits on sequencing words and on "and" before a verb only', () => {
    assert.deepEqual(splitCompound('drive forward two meters then turn left'), [
      'drive forward two meters',
      'turn left',
    ]);
    assert.deepEqual(splitCompound('go forward, then turn right and then stop.'), [
      'go forward',
      'turn right',
      'stop',
    ]);
    assert.deepEqual(splitCompound('turn around and go back to the dock'), [
      'turn around',
      'go back to the dock',
    ]);
    assert.deepEqual(splitCompound('go forward a meter, turn right, then stop'), [
      'go forward a meter',
      'turn right',
      'stop',
    ]);
    assert.deepEqual(splitCompound('drive two and a half meters'), ['drive two and a half meters']);
    assert.deepEqual(splitCompound('turn on the kitchen and bedroom lights'), [
      'turn on the kitchen and bedroom lights',
    ]);
  });

  it('plans each clause with the parser, falling back to the whole sentence', async () => {
    // A keyword parser is enough to test the orchestration; the real model is exercised by bench:commands.
    const parser: Parser = {
      async parse(text: string): Promise<ParseResult> {
        if (/^okay stop$|^stop$/.test(text.replace(/,/g, ''))) return parse('robot.stop');
        if (text === 'turn left') return parse('robot.turn', ['side', 'left', 'left']);
        if (text === 'drive forward two meters') {
          return parse('robot.move', ['direction', 'forward', 'forward'], ['distance', 'two meters']);
        }
        return parse(null);
      },
    };
    const two = await decide(parser, 'drive forward two meters then turn left', { world, skills });
    assert.deepEqual(two.plan.actions, [
      { device: 'robot', action: 'move', params: { distance_m: 2 } },
      { device: 'robot', action: 'turn', params: { angle_deg: 90 } },
    ]);
    const whole = await decide(parser, 'okay, stop', { world, skills });
    assert.deepEqual(whole.plan.actions, [{ device: 'robot', action: 'stop', params: {} }]);
    const unknown = await decide(parser, 'sing me a song', { world, skills });
    assert.deepEqual(unknown.plan, {
      actions: [],
      reply: NOT_UNDERSTOOD,
      refused: { reason: NOT_UNDERSTOOD, notUnderstood: true },
    });
  });
});

describe('skill files', () => {
  it('report the file and line of a bad skill', () => {
    assert.throws(
      () => parseSkills('robot.move:\n  device: robot\n  actions:\n    - action: 3\n', 'bad.yaml'),
      (e: Error) => e instanceof SkillError && /bad\.yaml:4: robot\.move\.actions\.0\.action/.test(e.message),
    );
    assert.throws(
      () => parseSkills('x:\n  device: robot\n', 'empty.yaml'),
      /needs actions, a query or refuse/,
    );
  });

  it('every device and action the default skills name exists in the default world', () => {
    for (const [intent, skill] of Object.entries(skills)) {
      for (const step of skill.actions) {
        const ids =
          step.device !== undefined
            ? [step.device]
            : typeof skill.device === 'string'
              ? [skill.device]
              : Object.entries(world.devices)
                  .filter(([, d]) => typeof skill.device === 'object' && d.kind === skill.device.kind)
                  .map(([id]) => id);
        assert.ok(ids.length > 0, `${intent}: no device`);
        for (const id of ids)
          assert.ok(world.devices[id]?.actions.includes(step.action), `${intent}: ${id} ${step.action}`);
      }
    }
  });
});

describe('slot stand-ins', () => {
  it('takes a missing slot from the slots the skill names in `from`', () => {
    assert.deepEqual(plan(parse('robot.goto', ['room', 'kitchen', 'kitchen'])).actions, [
      { device: 'robot', action: 'goto', params: { place: 'kitchen' } },
    ]);
  });
});
