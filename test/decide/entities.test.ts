import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { builtinEntity, builtinNames } from '../../agent/decide/entities/registry.ts';

/** [entity, phrase, expected value] — undefined means "not this entity". */
const TABLE: [string, string, unknown][] = [
  // numbers
  ['number', '0', 0],
  ['number', '42', 42],
  ['number', '1.5', 1.5],
  ['number', '.5', 0.5],
  ['number', '-3', -3],
  ['number', 'minus 3', -3],
  ['number', 'negative two', -2],
  ['number', '1,000', 1000],
  ['number', 'zero', 0],
  ['number', 'seven', 7],
  ['number', 'thirteen', 13],
  ['number', 'twenty', 20],
  ['number', 'twenty-one', 21],
  ['number', 'twenty one', 21],
  ['number', 'ninety nine', 99],
  ['number', 'a hundred', 100],
  ['number', 'one hundred', 100],
  ['number', 'a hundred and twenty', 120],
  ['number', 'two hundred fifty', 250],
  ['number', 'three thousand', 3000],
  ['number', 'two thousand five hundred', 2500],
  ['number', 'one thousand and one', 1001],
  ['number', 'two and a half', 2.5],
  ['number', 'one and a quarter', 1.25],
  ['number', 'three and three quarters', 3.75],
  ['number', 'half', 0.5],
  ['number', 'a half', 0.5],
  ['number', 'a quarter', 0.25],
  ['number', 'three quarters', 0.75],
  ['number', 'two thirds', 2 / 3],
  ['number', '1/2', 0.5],
  ['number', 'a dozen', 12],
  ['number', 'half a dozen', 6],
  ['number', 'two dozen', 24],
  ['number', 'a couple', 2],
  ['number', 'one point five', 1.5],
  ['number', 'zero point two five', 0.25],
  ['number', 'banana', undefined],
  ['number', 'two bananas', undefined],
  ['number', '', undefined],
  // ordinals
  ['ordinal', 'first', 1],
  ['ordinal', 'third', 3],
  ['ordinal', '2nd', 2],
  ['ordinal', '21st', 21],
  ['ordinal', 'twenty first', 21],
  ['ordinal', 'the fifth', 5],
  ['ordinal', 'tenth', 10],
  ['ordinal', 'last', -1],
  ['ordinal', 'five', undefined],
  // distances → meters
  ['distance', '2 meters', 2],
  ['distance', 'two meters', 2],
  ['distance', '2m', 2],
  ['distance', '2 m', 2],
  ['distance', '1.5 metres', 1.5],
  ['distance', 'one metre', 1],
  ['distance', 'a meter', 1],
  ['distance', 'half a meter', 0.5],
  ['distance', 'half a metre', 0.5],
  ['distance', 'a meter and a half', 1.5],
  ['distance', 'two and a half meters', 2.5],
  ['distance', '30 cm', 0.3],
  ['distance', 'thirty centimeters', 0.3],
  ['distance', '30cm', 0.3],
  ['distance', '250 mm', 0.25],
  ['distance', 'five hundred millimetres', 0.5],
  ['distance', '1 km', 1000],
  ['distance', '3 feet', 0.9144],
  ['distance', 'a foot', 0.3048],
  ['distance', 'one foot', 0.3048],
  ['distance', '6 inches', 0.1524],
  ['distance', 'twelve inches', 0.3048],
  ['distance', '5 feet 6 inches', 1.6764],
  ['distance', 'a yard', 0.9144],
  ['distance', '2 yards', 1.8288],
  ['distance', 'about 2 meters', 2],
  ['distance', 'three steps', 1.5],
  ['distance', '2', 2],
  ['distance', 'two', 2],
  ['distance', 'a bit', undefined],
  ['distance', 'meters', undefined],
  ['distance', '2 parsecs', undefined],
  // angles → degrees
  ['angle', '90 degrees', 90],
  ['angle', 'ninety degrees', 90],
  ['angle', '45°', 45],
  ['angle', '45 deg', 45],
  ['angle', '180', 180],
  ['angle', 'a hundred and eighty degrees', 180],
  ['angle', 'one radian', 57.2958],
  ['angle', '3.14159 radians', 179.9998],
  ['angle', 'a quarter turn', 90],
  ['angle', 'quarter turn', 90],
  ['angle', 'half a turn', 180],
  ['angle', 'a half turn', 180],
  ['angle', 'a full turn', 360],
  ['angle', 'all the way around', 360],
  ['angle', 'a full circle', 360],
  ['angle', 'three quarters of a turn', 270],
  ['angle', 'two full turns', 720],
  ['angle', 'around', 180],
  ['angle', 'a bit', 15],
  ['angle', 'slightly', 15],
  ['angle', 'minus 30 degrees', -30],
  ['angle', 'purple', undefined],
  // durations → seconds
  ['duration', '5 seconds', 5],
  ['duration', 'five seconds', 5],
  ['duration', '5s', 5],
  ['duration', '10 sec', 10],
  ['duration', 'a second', 1],
  ['duration', 'two minutes', 120],
  ['duration', 'a minute and a half', 90],
  ['duration', 'an hour', 3600],
  ['duration', 'half an hour', 1800],
  ['duration', 'an hour and a half', 5400],
  ['duration', '1.5 hours', 5400],
  ['duration', '500 ms', 0.5],
  ['duration', 'a couple of seconds', 2],
  ['duration', 'a quarter of an hour', 900],
  ['duration', '2 hours 30 minutes', 9000],
  ['duration', 'a while', undefined],
  // speeds → m/s or fraction of max
  ['speed', '0.3 meters per second', { mps: 0.3 }],
  ['speed', '0.3 m/s', { mps: 0.3 }],
  ['speed', 'half a meter per second', { mps: 0.5 }],
  ['speed', 'one meter per second', { mps: 1 }],
  ['speed', '20 cm/s', { mps: 0.2 }],
  ['speed', 'twenty centimeters per second', { mps: 0.2 }],
  ['speed', '3.6 km/h', { mps: 1 }],
  ['speed', '1 mile per hour', { mps: 0.44704 }],
  ['speed', 'slowly', { fraction: 0.25 }],
  ['speed', 'very slowly', { fraction: 0.1 }],
  ['speed', 'slow', { fraction: 0.25 }],
  ['speed', 'at full speed', { fraction: 1 }],
  ['speed', 'full speed', { fraction: 1 }],
  ['speed', 'top speed', { fraction: 1 }],
  ['speed', 'as fast as you can', { fraction: 1 }],
  ['speed', 'half speed', { fraction: 0.5 }],
  ['speed', 'fast', { fraction: 0.75 }],
  ['speed', '50 percent', { fraction: 0.5 }],
  ['speed', '50%', { fraction: 0.5 }],
  ['speed', 'fifty percent speed', { fraction: 0.5 }],
  ['speed', 'normal speed', { fraction: 0.5 }],
  ['speed', '0.2', { mps: 0.2 }],
  ['speed', 'purple', undefined],
  // percentages
  ['percentage', '30 percent', 30],
  ['percentage', '30%', 30],
  ['percentage', 'thirty percent', 30],
  ['percentage', 'thirty per cent', 30],
  ['percentage', '30', 30],
  ['percentage', 'seventy five', 75],
  ['percentage', 'half', 50],
  ['percentage', 'a quarter', 25],
  ['percentage', 'three quarters', 75],
  ['percentage', 'full', 100],
  ['percentage', 'max', 100],
  ['percentage', 'a hundred percent', 100],
  ['percentage', '12.5%', 12.5],
  ['percentage', 'lots', undefined],
  // temperatures: unit kept, conversion in the planner (bare "degrees" = configured unit)
  ['temperature', '21 degrees', { value: 21 }],
  ['temperature', 'twenty one degrees', { value: 21 }],
  ['temperature', '21', { value: 21 }],
  ['temperature', '21°C', { value: 21, unit: 'C' }],
  ['temperature', '21 °C', { value: 21, unit: 'C' }],
  ['temperature', '21C', { value: 21, unit: 'C' }],
  ['temperature', 'twenty degrees celsius', { value: 20, unit: 'C' }],
  ['temperature', '20 degrees centigrade', { value: 20, unit: 'C' }],
  ['temperature', '70 degrees fahrenheit', { value: 70, unit: 'F' }],
  ['temperature', 'seventy two fahrenheit', { value: 72, unit: 'F' }],
  ['temperature', '68°F', { value: 68, unit: 'F' }],
  ['temperature', '68 F', { value: 68, unit: 'F' }],
  ['temperature', 'twenty and a half degrees', { value: 20.5 }],
  ['temperature', 'two degrees', { value: 2 }],
  ['temperature', 'minus five degrees', { value: -5 }],
  ['temperature', 'warm', undefined],
  // colours → RGB
  ['colour', 'red', { r: 255, g: 0, b: 0 }],
  ['colour', 'Blue', { r: 0, g: 0, b: 255 }],
  ['colour', 'light blue', { r: 173, g: 216, b: 230 }],
  ['colour', 'sky blue', { r: 135, g: 206, b: 235 }],
  ['colour', 'dark green', { r: 0, g: 100, b: 0 }],
  ['colour', 'warm white', { r: 255, g: 180, b: 107 }],
  ['colour', 'grey', { r: 128, g: 128, b: 128 }],
  ['colour', 'gray', { r: 128, g: 128, b: 128 }],
  ['colour', 'purple', { r: 128, g: 0, b: 128 }],
  ['colour', 'the colour orange', { r: 255, g: 165, b: 0 }],
  ['color', 'green', { r: 0, g: 128, b: 0 }],
  ['colour', 'loud', undefined],
  // times of day → 24 h
  ['time', '7 pm', { hour: 19, minute: 0 }],
  ['time', '7pm', { hour: 19, minute: 0 }],
  ['time', '7:30', { hour: 7, minute: 30 }],
  ['time', '19:45', { hour: 19, minute: 45 }],
  ['time', '7:30 am', { hour: 7, minute: 30 }],
  ['time', '12 am', { hour: 0, minute: 0 }],
  ['time', '12 pm', { hour: 12, minute: 0 }],
  ['time', 'noon', { hour: 12, minute: 0 }],
  ['time', 'midnight', { hour: 0, minute: 0 }],
  ['time', "seven o'clock", { hour: 7, minute: 0 }],
  ['time', 'half past seven', { hour: 7, minute: 30 }],
  ['time', 'quarter past six in the evening', { hour: 18, minute: 15 }],
  ['time', 'quarter to eight', { hour: 7, minute: 45 }],
  ['time', 'ten to six pm', { hour: 17, minute: 50 }],
  ['time', 'twenty minutes past nine', { hour: 9, minute: 20 }],
  ['time', 'eight thirty', { hour: 8, minute: 30 }],
  ['time', 'eight thirty pm', { hour: 20, minute: 30 }],
  ['time', 'six in the morning', { hour: 6, minute: 0 }],
  ['time', 'at 6', { hour: 6, minute: 0 }],
  ['time', '25:00', undefined],
  ['time', 'soonish', undefined],
];

