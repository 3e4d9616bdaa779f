/**
 * ONNX twin of `model.ts` forward(): the graph computes intent logits and CRF emissions for one sentence;
 * Viterbi runs in TypeScript with the transitions from the manifest. In the int8 graph every weight matrix
 * is stored as int8 with per-output-channel scales and the embedding table as int8 with one scale per row,
 * all through DequantizeLinear (axis), opset 13. With `embeddingBits: 4` the table is signed int4 (one scale
 * per row) through DequantizeLinear at opset 21, which onnxruntime-node 1.30 runs (checked: models/README.md).
 */
import { Float16Array } from '@petamoriken/float16';
import { type ModelConfig, type Params, paramShapes } from './model.ts';
import { AttrType, DataType, onnxModelType } from './onnx-proto.ts';
import { dequantize, packInt4, type Quantized, quantizePerChannel } from './quantize.ts';

export type Precision = 'fp32' | 'int8';

/** Quantized tensors keyed by parameter name, and the parameters as the int8 graph sees them (dequantized). */
export interface QuantizedModel {
  tensors: Record<string, Quantized>;
  params: Params;
}

/** Channel axis of each quantized weight: embedding rows, output columns of the heads. */
const QUANTIZED_AXIS: Record<string, number> = { emb: 0, 'intent.w': 1, 'slot.w': 1, 'slot.pw': 1 };

function quantizedAxis(name: string): number | undefined {
  if (/^conv\d+\.w$/.test(name)) return 2; // [kernel][in][out]: per output channel
  return QUANTIZED_AXIS[name];
}

export interface QuantizeOptions {
  /** 8 (default) or 4: bits of the embedding table, the largest tensor; other weights stay int8. */
  embeddingBits?: 4 | 8;
}

export function quantizeModel(
  config: ModelConfig,
  params: Params,
  options: QuantizeOptions = {},
): QuantizedModel {
  const shapes = paramShapes(config);
  const tensors: Record<string, Quantized> = {};
  const out: Params = {};
  for (const [name, p] of Object.entries(params)) {
    const axis = quantizedAxis(name);
    if (axis === undefined) {
      out[name] = p;
      continue;
    }
    const bits = name === 'emb' ? (options.embeddingBits ?? 8) : 8;
    // the int4 table's row scales are fp16 (opset 21 allows it): 4 bytes per row would be a sixth of the table
    const qt = quantizePerChannel(p, shapes[name]!, axis, bits, bits === 4);
    tensors[name] = qt;
    out[name] = dequantize(qt, shapes[name]!);
  }
  return { tensors, params: out };
}

interface Tensor {
  name: string;
  dims: number[];
  data_type: number;
  raw_data: Uint8Array;
}

const bytes = (a: Float32Array | Int8Array | BigInt64Array) =>
  new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const f32 = (name: string, dims: number[], data: Float32Array): Tensor => ({
  name,
  dims,
  data_type: DataType.FLOAT,
  raw_data: bytes(new Float32Array(data)),
});
const i8 = (name: string, dims: number[], data: Int8Array): Tensor => ({
  name,
  dims,
  data_type: DataType.INT8,
  raw_data: bytes(data),
});
const i64 = (name: string, values: number[]): Tensor => ({
  name,
  dims: [values.length],
  data_type: DataType.INT64,
  raw_data: bytes(BigInt64Array.from(values, BigInt)),
});

/** [kernel][in][out] → ONNX Conv layout [out][in][kernel]. */
function convLayout<T extends Float32Array | Int8Array>(w: T, kernel: number, cin: number, h: number): T {
  const out = new (w.constructor as { new (n: number): T })(w.length);
  for (let j = 0; j < kernel; j++)
    for (let c = 0; c < cin; c++)
      for (let o = 0; o < h; o++) out[(o * cin + c) * kernel + j] = w[(j * cin + c) * h + o]!;
  return out;
}

/** Opset of a graph: 13, or 21 when the embedding is int4 (INT4 DequantizeLinear needs opset 21). */
export function graphOpset(options: QuantizeOptions = {}): number {
  return options.embeddingBits === 4 ? 21 : 13;
}

