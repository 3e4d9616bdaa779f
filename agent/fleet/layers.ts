import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ConfigError, type ConfigIssue } from '../config/errors.ts';
import { validateConfig } from '../config/load.ts';
import type { SlingConfig } from '../config/schema.ts';
import { mergeLayers } from './merge.ts';
import { isPlainObject, leafPaths, redact, touchesLocalOnly } from './meta.ts';
import { canonicalJson, type Signature, type TrustedKey, verifyDocument } from './signing.ts';
import type { LayerId } from './topics.ts';

const layerIdSchema = z
  .string()
  .regex(
    /^(fleet|group:[A-Za-z0-9_-]{1,64}|device:[A-Za-z0-9_-]{1,64})$/,
    'fleet, group:<name> or device:<id>',
  );

/** What an operator publishes: one layer of configuration, versioned and optionally signed. */
export const configDocumentSchema = z.looseObject({
  target: layerIdSchema.describe('the layer this document fills; must match the topic it arrives on'),
  version: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  config: z.record(z.string(), z.unknown()).describe('partial config, deep-merged over lower layers'),
  motionSafe: z.boolean().optional().describe('apply even while a motion action is executing'),
  issuedAt: z.string().optional(),
  signature: z.strictObject({ keyId: z.string(), value: z.string() }).optional(),
});

export interface ConfigDocument {
  target: LayerId;
  version: number;
  config: Record<string, unknown>;
  motionSafe?: boolean;
  issuedAt?: string;
  signature?: Signature;
}

/** A layer the device has accepted: the version for replay protection, the hash to spot redeliveries. */
export interface AcceptedLayer {
  version: number;
  hash: string;
  config: Record<string, unknown>;
  motionSafe?: boolean;
}

export type Layers = Partial<Record<LayerId, AcceptedLayer>>;

export type ParsedDocument = { ok: true; doc: ConfigDocument } | { ok: false; reason: string };

export function parseConfigDocument(payload: Buffer | string): ParsedDocument {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString());
  } catch (error) {
    return { ok: false, reason: `not JSON: ${(error as Error).message}` };
  }
  const result = configDocumentSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    return { ok: false, reason: `${issue.path.join('.') || '(root)'}: ${issue.message}` };
  }
  return { ok: true, doc: result.data as ConfigDocument };
}

export const documentHash = (doc: ConfigDocument) =>
  createHash('sha256').update(canonicalJson(doc)).digest('hex').slice(0, 16);

export type Admission =
  | { kind: 'new'; layer: AcceptedLayer }
  | { kind: 'duplicate' }
  | { kind: 'reject'; reason: string };

export interface Trust {
  trusted: readonly TrustedKey[];
  requireSigned: boolean;
}

/**
 * Whether a document that arrived for `target` may become that layer: right target, authentic, newer than
 * the accepted version (an identical redelivery, e.g. a retained message after a reconnect, is a no-op),
 * and not touching settings only the local file may set.
 */
export function admitDocument(
  doc: ConfigDocument,
  target: LayerId,
  current: { version: number; hash: string } | undefined,
  trust: Trust,
): Admission {
  if (doc.target !== target) {
    return {
      kind: 'reject',
      reason: `document is for "${doc.target}" but arrived on the topic of "${target}"`,
    };
  }
  const verdict = verifyDocument(
    doc as unknown as Record<string, unknown>,
    trust.trusted,
    trust.requireSigned,
  );
  if (!verdict.ok) return { kind: 'reject', reason: verdict.reason };
  const hash = documentHash(doc);
  if (current && doc.version === current.version && hash === current.hash) return { kind: 'duplicate' };
  if (current && doc.version <= current.version) {
    return {
      kind: 'reject',
      reason: `replayed or stale: version ${doc.version} is not newer than accepted version ${current.version}`,
    };
  }
  const forbidden = localOnlyPaths(doc.config);
  if (forbidden.length > 0) {
    return { kind: 'reject', reason: `only the local config file may set ${forbidden.join(', ')}` };
  }
  return {
    kind: 'new',
    layer: {
      version: doc.version,
      hash,
      config: doc.config,
      ...(doc.motionSafe ? { motionSafe: true } : {}),
    },
  };
}

