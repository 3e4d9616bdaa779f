import { parseQuantity, plural, tidy, type UnitTable } from './quantity.ts';
import type { BuiltinEntity } from './types.ts';
import { parseNumber, pick, type Rng, sayNumber, tokens } from './words.ts';

// Conversion factors are exact definitions (1 in = 0.0254 m), so no conversion library is needed; what a
// library would not give us is the spoken unit vocabulary below, which is the actual work.

const METERS: UnitTable = {
  mm: 0.001,
  millimeter: 0.001,
  millimeters: 0.001,
  millimetre: 0.001,
  millimetres: 0.001,
  cm: 0.01,
  centimeter: 0.01,
  centimeters: 0.01,
  centimetre: 0.01,
  centimetres: 0.01,
  m: 1,
  meter: 1,
  meters: 1,
  metre: 1,
  metres: 1,
  km: 1000,
  kilometer: 1000,
  kilometers: 1000,
  kilometre: 1000,
  kilometres: 1000,
  in: 0.0254,
  inch: 0.0254,
  inches: 0.0254,
  ft: 0.3048,
  foot: 0.3048,
  feet: 0.3048,
  yd: 0.9144,
  yard: 0.9144,
  yards: 0.9144,
  step: 0.5,
  steps: 0.5,
};

export const distanceEntity: BuiltinEntity<number> = {
  name: 'builtin.distance',
  sample(rng: Rng): string {
    const r = rng();
    if (r < 0.1)
      return pick(rng, ['half a meter', 'a meter', 'a metre and a half', 'a foot', 'a yard', 'half a metre']);
    const [unit, values] = pick(rng, [
      ['meter', [0.5, 1, 1, 1.5, 2, 2, 2.5, 3, 4, 5, 10]],
      ['metre', [1, 2, 3, 0.5]],
      ['m', [0.2, 0.5, 1, 1.2, 2, 3]],
      ['centimeter', [5, 10, 20, 25, 30, 50, 75]],
      ['cm', [10, 15, 30, 40, 50]],
      ['millimeter', [100, 250, 500]],
      ['foot', [1, 2, 3, 5, 6, 10]],
      ['inch', [6, 10, 12, 18]],
      ['yard', [1, 2, 3]],
      ['step', [1, 2, 3, 5]],
    ] as [string, number[]][]);
    const n = pick(rng, values);
    const abbreviated = unit.length <= 2;
    const number = abbreviated ? String(n) : sayNumber(n, rng, 0.55);
    const word = abbreviated ? unit : plural(unit, n);
    return abbreviated && rng() < 0.4 ? `${number}${word}` : `${number} ${word}`;
  },
  resolve(text: string): number | undefined {
    const m = parseQuantity(text, METERS, 1);
    return m === undefined ? undefined : tidy(m);
  },
};

const DEGREES: UnitTable = {
  degree: 1,
  degrees: 1,
  deg: 1,
  '°': 1,
  radian: 180 / Math.PI,
  radians: 180 / Math.PI,
  rad: 180 / Math.PI,
  turn: 360,
  turns: 360,
  revolution: 360,
  revolutions: 360,
  rotation: 360,
  rotations: 360,
  circle: 360,
  spin: 360,
};

const ANGLE_PHRASES: Record<string, number> = {
  'all the way around': 360,
  'all the way round': 360,
  'full circle': 360,
  'a full circle': 360,
  'right around': 360,
  around: 180,
  round: 180,
  'about face': 180,
  'u turn': 180,
  'a u turn': 180,
  'quarter turn': 90,
  'half turn': 180,
  'a bit': 15,
  'a little': 15,
  'a little bit': 15,
  slightly: 15,
};

