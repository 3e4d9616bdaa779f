/**
 * The onnxruntime session behind the parser. onnxruntime-node's public `InferenceSession.run` validates its
 * arguments, waits for a `setImmediate` and then calls the native session synchronously on the main thread;
 * for a 40 µs graph that wrapping is ~6 µs (10% of a parse). So the parser calls the native session the
 * package itself wraps (`dist/binding.js`, typed there as a "simple synchronized inference session") with
 * the same options. It is not a public entry point: when a future onnxruntime-node lacks it, the parser
 * falls back to the public API, which computes the same outputs (a test compares both).
 */
import { createRequire } from 'node:module';
import type { InferenceSession, Tensor } from 'onnxruntime-node';

type Ort = typeof import('onnxruntime-node');
type Outputs = Record<string, { data: unknown }>;

export interface GraphSession {
  /** 'native': the synchronous native session; 'public': `InferenceSession` (fallback). */
  readonly kind: 'native' | 'public';
  /** Element type of a graph input ('int32', 'int64', ...), undefined when the graph has no such input. */
  inputType(name: string): string | undefined;
  run(feeds: Record<string, Tensor>): Outputs | Promise<Outputs>;
  release(): Promise<void>;
}

interface NativeSession {
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: object): void;
  readonly inputMetadata: { name: string; isTensor: boolean; type: number }[];
  readonly outputMetadata: { name: string }[];
  run(feeds: Record<string, Tensor>, fetches: Record<string, null>, options: object): Outputs;
  dispose(): void;
}

interface NativeBinding {
  binding: { InferenceSession: new () => NativeSession };
  initOrt: () => void;
}

/** onnxruntime's tensor element type codes (ONNXTensorElementDataType) the binding reports. */
const ELEMENT_TYPES: Record<number, string> = { 1: 'float32', 3: 'int8', 6: 'int32', 7: 'int64' };

function nativeBinding(): NativeBinding | undefined {
  try {
    const mod = createRequire(import.meta.url)('onnxruntime-node/dist/binding.js') as Partial<NativeBinding>;
    if (typeof mod.binding?.InferenceSession !== 'function' || typeof mod.initOrt !== 'function')
      return undefined;
    const probe = mod.binding.InferenceSession.prototype as Partial<NativeSession>;
    if (typeof probe.loadModel !== 'function' || typeof probe.run !== 'function') return undefined;
    return mod as NativeBinding;
  } catch {
    return undefined;
  }
}

export async function createGraphSession(
  ort: Ort,
  bytes: Uint8Array,
  options: InferenceSession.SessionOptions,
  prefer: 'native' | 'public' = 'native',
): Promise<GraphSession> {
  const native = prefer === 'native' ? nativeBinding() : undefined;
  if (native) {
    native.initOrt();
    const session = new native.binding.InferenceSession();
    session.loadModel(bytes.buffer, bytes.byteOffset, bytes.byteLength, options);
    const fetches = Object.fromEntries(session.outputMetadata.map((m) => [m.name, null]));
    const runOptions = {};
    return {
      kind: 'native',
      inputType: (name) => {
        const meta = session.inputMetadata.find((m) => m.name === name);
        return meta?.isTensor ? (ELEMENT_TYPES[meta.type] ?? String(meta.type)) : undefined;
      },
      run: (feeds) => session.run(feeds, fetches, runOptions),
      release: async () => session.dispose(),
    };
  }
  const session = await ort.InferenceSession.create(bytes, options);
  return {
    kind: 'public',
    inputType: (name) => {
      const meta = session.inputMetadata?.find((m) => m.name === name);
      return meta?.isTensor ? meta.type : undefined;
    },
    run: (feeds) => session.run(feeds),
    release: () => session.release(),
  };
}
