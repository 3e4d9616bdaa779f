import { tidy } from './quantity.ts';
import type { BuiltinEntity } from './types.ts';
import { parseNumber, pick, type Rng, sayNumber, tokens } from './words.ts';

const PERCENT_WORDS: Record<string, number> = {
  half: 50,
  'half way': 50,
  halfway: 50,
  full: 100,
  max: 100,
  maximum: 100,
  'full brightness': 100,
  'all the way': 100,
  'all the way up': 100,
  off: 0,
  minimum: 1,
  min: 1,
  'a quarter': 25,
  quarter: 25,
  'three quarters': 75,
  'a third': 33,
  low: 30,
  medium: 60,
  high: 100,
};

/** A percentage (0..100 expected, not enforced here: limits are the skill's job). */
export const percentageEntity: BuiltinEntity<number> = {
  name: 'builtin.percentage',
  sample(rng: Rng): string {
    const r = rng();
    if (r < 0.12)
      return pick(rng, ['half', 'full', 'a quarter', 'three quarters', 'max', 'maximum', 'halfway']);
    const n = pick(rng, [1, 5, 10, 15, 20, 25, 30, 33, 40, 45, 50, 60, 65, 70, 75, 80, 85, 90, 95, 100]);
    const unit = pick(rng, ['percent', 'percent', '%', 'per cent', 'pc', '']);
    if (unit === '%') return `${n}%`;
    const num = sayNumber(n, rng, 0.45);
    return unit ? `${num} ${unit}` : num;
  },
  resolve(text: string): number | undefined {
    const t = tokens(text)
      .join(' ')
      .replace(/ (brightness|power|speed)$/, '');
    if (PERCENT_WORDS[t] !== undefined) return PERCENT_WORDS[t];
    const m = /^(.+?)( (%|percent|per cent|pc|percentage|pct))?$/.exec(t);
    if (!m) return undefined;
    const n = parseNumber(m[1]!);
    if (n === undefined) return undefined;
    // "a quarter" without a unit means a share of the whole, "0.5" with no words a plain number.
    if (!m[2] && n > 0 && n < 1 && !/\d/.test(m[1]!)) return tidy(n * 100, 4);
    return tidy(n, 4);
  },
};

/** `unit` undefined = bare "degrees": the planner applies the configured unit. */
export interface Temperature {
  value: number;
  unit?: 'C' | 'F';
}

export function toCelsius(t: Temperature, defaultUnit: 'C' | 'F'): number {
  return (t.unit ?? defaultUnit) === 'F' ? tidy(((t.value - 32) * 5) / 9, 2) : t.value;
}

/** A temperature difference ("2 degrees warmer") in °C: no offset for Fahrenheit. */
export function deltaToCelsius(t: Temperature, defaultUnit: 'C' | 'F'): number {
  return (t.unit ?? defaultUnit) === 'F' ? tidy((t.value * 5) / 9, 2) : t.value;
}

const CELSIUS = new Set(['c', 'celsius', 'centigrade']);
const FAHRENHEIT = new Set(['f', 'fahrenheit', 'farenheit']);

export const temperatureEntity: BuiltinEntity<Temperature> = {
  name: 'builtin.temperature',
  sample(rng: Rng): string {
    const fahrenheit = rng() < 0.25;
    const n = fahrenheit
      ? pick(rng, [60, 62, 65, 68, 70, 72, 75, 78])
      : pick(rng, [16, 17, 18, 19, 20, 20.5, 21, 21.5, 22, 23, 24, 25, 1, 2, 3]);
    const num = sayNumber(n, rng, 0.5);
    const unit = fahrenheit
      ? pick(rng, ['degrees fahrenheit', 'fahrenheit', '°F', 'F', 'degrees f'])
      : pick(rng, [
          'degrees',
          'degrees',
          'degrees celsius',
          'celsius',
          '°C',
          '°',
          'C',
          'degrees c',
          'degrees centigrade',
          '',
        ]);
    if (unit.startsWith('°') || unit === 'C' || unit === 'F') return `${n}${unit}`;
    return unit ? `${num} ${unit}` : num;
  },
  resolve(text: string): Temperature | undefined {
    const t = tokens(text);
    let unit: Temperature['unit'];
    while (t.length > 0) {
      const last = t[t.length - 1]!;
      if (CELSIUS.has(last)) unit = 'C';
      else if (FAHRENHEIT.has(last)) unit = 'F';
      else if (!['degrees', 'degree', 'deg', '°'].includes(last)) break;
      t.pop();
    }
    const rest = t.join(' ');
    const value = rest === 'a' || rest === 'an' ? 1 : parseNumber(rest);
    if (value === undefined) return undefined;
    return unit ? { value, unit } : { value };
  },
};
