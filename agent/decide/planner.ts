import type { ParseResult, SlotMatch } from '../nlu/types.ts';
import type { StateView } from '../state/types.ts';
import { deltaToCelsius, type Temperature, toCelsius } from './entities/measure.ts';
import type { Speed } from './entities/physical.ts';
import { builtinEntity } from './entities/registry.ts';
import type { ParamValue, Skill, Skills, SlotRef } from './skills.ts';
import type { Action, Plan } from './types.ts';
import type { World, WorldDevice } from './world.ts';

/** Everything the planner reads. Pure: no I/O, no clock; the state view is only read. */
export interface PlanContext {
  world: World;
  skills: Skills;
  state?: StateView;
}

export const NOT_UNDERSTOOD = "Sorry, I didn't understand that.";

class Refusal extends Error {
  constructor(
    message: string,
    readonly notUnderstood = false,
  ) {
    super(message);
  }
}

interface ClausePlan {
  actions: Action[];
  reply: string;
}

type SlotValues = Map<string, SlotMatch[]>;

const norm = (s: string) =>
  s
    .toLowerCase()
    .replace(/^(the|my|our|your|a)\s+/, '')
    .replace(/\s+/g, ' ')
    .trim();

function display(value: unknown): string {
  if (typeof value === 'number') return String(Number(value.toFixed(2)));
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  if (typeof value === 'string') return value.replace(/_/g, ' ');
  return JSON.stringify(value);
}

/** The slot's typed value; re-resolves the words when the parser left text but the skill names a builtin. */
function slotValue(match: SlotMatch, skill: Skill): unknown {
  const type = skill.slots[match.name]?.type ?? match.type;
  if (type?.startsWith('builtin.') && (typeof match.value === 'string' || match.value === undefined)) {
    const resolved = builtinEntity(type)?.resolve(match.text);
    if (resolved === undefined) throw new Refusal(`I couldn't make sense of "${match.text}".`);
    return resolved;
  }
  return match.value ?? match.text;
}

/** The first match of a slot, or of the slots its skill declares as stand-ins (`from`). */
function matchFor(slots: SlotValues, name: string, skill: Skill): SlotMatch | undefined {
  for (const n of [name, ...(skill.slots[name]?.from ?? [])]) {
    const match = slots.get(n)?.[0];
    if (match) return match;
  }
  return undefined;
}

function firstSlot(slots: SlotValues, name: string, skill: Skill): unknown {
  const match = matchFor(slots, name, skill);
  if (match) return slotValue(match, skill);
  const spec = skill.slots[name];
  if (spec?.required) throw new Refusal(spec.required);
  return spec?.default;
}

function lookupByName<T extends { names: string[] }>(
  table: Record<string, T>,
  value: string,
): string | undefined {
  if (value in table) return value;
  const wanted = norm(value);
  for (const [id, entry] of Object.entries(table)) {
    if (norm(id.replace(/_/g, ' ')) === wanted || entry.names.some((n) => norm(n) === wanted)) return id;
  }
  return undefined;
}

function roomOf(world: World, value: string): string | undefined {
  if (value in world.rooms) return value;
  const wanted = norm(value);
  for (const [room, names] of Object.entries(world.rooms)) {
    if (norm(room.replace(/_/g, ' ')) === wanted || names.some((n) => norm(n) === wanted)) return room;
  }
  return undefined;
}

/** Device ids the skill acts on, from its selector and the `device` / `room` slots. */
function selectDevices(skill: Skill, slots: SlotValues, ctx: PlanContext): string[] {
  const selector = skill.device;
  if (selector === undefined) return [];
  if (typeof selector === 'string') return [selector];
  const ofKind = Object.entries(ctx.world.devices).filter(([, d]) => d.kind === selector.kind);
  const chosen = new Set<string>();
  for (const match of slots.get('device') ?? []) {
    const id = lookupByName(ctx.world.devices, String(match.value ?? match.text));
    if (!id || ctx.world.devices[id]!.kind !== selector.kind) {
      throw new Refusal(`I don't know a ${selector.kind} called "${match.text}".`);
    }
    chosen.add(id);
  }
  for (const match of slots.get('room') ?? []) {
    const room = roomOf(ctx.world, String(match.value ?? match.text));
    const inRoom = ofKind.filter(([, d]) => d.room !== undefined && d.room === room).map(([id]) => id);
    if (inRoom.length === 0) throw new Refusal(`There's no ${selector.kind} in the ${match.text}.`);
    for (const id of inRoom) chosen.add(id);
  }
  if (chosen.size > 0) return [...chosen];
  if (selector.unspecified === 'all') {
    if (ofKind.length === 0) throw new Refusal(`There's no ${selector.kind} here.`);
    return ofKind.map(([id]) => id);
  }
  if (selector.unspecified === 'refuse') throw new Refusal(`Which ${selector.kind}?`);
  return [selector.unspecified];
}