function localOnlyPaths(config: Record<string, unknown>, prefix: string[] = []): string[] {
  return Object.entries(config).flatMap(([key, value]) => {
    const path = [...prefix, key];
    if (isPlainObject(value)) return localOnlyPaths(value, path);
    return touchesLocalOnly(path) ? [path.join('.')] : [];
  });
}

/** Layers in precedence order, lowest first (after the local file). */
export function layerOrder(groups: readonly string[], deviceId: string): LayerId[] {
  return ['fleet', ...groups.map((g) => `group:${g}` as LayerId), `device:${deviceId}`];
}

const groupListSchema = z.array(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/));

/**
 * Groups come from the local file, the fleet layer and the device layer (highest wins). Group layers cannot
 * assign groups: that would make membership depend on itself.
 */
export function groupsOf(file: SlingConfig, layers: Layers, deviceId: string): string[] {
  let groups: unknown = file.fleet.groups;
  for (const id of ['fleet', `device:${deviceId}`] as LayerId[]) {
    const fleet = layers[id]?.config.fleet;
    if (isPlainObject(fleet) && 'groups' in fleet) groups = fleet.groups ?? [];
  }
  const parsed = groupListSchema.safeParse(groups);
  return parsed.success ? [...new Set(parsed.data)] : [];
}

export type Composition =
  | { ok: true; config: SlingConfig; groups: string[]; versions: Partial<Record<LayerId, number>> }
  | { ok: false; issues: ConfigIssue[] };

/**
 * Merges the local file's config with the accepted layers and validates the result with the same code that
 * validates config files. Each problem names the layer (and version) that set the offending key.
 */
export function composeConfig(file: SlingConfig, layers: Layers, deviceId: string): Composition {
  const groups = groupsOf(file, layers, deviceId);
  const order = layerOrder(groups, deviceId).filter((id) => layers[id]);
  const merged = mergeLayers([file, ...order.map((id) => layers[id]!.config)]);
  try {
    const config = validateConfig(merged, 'merged');
    const versions = Object.fromEntries(order.map((id) => [id, layers[id]!.version]));
    return { ok: true, config, groups, versions };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return {
      ok: false,
      issues: error.issues.map((issue) => ({
        source: blame(issue.path, order, layers),
        path: issue.path,
        message: issue.message,
      })),
    };
  }
}

function blame(path: string, order: LayerId[], layers: Layers): string {
  const parts = path === '' ? [] : path.split('.');
  for (const id of order.toReversed()) {
    const paths = leafPaths(layers[id]!.config).map((p) => p.join('.'));
    const hit = paths.some(
      (p) =>
        p === path || p.startsWith(`${path}.`) || parts.some((_, i) => p === parts.slice(0, i + 1).join('.')),
    );
    if (hit) return `${id} v${layers[id]!.version}`;
  }
  return 'local file';
}

/** Short hash of the effective config without its secrets (a hash of a secret would let it be guessed offline). */
export function configHash(config: SlingConfig): string {
  return createHash('sha256')
    .update(canonicalJson(redact(config)))
    .digest('hex')
    .slice(0, 16);
}

/**
 * Operator-side check of one layer before it is published: valid on top of the built-in defaults. A device
 * validates again on top of its own file and other layers; this catches typos and wrong types early.
 */
export function checkLayer(config: Record<string, unknown>, source: string): ConfigIssue[] {
  const forbidden = localOnlyPaths(config);
  if (forbidden.length > 0) {
    return [
      { source, path: forbidden[0]!, message: `only the local config file may set ${forbidden.join(', ')}` },
    ];
  }
  try {
    validateConfig(config, source);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.issues.map((i) => ({ source, path: i.path, message: i.message }));
  }
}