export const angleEntity: BuiltinEntity<number> = {
  name: 'builtin.angle',
  sample(rng: Rng): string {
    const r = rng();
    if (r < 0.25) {
      return pick(rng, [
        'a quarter turn',
        'half a turn',
        'a half turn',
        'all the way around',
        'a full turn',
        'a full circle',
        'three quarters of a turn',
        'around',
        'a bit',
        'a little',
        'slightly',
        'one full rotation',
      ]);
    }
    if (r < 0.32)
      return `${pick(rng, ['1.57', '0.5', '3.14', 'one', 'two'])} ${pick(rng, ['radians', 'rad'])}`;
    const n = pick(rng, [5, 10, 15, 20, 30, 45, 45, 60, 90, 90, 90, 120, 135, 180, 180, 270, 360]);
    const number = sayNumber(n, rng, 0.5);
    const unit = pick(rng, ['degrees', 'degrees', 'degrees', 'deg', '°', '']);
    if (unit === '°') return `${n}°`;
    return unit ? `${number} ${unit}` : number;
  },
  resolve(text: string): number | undefined {
    const t = tokens(text).join(' ');
    const phrase = ANGLE_PHRASES[t.replace(/^(about|around|roughly|just) (?=a )/, '')];
    if (phrase !== undefined) return phrase;
    const ofTurn = /^(.+?) of a (turn|circle|rotation|revolution)$/.exec(t);
    if (ofTurn) {
      const share = parseNumber(ofTurn[1]!);
      return share === undefined ? undefined : tidy(share * 360, 4);
    }
    const deg = parseQuantity(t, DEGREES, 1);
    return deg === undefined ? undefined : tidy(deg, 4);
  },
};

const SECONDS: UnitTable = {
  ms: 0.001,
  millisecond: 0.001,
  milliseconds: 0.001,
  s: 1,
  sec: 1,
  secs: 1,
  second: 1,
  seconds: 1,
  min: 60,
  mins: 60,
  minute: 60,
  minutes: 60,
  h: 3600,
  hr: 3600,
  hrs: 3600,
  hour: 3600,
  hours: 3600,
};

export const durationEntity: BuiltinEntity<number> = {
  name: 'builtin.duration',
  sample(rng: Rng): string {
    const r = rng();
    if (r < 0.15) {
      return pick(rng, [
        'half an hour',
        'a minute',
        'a second',
        'an hour and a half',
        'a minute and a half',
        'a couple of seconds',
        'a few seconds',
        'a moment',
        'a quarter of an hour',
      ]);
    }
    const [unit, values] = pick(rng, [
      ['second', [1, 2, 3, 5, 10, 15, 20, 30, 45, 90]],
      ['minute', [1, 2, 5, 10, 15, 20, 30]],
      ['hour', [1, 2, 3, 1.5]],
      ['s', [2, 5, 10, 30]],
      ['min', [5, 10, 15]],
      ['ms', [200, 500]],
    ] as [string, number[]][]);
    const n = pick(rng, values);
    const short = unit.length <= 3;
    return short ? `${n}${rng() < 0.5 ? ' ' : ''}${unit}` : `${sayNumber(n, rng, 0.5)} ${plural(unit, n)}`;
  },
  resolve(text: string): number | undefined {
    const t = tokens(text).join(' ');
    const fixed: Record<string, number> = {
      'a few seconds': 3,
      'a moment': 2,
      'a sec': 1,
      'a quarter of an hour': 900,
      'quarter of an hour': 900,
      'a quarter hour': 900,
      'half an hour': 1800,
      'a half hour': 1800,
    };
    if (fixed[t] !== undefined) return fixed[t];
    const s = parseQuantity(t, SECONDS, 1);
    return s === undefined ? undefined : tidy(s);
  },
};

/** A speed either absolute (m/s) or relative to the device's configured maximum. */
export type Speed = { mps: number } | { fraction: number };

const MPS: UnitTable = {
  'm/s': 1,
  'm s': 1,
  mps: 1,
  'meters per second': 1,
  'meter per second': 1,
  'metres per second': 1,
  'metre per second': 1,
  'meters a second': 1,
  'metres a second': 1,
  'cm/s': 0.01,
  'cm per second': 0.01,
  'centimeters per second': 0.01,
  'centimetres per second': 0.01,
  'centimeters a second': 0.01,
  'km/h': 1 / 3.6,
  kph: 1 / 3.6,
  'km per hour': 1 / 3.6,
  'kilometers per hour': 1 / 3.6,
  'kilometres per hour': 1 / 3.6,
  'kilometers an hour': 1 / 3.6,
  'kilometres an hour': 1 / 3.6,
  mph: 0.44704,
  'miles per hour': 0.44704,
  'miles an hour': 0.44704,
  'mile per hour': 0.44704,
  'mile an hour': 0.44704,
  'feet per second': 0.3048,
  'ft/s': 0.3048,
};