function convert(value: unknown, ref: SlotRef, device: WorldDevice | undefined, ctx: PlanContext): unknown {
  switch (ref.convert) {
    case 'speed_mps': {
      if (typeof value === 'number') return value;
      const speed = value as Speed;
      if ('mps' in speed) return speed.mps;
      const max = device?.limits.speed_mps?.max;
      if (max === undefined) throw new Refusal('No maximum speed is configured for this device.');
      return Number((speed.fraction * max).toFixed(6));
    }
    case 'celsius':
      return typeof value === 'number' ? value : toCelsius(value as Temperature, ctx.world.temperatureUnit);
    case 'celsius_delta':
      return typeof value === 'number'
        ? value
        : deltaToCelsius(value as Temperature, ctx.world.temperatureUnit);
    case 'place': {
      const place = lookupByName(ctx.world.places, String(value));
      if (!place) throw new Refusal(`I don't know where "${display(value)}" is.`);
      return place;
    }
    case 'number':
      return typeof value === 'number' ? value : Number.NaN;
    default:
      return value;
  }
}

function paramValue(
  spec: ParamValue,
  slots: SlotValues,
  skill: Skill,
  device: WorldDevice | undefined,
  ctx: PlanContext,
): unknown {
  if (typeof spec !== 'object') return spec;
  const match = matchFor(slots, spec.slot, skill);
  // A param default is already in the parameter's unit; a slot default is a slot value to convert.
  if (!match && spec.default !== undefined) return applySign(spec.default, spec, slots, skill);
  let value = firstSlot(slots, spec.slot, skill);
  if (value === undefined) throw new Refusal(`Missing ${spec.slot.replace(/_/g, ' ')}.`);
  if (spec.map) {
    const key = String(value);
    if (!(key in spec.map)) throw new Refusal(`I can't use "${match?.text ?? key}" here.`);
    value = spec.map[key];
  }
  value = convert(value, spec, device, ctx);
  return applySign(value, spec, slots, skill);
}

function applySign(value: unknown, spec: SlotRef, slots: SlotValues, skill: Skill): unknown {
  if (typeof value !== 'number') return value;
  let v = value * (spec.scale ?? 1);
  for (const [slot, values] of Object.entries(spec.negate_when ?? {})) {
    const other = firstSlot(slots, slot, skill);
    if (other !== undefined && values.includes(String(other))) v = -v;
  }
  return Object.is(v, -0) ? 0 : v;
}

/** Applies the device's limits; returns notes for clamped values, throws a Refusal for refused ones. */
function enforceLimits(
  deviceId: string,
  device: WorldDevice | undefined,
  params: Record<string, unknown>,
): string[] {
  const notes: string[] = [];
  for (const [name, value] of Object.entries(params)) {
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new Refusal(`Refused: ${name.replace(/_/g, ' ')} is not a finite number.`);
    }
    const range = device?.limits[name];
    if (!range || typeof value !== 'number') continue;
    const min = range.min ?? Number.NEGATIVE_INFINITY;
    const max = range.max ?? Number.POSITIVE_INFINITY;
    if (value >= min && value <= max) continue;
    const policy = range.policy ?? device!.policy;
    const bound = value < min ? min : max;
    const label = name.replace(/_/g, ' ');
    if (policy === 'refuse') {
      throw new Refusal(
        `Refused: ${label} ${display(value)} is outside ${deviceId}'s range ${rangeText(min, max)}.`,
      );
    }
    params[name] = bound;
    notes.push(`${label} limited to ${display(bound)} (asked ${display(value)})`);
  }
  return notes;
}

const rangeText = (min: number, max: number) => `${display(min)} to ${display(max)}`;

/** Fills `{name}` and `{name|abs}` (a magnitude, for replies that say the direction in words). */
function fill(template: string, lookup: (name: string) => unknown): string {
  return template.replace(/\{([A-Za-z0-9_.]+)(\|abs)?\}/g, (whole, name: string, abs?: string) => {
    const v = lookup(name);
    if (v === undefined) return whole;
    return display(abs && typeof v === 'number' ? Math.abs(v) : v);
  });
}

function deviceLabel(ctx: PlanContext, id: string): string {
  const device = ctx.world.devices[id];
  return device?.names[0] ?? id.replace(/[._]/g, ' ');
}

