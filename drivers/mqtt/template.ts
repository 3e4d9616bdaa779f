// Payload templates and state extraction for MQTT devices. Pure functions; hand-written because the job is
// tiny and must not evaluate arbitrary code (a general template engine would bring loops, includes and
// HTML escaping we do not want). Syntax: `{{path | filter(args) | filter}}`.
//   path:    a param (`brightness_pct`, `color.r`) or, for state, a field of the JSON payload; `.` = all
//   filters: scale(inMin, inMax, outMin, outMax), round, int, upper, lower, eq(value), onoff, not, number

export class TemplateError extends Error {}

type Filter = { name: string; args: unknown[] };

const FILTERS: Record<string, (value: unknown, args: unknown[]) => unknown> = {
  scale: (v, [a, b, c, d]) => {
    const n = Number(v);
    const [inMin, inMax, outMin, outMax] = [a, b, c, d].map(Number) as [number, number, number, number];
    if (!Number.isFinite(n)) throw new TemplateError(`scale needs a number, got ${JSON.stringify(v)}`);
    return outMin + ((n - inMin) * (outMax - outMin)) / (inMax - inMin);
  },
  round: (v) => Math.round(Number(v)),
  int: (v) => Math.trunc(Number(v)),
  number: (v) => Number(v),
  upper: (v) => String(v).toUpperCase(),
  lower: (v) => String(v).toLowerCase(),
  eq: (v, [x]) => v === x || String(v) === String(x),
  onoff: (v) => (v === true || v === 1 || v === 'on' || v === 'ON' ? 'ON' : 'OFF'),
  not: (v) => !v,
};

function parseArgs(text: string): unknown[] {
  if (text.trim() === '') return [];
  try {
    return JSON.parse(`[${text.replace(/'/g, '"')}]`) as unknown[];
  } catch {
    throw new TemplateError(`bad filter arguments (${text})`);
  }
}

/** Parses `path | f(a) | g` into its path and filters; throws TemplateError on unknown filters. */
export function parseExpression(expr: string): { path: string; filters: Filter[] } {
  const [head, ...rest] = expr.split('|').map((part) => part.trim());
  const filters = rest.map((part) => {
    const m = /^([a-z]+)(?:\((.*)\))?$/.exec(part);
    if (!m || !FILTERS[m[1]!])
      throw new TemplateError(`unknown filter "${part}" (known: ${Object.keys(FILTERS).join(', ')})`);
    return { name: m[1]!, args: parseArgs(m[2] ?? '') };
  });
  if (!head) throw new TemplateError(`empty expression "${expr}"`);
  return { path: head, filters };
}

function lookup(source: unknown, path: string): unknown {
  if (path === '.' || path === '$') return source;
  let node = source;
  for (const key of path.split('.')) {
    if (!node || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** Evaluates one expression against a source object; undefined when the path is absent. */
export function evaluate(expr: string, source: unknown): unknown {
  const { path, filters } = parseExpression(expr);
  let value = lookup(source, path);
  if (value === undefined) return undefined;
  for (const f of filters) value = FILTERS[f.name]!(value, f.args);
  return value;
}

const WHOLE = /^\{\{([^{}]+)\}\}$/;
const PART = /\{\{([^{}]+)\}\}/g;
const MISSING = Symbol('missing');
/** Placeholders filled during the current render (renders are synchronous, so one counter is enough). */
const filled = { count: 0 };

function renderString(template: string, params: Record<string, unknown>, missing: Set<string>): unknown {
  const whole = WHOLE.exec(template);
  if (whole) {
    // A whole-string placeholder keeps the value's type (numbers stay numbers in JSON).
    const value = evaluate(whole[1]!, params);
    if (value === undefined) {
      missing.add(parseExpression(whole[1]!).path);
      return MISSING;
    }
    filled.count++;
    return value;
  }
  let absent = false;
  const text = template.replace(PART, (_, expr: string) => {
    const value = evaluate(expr, params);
    if (value === undefined) {
      missing.add(parseExpression(expr).path);
      absent = true;
      return '';
    }
    filled.count++;
    return String(value);
  });
  return absent ? MISSING : text;
}

function renderValue(template: unknown, params: Record<string, unknown>, missing: Set<string>): unknown {
  if (typeof template === 'string') return renderString(template, params, missing);
  if (Array.isArray(template)) return template.map((t) => renderValue(t, params, missing));
  if (template && typeof template === 'object') {
    // Keys whose template needs an absent param are left out, so one `set` can carry brightness or colour.
    const out: Record<string, unknown> = {};
    for (const [key, t] of Object.entries(template)) {
      const value = renderValue(t, params, missing);
      if (value !== MISSING) out[key] = value;
    }
    return Object.keys(out).length > 0 || Object.keys(template).length === 0 ? out : MISSING;
  }
  return template;
}

function countPlaceholders(template: unknown): number {
  if (typeof template === 'string') return template.match(PART)?.length ?? 0;
  if (template && typeof template === 'object') {
    return Object.values(template).reduce<number>((n, t) => n + countPlaceholders(t), 0);
  }
  return 0;
}

/**
 * Renders a payload template (a string or a JSON-like object) with action params. Object fields that need
 * an absent param are dropped; if no placeholder could be filled, or a string template lacks a param, it
 * throws (so `set` without any value is refused rather than sent half-empty).
 */
export function renderPayload(template: unknown, params: Record<string, unknown>): string {
  const missing = new Set<string>();
  filled.count = 0;
  const rendered = renderValue(template, params, missing);
  if (rendered === MISSING || (countPlaceholders(template) > 0 && filled.count === 0)) {
    throw new TemplateError(`needs ${[...missing].join(' or ')}`);
  }
  return typeof rendered === 'string' ? rendered : JSON.stringify(rendered);
}

/** Parses a device's state message: JSON when it is JSON, else the raw text (Tasmota `ON`). */
export function parseStatePayload(payload: Buffer): unknown {
  const text = payload.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
