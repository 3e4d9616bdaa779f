import { colorEntity, colourEntity } from './colour.ts';
import { percentageEntity, temperatureEntity } from './measure.ts';
import { numberEntity, ordinalEntity } from './number.ts';
import { angleEntity, distanceEntity, durationEntity, speedEntity } from './physical.ts';
import { timeEntity } from './time.ts';
import type { BuiltinEntity } from './types.ts';

/** Every builtin entity Sling ships; the registry starts with these. */
export const defaultBuiltins: readonly BuiltinEntity[] = [
  numberEntity,
  ordinalEntity,
  distanceEntity,
  angleEntity,
  durationEntity,
  speedEntity,
  percentageEntity,
  temperatureEntity,
  colourEntity,
  colorEntity,
  timeEntity,
];
