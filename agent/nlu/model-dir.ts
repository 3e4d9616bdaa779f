/** Reads and verifies a model directory: a missing, truncated or altered file is refused with the reason. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { MANIFEST_FORMAT, MANIFEST_VERSION, type Manifest, sha256 } from '../../models/factory/artifact.ts';

export class ModelLoadError extends Error {
  override name = 'ModelLoadError';
}

export interface VerifiedModel {
  dir: string;
  manifest: Manifest;
  onnx: Uint8Array;
}

function readOrFail(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new ModelLoadError(
      `${file}: cannot read ${what}: ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
}

export function readModelDir(dir: string, graph: 'model' | 'fp32' = 'model'): VerifiedModel {
  const manifestFile = resolve(dir, 'manifest.json');
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readOrFail(manifestFile, 'the model manifest').toString('utf8')) as Manifest;
  } catch (error) {
    if (error instanceof ModelLoadError) throw error;
    throw new ModelLoadError(`${manifestFile}: not valid JSON (${(error as Error).message})`);
  }
  if (manifest?.format !== MANIFEST_FORMAT || manifest.version !== MANIFEST_VERSION) {
    throw new ModelLoadError(
      `${manifestFile}: not a ${MANIFEST_FORMAT} v${MANIFEST_VERSION} manifest (format ${manifest?.format}, version ${manifest?.version})`,
    );
  }
  const tableProblem = intentSlotsProblem(manifest);
  if (tableProblem) throw new ModelLoadError(`${manifestFile}: intentSlots ${tableProblem}`);
  const entry =
    graph === 'model' ? manifest.model : manifest.extraFiles?.find((f) => f.file === 'model.fp32.onnx');
  if (!entry)
    throw new ModelLoadError(`${manifestFile}: lists no ${graph === 'model' ? 'model' : 'fp32'} graph`);
  const file = resolve(dir, entry.file);
  const onnx = readOrFail(file, 'the ONNX graph');
  if (onnx.byteLength !== entry.bytes) {
    throw new ModelLoadError(
      `${file}: ${onnx.byteLength} bytes, manifest says ${entry.bytes} (truncated or replaced)`,
    );
  }
  const actual = sha256(onnx);
  if (actual !== entry.sha256) {
    throw new ModelLoadError(
      `${file}: sha256 ${actual} does not match the manifest (${entry.sha256}): file altered`,
    );
  }
  return { dir, manifest, onnx: new Uint8Array(onnx.buffer, onnx.byteOffset, onnx.byteLength) };
}

/** Why `intentSlots` (optional) is not a table of the model's intents → lists of its slots, or undefined. */
function intentSlotsProblem(manifest: Manifest): string | undefined {
  const table: unknown = manifest.intentSlots;
  if (table === undefined) return undefined;
  if (table === null || typeof table !== 'object' || Array.isArray(table))
    return 'must map intent names to lists of slot names';
  const intents = new Set(manifest.intents);
  const slots = new Set(manifest.tags.filter((t) => t !== 'O').map((t) => t.slice(2)));
  for (const [intent, list] of Object.entries(table)) {
    if (!intents.has(intent)) return `names intent "${intent}", which the model does not have`;
    if (!Array.isArray(list) || !list.every((s) => typeof s === 'string'))
      return `of "${intent}" must be a list of slot names`;
    const unknown = list.find((s) => !slots.has(s));
    if (unknown !== undefined) return `of "${intent}" names slot "${unknown}", which the model does not tag`;
  }
  return undefined;
}
