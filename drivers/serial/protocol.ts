/**
 * The Sling serial line protocol, pure logic only (no I/O): framing of requests and parsing of the
 * lines a device sends. ASCII, one message per line ("\n"; a "\r" before it is ignored).
 *
 * host → device   `<seq> <COMMAND> [arg ...]`       seq 1..65535, args are integers or words
 * device → host   `<seq> OK [data ...]`             the request with that seq succeeded
 *                 `<seq> ERR <code> <reason>`       it failed (codes in ERROR_CODES)
 *                 `T key=value ...`                 telemetry, whenever the device likes
 *                 `E <name> [key=value ...]`        an event (deadman, estop, line-too-long ...)
 *                 `HELLO <firmware> <version>`      sent once after a reset
 * A device that receives the same seq twice in a row answers again without acting twice, so a request
 * may be retried safely.
 */

export const MAX_SEQ = 65535;

export const ERROR_CODES: Record<number, string> = {
  1: 'unknown command',
  2: 'bad arguments',
  3: 'out of range',
  4: 'line too long',
  5: 'emergency stop latched',
};

export type DeviceLine =
  | { kind: 'ok'; seq: number; data: string[] }
  | { kind: 'err'; seq: number; code: number; reason: string }
  | { kind: 'telemetry'; fields: Record<string, number> }
  | { kind: 'event'; name: string; fields: Record<string, number> }
  | { kind: 'hello'; firmware: string; version: string }
  | { kind: 'invalid'; line: string; why: string };

const TOKEN = /^[A-Za-z0-9_.:+-]+$/;
const INTEGER = /^-?\d+$/;

/** Frames one request; throws on arguments that could break the framing (spaces, newlines, NaN). */
export function encodeRequest(seq: number, command: string, args: readonly (string | number)[] = []): string {
  if (!Number.isInteger(seq) || seq < 1 || seq > MAX_SEQ) throw new RangeError(`sequence number ${seq}`);
  if (!/^[A-Z]+$/.test(command))
    throw new Error(`command must be upper-case letters: ${JSON.stringify(command)}`);
  const parts = [String(seq), command];
  for (const arg of args) {
    if (typeof arg === 'number') {
      if (!Number.isInteger(arg)) throw new Error(`argument must be an integer: ${arg}`);
      parts.push(String(arg));
    } else {
      if (!TOKEN.test(arg)) throw new Error(`argument is not a plain word: ${JSON.stringify(arg)}`);
      parts.push(arg);
    }
  }
  return `${parts.join(' ')}\n`;
}

/** key=value pairs with integer or decimal values; anything else is reported as invalid. */
function parseFields(tokens: readonly string[]): Record<string, number> | string {
  const fields: Record<string, number> = {};
  for (const token of tokens) {
    const eq = token.indexOf('=');
    if (eq <= 0) return `"${token}" is not key=value`;
    const key = token.slice(0, eq);
    const value = Number(token.slice(eq + 1));
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return `bad key "${key}"`;
    if (token.length === eq + 1 || !Number.isFinite(value)) return `value of ${key} is not a number`;
    fields[key] = value;
  }
  return fields;
}

export function parseDeviceLine(raw: string): DeviceLine {
  const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  const tokens = line.trim().split(/\s+/).filter(Boolean);
  const invalid = (why: string): DeviceLine => ({ kind: 'invalid', line, why });
  const [first, second, ...rest] = tokens;
  if (first === undefined) return invalid('empty line');
  if (INTEGER.test(first)) {
    const seq = Number(first);
    if (seq < 1 || seq > MAX_SEQ) return invalid(`sequence number ${seq} out of range`);
    if (second === 'OK') return { kind: 'ok', seq, data: rest };
    if (second === 'ERR') {
      const [code, ...reason] = rest;
      if (code === undefined || !INTEGER.test(code)) return invalid('ERR without a numeric code');
      return {
        kind: 'err',
        seq,
        code: Number(code),
        reason: reason.join(' ') || ERROR_CODES[Number(code)] || '',
      };
    }
    return invalid('reply is neither OK nor ERR');
  }
  if (first === 'T') {
    const fields = parseFields([second, ...rest].filter((t): t is string => t !== undefined));
    return typeof fields === 'string' ? invalid(fields) : { kind: 'telemetry', fields };
  }
  if (first === 'E') {
    if (second === undefined) return invalid('event without a name');
    const fields = parseFields(rest);
    return typeof fields === 'string' ? invalid(fields) : { kind: 'event', name: second, fields };
  }
  if (first === 'HELLO') return { kind: 'hello', firmware: second ?? 'unknown', version: rest[0] ?? '' };
  // A reset mid-line leaves the half line sent before it glued to the banner ("23HELLO ...").
  const banner = line.indexOf('HELLO ');
  if (banner > 0) return parseDeviceLine(line.slice(banner));
  return invalid('unknown line type');
}

/**
 * Sequence numbers 1..65535, wrapping. Starts at a random point on every connection so a device that
 * kept running across a host reconnect never mistakes a fresh request for a retry of its last one.
 */
export class SequenceCounter {
  private last: number;
  constructor(start = 1 + Math.floor(Math.random() * MAX_SEQ)) {
    this.last = start - 1;
  }
  next(): number {
    this.last = (this.last % MAX_SEQ) + 1;
    return this.last;
  }
}