const close = (a: unknown, b: unknown): boolean => {
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b) < 1e-3;
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return (
      ka.join() === kb.join() &&
      ka.every((k) => close((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
    );
  }
  return a === b;
};

describe('builtin entities resolve', () => {
  it(`resolves a table of ${TABLE.length} phrasings`, () => {
    const failures: string[] = [];
    for (const [name, phrase, expected] of TABLE) {
      const entity = builtinEntity(`builtin.${name}`);
      assert.ok(entity, `builtin.${name} is registered`);
      const got = entity.resolve(phrase);
      if (!close(got, expected)) {
        failures.push(`${name} "${phrase}": got ${JSON.stringify(got)}, want ${JSON.stringify(expected)}`);
      }
    }
    assert.deepEqual(failures, []);
  });

  it('every sample resolves to a finite value (2,000 per entity, seeded)', () => {
    let seed = 12345;
    const rng = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (const name of builtinNames()) {
      const entity = builtinEntity(name)!;
      const distinct = new Set<string>();
      for (let i = 0; i < 2000; i++) {
        const phrase = entity.sample(rng);
        distinct.add(phrase);
        const value = entity.resolve(phrase);
        assert.notEqual(value, undefined, `${name} sample "${phrase}" does not resolve`);
        // the voice grammar lets a speaker say the leads; the value must not change
        for (const lead of entity.leads ?? [])
          assert.deepEqual(entity.resolve(`${lead} ${phrase}`), value, `${name} "${lead} ${phrase}"`);
        const numbers = typeof value === 'number' ? [value] : Object.values(value as object);
        assert.ok(
          numbers.every((n) => typeof n !== 'number' || Number.isFinite(n)),
          `${name} "${phrase}" → ${JSON.stringify(value)}`,
        );
      }
      assert.ok(distinct.size >= 15, `${name} samples are varied (${distinct.size} distinct)`);
    }
  });

  it('covers every entity the issue names', () => {
    for (const name of [
      'number',
      'ordinal',
      'distance',
      'angle',
      'duration',
      'speed',
      'percentage',
      'temperature',
      'colour',
      'time',
    ]) {
      assert.ok(builtinNames().includes(`builtin.${name}`), name);
    }
  });
});
