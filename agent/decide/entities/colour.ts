import cssColours from 'color-name';
import type { BuiltinEntity } from './types.ts';
import { pick, type Rng, tokens } from './words.ts';

export interface Rgb {
  r: number;
  g: number;
  b: number;
}

// Lighting names CSS does not have; CSS keywords (color-name) cover the rest.
const LIGHTING: Record<string, [number, number, number]> = {
  warmwhite: [255, 180, 107],
  softwhite: [255, 197, 143],
  coolwhite: [212, 235, 255],
  daylight: [255, 250, 244],
  candlelight: [255, 147, 41],
  amber: [255, 191, 0],
  warm: [255, 180, 107],
  cool: [212, 235, 255],
  natural: [255, 250, 244],
  grey: [128, 128, 128],
  lightgrey: [211, 211, 211],
  darkgrey: [169, 169, 169],
};

/** Names people say to lights; each is resolvable. */
const SPOKEN = [
  'red',
  'green',
  'blue',
  'yellow',
  'orange',
  'purple',
  'pink',
  'white',
  'warm white',
  'cool white',
  'soft white',
  'daylight',
  'cyan',
  'magenta',
  'violet',
  'turquoise',
  'teal',
  'lime',
  'gold',
  'amber',
  'light blue',
  'dark blue',
  'sky blue',
  'navy',
  'dark green',
  'lavender',
  'crimson',
  'coral',
  'indigo',
  'hot pink',
  'candlelight',
];

export const colourEntity: BuiltinEntity<Rgb> = {
  name: 'builtin.colour',
  sample(rng: Rng): string {
    return pick(rng, SPOKEN);
  },
  resolve(text: string): Rgb | undefined {
    const words = tokens(text).filter((w) => w !== 'the' && w !== 'colour' && w !== 'color');
    while (words.length > 1 && /^(light|lights|lighting|please)$/.test(words[words.length - 1]!)) words.pop();
    const key = words.join('').replace(/ish$/, '');
    const rgb = LIGHTING[key] ?? cssColours[key];
    return rgb ? { r: rgb[0], g: rgb[1], b: rgb[2] } : undefined;
  },
};

/** The same entity under the American spelling, so specs may say either. */
export const colorEntity: BuiltinEntity<Rgb> = { ...colourEntity, name: 'builtin.color' };