export function buildOnnx(
  config: ModelConfig,
  params: Params,
  precision: Precision,
  options: QuantizeOptions = {},
): Uint8Array {
  const shapes = paramShapes(config);
  const quant = precision === 'int8' ? quantizeModel(config, params, options).tensors : {};
  const opset = precision === 'int8' ? graphOpset(options) : 13;
  const int4Emb = precision === 'int8' && options.embeddingBits === 4;
  const nodes: object[] = [];
  const initializers: Tensor[] = [];
  const attr = {
    int: (name: string, i: number) => ({ name, type: AttrType.INT, i }),
    ints: (name: string, ints: number[]) => ({ name, type: AttrType.INTS, ints }),
  };
  let counter = 0;
  const node = (op: string, inputs: string[], attributes: object[] = [], output?: string) => {
    const out = output ?? `${op.toLowerCase()}_${counter++}`;
    nodes.push({ op_type: op, input: inputs, output: [out], name: out, attribute: attributes });
    return out;
  };
  /** A weight as the graph uses it: fp32 initializer, or int8 + scales through DequantizeLinear. */
  const weight = (
    name: string,
    dims: number[],
    layout?: (w: Float32Array | Int8Array) => Float32Array | Int8Array,
  ) => {
    const qt = quant[name];
    if (!qt) {
      const data = layout ? (layout(params[name]!) as Float32Array) : params[name]!;
      initializers.push(f32(name, dims, data));
      return name;
    }
    const q = layout ? (layout(qt.q) as Int8Array) : qt.q;
    // after the conv layout change the output channel is axis 0
    const axis = /^conv/.test(name) ? 0 : qt.axis;
    if (int4Emb && name === 'emb') {
      // no zero point: symmetric, and an INT4 zero tensor would need its own packing. fp16 scales make an
      // fp16 table; the Cast is folded at load with the dequantization
      initializers.push({
        name: `${name}.scale`,
        dims: [qt.scales.length],
        data_type: DataType.FLOAT16,
        raw_data: new Uint8Array(new Float16Array(qt.scales).buffer),
      });
      initializers.push({ name: `${name}.q`, dims, data_type: DataType.INT4, raw_data: packInt4(q) });
      const half = node('DequantizeLinear', [`${name}.q`, `${name}.scale`], [attr.int('axis', axis)]);
      return node('Cast', [half], [attr.int('to', DataType.FLOAT)]);
    }
    initializers.push(f32(`${name}.scale`, [qt.scales.length], qt.scales));
    initializers.push(i8(`${name}.q`, dims, q));
    initializers.push(i8(`${name}.zero`, [qt.scales.length], new Int8Array(qt.scales.length)));
    return node('DequantizeLinear', [`${name}.q`, `${name}.scale`, `${name}.zero`], [attr.int('axis', axis)]);
  };
  const bias = (name: string) => {
    initializers.push(f32(name, shapes[name]!, params[name]!));
    return name;
  };
  initializers.push(i64('axes0', [0]), i64('axes1', [1]));
  const D = config.dim;
  const H = config.hidden;
  // int8 table with one scale per row; with graph optimisation 'basic' onnxruntime folds the dequantization
  // once at load (the file stays int8). Gathering int8 rows and scaling them per sentence was measured slower.
  const table = weight('emb', [config.buckets, D]);
  const gathered = node('Gather', [table, 'ids'], [attr.int('axis', 0)]);
  const tokenWeights = 'weights';
  // mean of each token's feature rows as a batched [T,1,K]·[T,K,D] product
  const w3 = node('Unsqueeze', [tokenWeights, 'axes1']);
  const pooledRows = node('MatMul', [w3, gathered]);
  let x = node('Squeeze', [pooledRows, 'axes1']);
  if (config.gazDim > 0) x = node('Concat', [x, 'gaz'], [attr.int('axis', 1)]);
  let h = node('Unsqueeze', [node('Transpose', [x], [attr.ints('perm', [1, 0])]), 'axes0']);
  const half = (config.kernel - 1) >> 1;
  config.dilations.forEach((dilation, l) => {
    const cin = l === 0 ? D + config.gazDim : H;
    const w = weight(`conv${l}.w`, [H, cin, config.kernel], (a) => convLayout(a, config.kernel, cin, H));
    const z = node(
      'Conv',
      [h, w, bias(`conv${l}.b`)],
      [
        attr.ints('dilations', [dilation]),
        attr.ints('kernel_shape', [config.kernel]),
        attr.ints('pads', [half * dilation, half * dilation]),
      ],
    );
    const r = node('Relu', [z]);
    h = l === 0 ? r : node('Add', [r, h]);
  });
  // from opset 18 the reduction axes are an input, not an attribute
  const reduce = (op: string) =>
    opset >= 18
      ? node(op, [h, 'axes2'], [attr.int('keepdims', 0)])
      : node(op, [h], [attr.ints('axes', [2]), attr.int('keepdims', 0)]);
  if (opset >= 18) initializers.push(i64('axes2', [2]));
  const mx = reduce('ReduceMax');
  const mean = reduce('ReduceMean');
  const pooled = node('Concat', [mx, mean], [attr.int('axis', 1)]);
  node('Gemm', [pooled, weight('intent.w', [2 * H, config.intents]), bias('intent.b')], [], 'intent_logits');
  const shared = node('Gemm', [pooled, weight('slot.pw', [2 * H, config.tags]), bias('slot.b')]);
  const ht = node('Transpose', [h], [attr.ints('perm', [0, 2, 1])]);
  const perToken = node('MatMul', [ht, weight('slot.w', [H, config.tags])]);
  node('Add', [perToken, shared], [], 'emissions');

  const tensorType = (elem: number, dims: (number | string)[]) => ({
    tensor_type: {
      elem_type: elem,
      shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
    },
  });
  const inputs = [
    { name: 'ids', type: tensorType(DataType.INT32, ['T', 'K']) },
    { name: 'weights', type: tensorType(DataType.FLOAT, ['T', 'K']) },
  ];
  if (config.gazDim > 0) inputs.push({ name: 'gaz', type: tensorType(DataType.FLOAT, ['T', config.gazDim]) });
  const Model = onnxModelType();
  const message = Model.fromObject({
    ir_version: opset >= 21 ? 10 : 8,
    producer_name: 'sling',
    producer_version: '1',
    opset_import: [{ domain: '', version: opset }],
    graph: {
      name: 'sling_nlu',
      node: nodes,
      initializer: initializers,
      input: inputs,
      output: [
        { name: 'intent_logits', type: tensorType(DataType.FLOAT, [1, config.intents]) },
        { name: 'emissions', type: tensorType(DataType.FLOAT, [1, 'T', config.tags]) },
      ],
    },
  });
  return Model.encode(message).finish();
}