// "one kilometer per hour": every plural unit also in the singular.
for (const [phrase, factor] of Object.entries(MPS)) {
  MPS[phrase.replace(/^(\w+?)s /, '$1 ').replace(/^feet /, 'foot ')] = factor;
}

const SPEED_WORDS: Record<string, number> = {
  'very slowly': 0.1,
  'very slow': 0.1,
  'really slowly': 0.1,
  'really slow': 0.1,
  'a crawl': 0.1,
  crawl: 0.1,
  slowly: 0.25,
  slow: 0.25,
  'nice and slow': 0.25,
  'nice and slowly': 0.25,
  gently: 0.25,
  carefully: 0.25,
  'a bit slower': 0.25,
  medium: 0.5,
  'medium speed': 0.5,
  'normal speed': 0.5,
  normal: 0.5,
  'half speed': 0.5,
  'moderate speed': 0.5,
  'quarter speed': 0.25,
  fast: 0.75,
  quickly: 0.75,
  quick: 0.75,
  'fast speed': 0.75,
  'very fast': 1,
  'full speed': 1,
  'top speed': 1,
  'max speed': 1,
  'maximum speed': 1,
  max: 1,
  maximum: 1,
  'flat out': 1,
  'as fast as you can': 1,
  'as fast as possible': 1,
  'full throttle': 1,
  'minimum speed': 0.05,
  'min speed': 0.05,
  'as slow as possible': 0.05,
  'as slowly as possible': 0.05,
  'as slow as you can': 0.05,
};

export const speedEntity: BuiltinEntity<Speed> = {
  name: 'builtin.speed',
  leads: ['at'], // "with full speed" is read too, but rarely said: not worth a rival in the voice grammar
  sample(rng: Rng): string {
    const r = rng();
    if (r < 0.4) return pick(rng, Object.keys(SPEED_WORDS));
    if (r < 0.6) {
      const pct = pick(rng, [10, 20, 25, 30, 40, 50, 60, 75, 80, 100]);
      return `${sayNumber(pct, rng, 0.4)} ${pick(rng, ['percent', '%', 'percent speed', 'percent of max', 'percent power'])}`.replace(
        ' %',
        rng() < 0.5 ? '%' : ' %',
      );
    }
    const [unit, values] = pick(rng, [
      ['meters per second', [0.1, 0.2, 0.25, 0.3, 0.5, 1, 1.5]],
      ['m/s', [0.1, 0.2, 0.3, 0.4, 0.5, 0.8]],
      ['centimeters per second', [5, 10, 20, 30, 50]],
      ['cm/s', [10, 20, 25]],
      ['km/h', [1, 2, 3, 5]],
      ['kilometers per hour', [1, 2, 4]],
      ['miles per hour', [1, 2]],
    ] as [string, number[]][]);
    const n = pick(rng, values);
    const singular = unit
      .replace('meters', 'meter')
      .replace('miles', 'mile')
      .replace('kilometers', 'kilometer');
    // "half a meter per second", never "a half meters per second"
    if (n === 0.5 && !unit.includes('/') && rng() < 0.5) return `half a ${singular}`;
    const number = unit.includes('/') || n < 1 ? String(n) : sayNumber(n, rng, 0.4);
    return `${number} ${n === 1 ? singular : unit}`;
  },
  resolve(text: string): Speed | undefined {
    let t = tokens(text).join(' ');
    t = t.replace(/^(at|with) /, '').replace(/^(a|the) (?=(speed|pace) of )/, '');
    t = t.replace(/^(speed|pace) of /, '');
    if (SPEED_WORDS[t] !== undefined) return { fraction: SPEED_WORDS[t]! };
    const pct =
      /^(.+?) (%|percent|per cent|pc)( (speed|power|of max|of maximum|of full speed|of top speed|throttle))?$/.exec(
        t,
      );
    if (pct) {
      const n = parseNumber(pct[1]!);
      return n === undefined ? undefined : { fraction: tidy(n / 100) };
    }
    const unit = /^(.+?) (speed|pace)$/.exec(t);
    if (unit) {
      const n = parseNumber(unit[1]!);
      if (n !== undefined && n <= 1) return { fraction: n };
    }
    const mps = parseQuantity(t, { ...MPS, 'meters a sec': 1 }, 1);
    return mps === undefined ? undefined : { mps: tidy(mps) };
  },
};
