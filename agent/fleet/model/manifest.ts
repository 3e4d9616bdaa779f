import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { LayerId } from '../topics.ts';

/**
 * A model travels as one blob: the files of the model directory concatenated in a fixed order, cut into
 * chunks. The manifest lists every file and every chunk hash, so a corrupt chunk is caught on its own (and
 * asked for again) and the whole is checked before anything touches the running model.
 */
export interface ModelFile {
  path: string;
  size: number;
  sha256: string;
}

export interface ModelManifest {
  kind: 'sling-model';
  target: LayerId;
  version: number;
  name: string;
  size: number;
  sha256: string;
  chunkSize: number;
  chunks: string[];
  files: ModelFile[];
  issuedAt?: string;
  signature?: { keyId: string; value: string };
}

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

export const modelManifestSchema = z.looseObject({
  kind: z.literal('sling-model'),
  target: z.string().regex(/^(fleet|group:[A-Za-z0-9_-]{1,64}|device:[A-Za-z0-9_-]{1,64})$/),
  version: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  name: z.string().min(1).max(200),
  size: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32),
  sha256: hex64,
  chunkSize: z
    .number()
    .int()
    .min(1024)
    .max(8 * 2 ** 20),
  chunks: z.array(hex64),
  files: z.array(
    z.strictObject({
      // Relative, no `..`, no absolute paths: a manifest must not write outside the model directory.
      path: z
        .string()
        .min(1)
        .refine((p) => !p.startsWith('/') && !p.split('/').some((s) => s === '..' || s === '' || s === '.'), {
          message: 'must be a relative path inside the model directory',
        }),
      size: z.number().int().min(0),
      sha256: hex64,
    }),
  ),
  issuedAt: z.string().optional(),
  signature: z.strictObject({ keyId: z.string(), value: z.string() }).optional(),
});

export const sha256Hex = (data: Buffer) => createHash('sha256').update(data).digest('hex');

export function buildManifest(
  blob: Buffer,
  files: ModelFile[],
  options: { target: LayerId; version: number; name: string; chunkSize: number },
): ModelManifest {
  const chunks: string[] = [];
  for (let offset = 0; offset < blob.length; offset += options.chunkSize) {
    chunks.push(sha256Hex(blob.subarray(offset, offset + options.chunkSize)));
  }
  return {
    kind: 'sling-model',
    target: options.target,
    version: options.version,
    name: options.name,
    size: blob.length,
    sha256: sha256Hex(blob),
    chunkSize: options.chunkSize,
    chunks,
    files,
    issuedAt: new Date().toISOString(),
  };
}

export const chunkOf = (blob: Buffer, manifest: ModelManifest, index: number) =>
  blob.subarray(index * manifest.chunkSize, (index + 1) * manifest.chunkSize);

/** Checks that the manifest is self-consistent: file sizes add up, chunk count matches the size. */
export function manifestProblem(manifest: ModelManifest): string | undefined {
  const total = manifest.files.reduce((sum, f) => sum + f.size, 0);
  if (total !== manifest.size) return `files add up to ${total} bytes, manifest says ${manifest.size}`;
  const expected = Math.ceil(manifest.size / manifest.chunkSize);
  if (manifest.chunks.length !== expected) {
    return `${manifest.chunks.length} chunk hashes for ${expected} chunks`;
  }
  if (new Set(manifest.files.map((f) => f.path)).size !== manifest.files.length)
    return 'duplicate file paths';
  return undefined;
}
