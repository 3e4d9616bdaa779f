import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export type ModelFilesVerdict =
  | { ok: true; onnxPath: string; bytes: number; sha256: string }
  | { ok: false; reason: string };

/** Every string field called `sha256` in the manifest, wherever the format puts it. */
function manifestHashes(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) manifestHashes(item, found);
  else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key === 'sha256' && typeof item === 'string') found.push(item.toLowerCase());
      else manifestHashes(item, found);
    }
  }
  return found;
}

/**
 * Interim check of a model directory (model.onnx + manifest.json holding the file's sha256) until the NLU
 * loader's own verification is merged; then doctor calls that instead.
 */
export function verifyModelFiles(dir: string): ModelFilesVerdict {
  const onnxPath = join(dir, 'model.onnx');
  const manifestPath = join(dir, 'manifest.json');
  if (!existsSync(dir)) return { ok: false, reason: `model directory ${dir} does not exist` };
  if (!existsSync(onnxPath)) return { ok: false, reason: `${onnxPath} is missing` };
  if (!existsSync(manifestPath)) return { ok: false, reason: `${manifestPath} is missing` };
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch (error) {
    return { ok: false, reason: `${manifestPath} is not valid JSON: ${(error as Error).message}` };
  }
  const expected = manifestHashes(manifest).filter((h) => /^[0-9a-f]{64}$/.test(h));
  if (expected.length === 0) return { ok: false, reason: `${manifestPath} holds no sha256 of the model` };
  const bytes = readFileSync(onnxPath);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (!expected.includes(sha256)) {
    return {
      ok: false,
      reason: `${onnxPath} does not match its manifest (sha256 ${sha256.slice(0, 12)}…, expected ${expected[0]?.slice(0, 12)}…): truncated or replaced`,
    };
  }
  return { ok: true, onnxPath, bytes: statSync(onnxPath).size, sha256 };
}