function answerQuery(skill: Skill, slots: SlotValues, ctx: PlanContext): ClausePlan {
  const query = skill.query!;
  const raw = (name: string) => firstSlot(slots, name, skill);
  const key = fill(query.key, (n) => {
    const v = raw(n);
    return typeof v === 'string' ? v : undefined;
  });
  if (/\{/.test(key)) throw new Refusal(query.missing);
  const entry = ctx.state?.get(key);
  const spoken = (n: string) => {
    const match = slots.get(n)?.[0];
    if (match) return match.text.replace(/^(the|my)\s+/i, '');
    return raw(n);
  };
  if (!entry || entry.value === undefined || entry.value === null) {
    return { actions: [], reply: fill(query.missing, spoken) };
  }
  const reply = fill(query.reply, (n) => {
    if (n === 'value') return entry.value;
    if (n.startsWith('value.')) {
      let v: unknown = entry.value;
      for (const part of n.split('.').slice(1)) v = (v as Record<string, unknown> | undefined)?.[part];
      return v;
    }
    return spoken(n);
  });
  return { actions: [], reply: entry.stale ? `${reply} (that reading is old)` : reply };
}

function planClause(parse: ParseResult, ctx: PlanContext): ClausePlan {
  if (!parse.intent) throw new Refusal(NOT_UNDERSTOOD, true);
  const skill = ctx.skills[parse.intent];
  if (!skill) throw new Refusal(`I understood "${parse.intent}" but have no skill for it.`);
  if (skill.refuse !== undefined) throw new Refusal(skill.refuse, skill.notUnderstood);
  const slots: SlotValues = new Map();
  for (const s of parse.slots) slots.set(s.name, [...(slots.get(s.name) ?? []), s]);
  if (skill.query) return answerQuery(skill, slots, ctx);

  const selected = selectDevices(skill, slots, ctx);
  const actions: Action[] = [];
  const notes: string[] = [];
  for (const step of skill.actions) {
    if (step.when && !slots.has(step.when)) continue;
    const targets = step.device ? [step.device] : selected;
    if (targets.length === 0) throw new Refusal(`The skill for ${parse.intent} names no device.`);
    for (const deviceId of targets) {
      const device = ctx.world.devices[deviceId];
      if (!device) throw new Refusal(`There is no device "${deviceId}" in this world.`);
      if (!device.actions.includes(step.action)) {
        throw new Refusal(`${deviceLabel(ctx, deviceId)} can't ${step.action.replace(/_/g, ' ')}.`);
      }
      const params: Record<string, unknown> = {};
      for (const [name, spec] of Object.entries(step.params)) {
        params[name] = paramValue(spec, slots, skill, device, ctx);
      }
      notes.push(...enforceLimits(deviceId, device, params));
      actions.push({ device: deviceId, action: step.action, params });
    }
  }
  const params = Object.assign({}, ...actions.map((a) => a.params)) as Record<string, unknown>;
  const devices = [...new Set(actions.map((a) => deviceLabel(ctx, a.device)))];
  const template = skill.reply ?? `${parse.intent}.`;
  let reply = fill(template, (n) => {
    if (n === 'device' || n === 'devices') return joinWords(devices);
    const match = slots.get(n)?.[0];
    // Words the user said read better than a parameter object ("warm white", not {r, g, b}).
    if (n in params && (typeof params[n] !== 'object' || !match)) return params[n];
    if (match) return match.text;
    return skill.slots[n]?.default;
  });
  if (notes.length > 0) reply += ` (${notes.join('; ')})`;
  return { actions, reply };
}

function joinWords(items: string[]): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/**
 * One parse per clause of a command ("X then Y" → two) → one ordered plan. Any clause not understood or
 * refused refuses the whole plan (nothing half-done); clamped values are kept and mentioned in the reply.
 */
export function planCommand(parses: readonly ParseResult[], ctx: PlanContext): Plan {
  if (parses.length === 0)
    return { actions: [], reply: NOT_UNDERSTOOD, refused: { reason: 'empty command' } };
  const actions: Action[] = [];
  const replies: string[] = [];
  for (const parse of parses) {
    try {
      const clause = planClause(parse, ctx);
      actions.push(...clause.actions);
      replies.push(clause.reply);
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      const reason = error.message;
      return {
        actions: [],
        reply: reason,
        refused: { reason, ...(error.notUnderstood ? { notUnderstood: true } : {}) },
      };
    }
  }
  const sentence = (r: string, i: number) =>
    i === 0 ? r.replace(/\.$/, '') : `then ${r.charAt(0).toLowerCase()}${r.slice(1).replace(/\.$/, '')}`;
  const reply = replies.length === 1 ? replies[0]! : `${replies.map(sentence).join(', ')}.`;
  return { actions, reply };
}
