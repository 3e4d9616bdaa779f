import type { BuiltinEntity } from './types.ts';
import { integerToWords, parseNumber, pick, type Rng, tokens } from './words.ts';

/** A time of day on the 24-hour clock. */
export interface TimeOfDay {
  hour: number;
  minute: number;
}

// Hand-written: chrono-node resolves to absolute dates relative to "now" and cannot generate phrases,
// while we need a pure time-of-day value and the matching sampler for training data.

function clock(hour: number, minute: number, meridiem?: string): TimeOfDay | undefined {
  if (!Number.isInteger(hour) || !Number.isInteger(minute) || minute < 0 || minute > 59) return undefined;
  if (meridiem) {
    if (hour < 1 || hour > 12) return undefined;
    const pm =
      meridiem === 'pm' || meridiem === 'evening' || meridiem === 'afternoon' || meridiem === 'night';
    const h = (hour % 12) + (pm ? 12 : 0);
    return { hour: meridiem === 'night' && hour === 12 ? 0 : h, minute };
  }
  if (hour < 0 || hour > 23) return undefined;
  return { hour, minute };
}

const MERIDIEM: Record<string, string> = {
  am: 'am',
  'a m': 'am',
  pm: 'pm',
  'p m': 'pm',
  'in the morning': 'am',
  'in the afternoon': 'afternoon',
  'in the evening': 'evening',
  'at night': 'night',
  tonight: 'evening',
};

export const timeEntity: BuiltinEntity<TimeOfDay> = {
  name: 'builtin.time',
  sample(rng: Rng): string {
    const r = rng();
    if (r < 0.12) return pick(rng, ['noon', 'midnight', 'midday']);
    const hour = 1 + Math.floor(rng() * 12);
    const minute = pick(rng, [0, 0, 0, 15, 30, 45, 10, 20]);
    const mer = pick(rng, ['am', 'pm', 'pm', 'in the morning', 'in the evening', '']);
    const suffix = mer ? ` ${mer}` : '';
    if (r < 0.3 && minute !== 0) {
      const word = integerToWords(hour);
      if (minute === 30) return `half past ${word}${suffix}`;
      if (minute === 15) return `quarter past ${word}${suffix}`;
      if (minute === 45) return `quarter to ${integerToWords((hour % 12) + 1)}${suffix}`;
    }
    if (r < 0.5)
      return minute === 0
        ? `${integerToWords(hour)} o'clock${suffix}`
        : `${integerToWords(hour)} ${integerToWords(minute)}${suffix}`;
    return minute === 0 && rng() < 0.5
      ? `${hour}${suffix}`
      : `${hour}:${String(minute).padStart(2, '0')}${suffix}`;
  },
  resolve(text: string): TimeOfDay | undefined {
    let t = tokens(text)
      .join(' ')
      .replace(/^at /, '')
      .replace(/\bo ?'? ?clock\b/, '')
      .trim();
    if (t === 'noon' || t === 'midday') return { hour: 12, minute: 0 };
    if (t === 'midnight') return { hour: 0, minute: 0 };
    let meridiem: string | undefined;
    for (const [phrase, m] of Object.entries(MERIDIEM)) {
      if (t.endsWith(` ${phrase}`) || (t.endsWith(phrase) && /\d$/.test(t.slice(0, -phrase.length)))) {
        meridiem = m;
        t = t.slice(0, -phrase.length).trim();
        break;
      }
    }
    const rel = /^(half|quarter|a quarter|(.+?)( minutes)?) (past|after|to|before) (.+)$/.exec(t);
    if (rel) {
      const minutes = rel[1] === 'half' ? 30 : rel[1]!.endsWith('quarter') ? 15 : parseNumber(rel[2] ?? '');
      const hour = parseNumber(rel[5]!);
      if (minutes === undefined || hour === undefined) return undefined;
      const before = rel[4] === 'to' || rel[4] === 'before';
      if (!before) return clock(hour, minutes, meridiem);
      const h = hour - 1 < (meridiem ? 1 : 0) ? (meridiem ? 12 : 23) : hour - 1;
      return clock(h, 60 - minutes, meridiem);
    }
    const colon = /^(\d{1,2})[:.](\d{2})$/.exec(t);
    if (colon) return clock(Number(colon[1]), Number(colon[2]), meridiem);
    const whole = parseNumber(t);
    if (whole !== undefined) {
      if (Number.isInteger(whole)) return clock(whole, 0, meridiem);
      return undefined;
    }
    // "eight thirty", "seven fifteen pm", "7 45"
    const parts = t.split(' ');
    for (let k = 1; k < parts.length; k++) {
      const h = parseNumber(parts.slice(0, k).join(' '));
      const m = parseNumber(parts.slice(k).join(' ').replace(/^oh /, ''));
      const oh = parts[k] === 'oh' ? 0 : undefined;
      if (h !== undefined && m !== undefined) return clock(h, oh === 0 ? m : m, meridiem);
    }
    return undefined;
  },
};
