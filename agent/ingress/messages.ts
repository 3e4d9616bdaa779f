import { z } from 'zod';

// Every inbound payload is validated here before anything acts on it. Pure: no I/O.

const id = z.string().min(1).max(128);
const text = z.string().max(100_000);

export const commandMessageSchema = z.strictObject({
  id: id.optional(),
  text,
  dryRun: z.boolean().optional(),
  source: z.string().max(128).optional().describe('who sent it, for rate limits and the allow-list'),
});

/** Rhasspy documents more optional fields; unknown ones are ignored, the ones we use are checked. */
export const hermesQuerySchema = z.looseObject({
  input: text,
  id: z.string().max(128).nullish(),
  siteId: z.string().max(128).nullish(),
  sessionId: z.string().max(128).nullish(),
});

export const hermesTextCapturedSchema = z.looseObject({
  text,
  siteId: z.string().max(128).nullish(),
  sessionId: z.string().max(128).nullish(),
});

export interface InboundCommand {
  id?: string;
  text: string;
  dryRun: boolean;
  source?: string;
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

function describe(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}

function decodeUtf8(payload: Buffer): Decoded<string> {
  try {
    return { ok: true, value: new TextDecoder('utf-8', { fatal: true }).decode(payload) };
  } catch {
    return { ok: false, reason: 'payload is not valid UTF-8' };
  }
}

/** `.../command` takes plain text, or JSON `{id, text, dryRun}` when the payload starts with `{`. */
export function decodeCommand(payload: Buffer): Decoded<InboundCommand> {
  const utf8 = decodeUtf8(payload);
  if (!utf8.ok) return utf8;
  const raw = utf8.value.trim();
  if (raw.length === 0) return { ok: false, reason: 'empty command' };
  if (!raw.startsWith('{')) return { ok: true, value: { text: raw, dryRun: false } };
  const parsed = parseJson(raw);
  if (!parsed.ok) return parsed;
  const checked = commandMessageSchema.safeParse(parsed.value);
  if (!checked.success) return { ok: false, reason: `invalid command JSON: ${describe(checked.error)}` };
  const { dryRun, ...rest } = checked.data;
  return { ok: true, value: { ...rest, dryRun: dryRun ?? false } };
}

export function decodeJson<T>(payload: Buffer, schema: z.ZodType<T>, what: string): Decoded<T> {
  const utf8 = decodeUtf8(payload);
  if (!utf8.ok) return utf8;
  const parsed = parseJson(utf8.value);
  if (!parsed.ok) return parsed;
  const checked = schema.safeParse(parsed.value);
  if (!checked.success) return { ok: false, reason: `invalid ${what}: ${describe(checked.error)}` };
  return { ok: true, value: checked.data };
}

function parseJson(raw: string): Decoded<unknown> {
  try {
    return { ok: true, value: JSON.parse(raw) };
  } catch (error) {
    return { ok: false, reason: `malformed JSON: ${(error as Error).message}` };
  }
}
