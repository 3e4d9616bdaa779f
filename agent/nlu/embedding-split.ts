/**
 * Splits a Sling NLU graph at the input of its first convolution. The head of the graph (DequantizeLinear of
 * the embedding table, Gather, a batched MatMul for the mean of each token's rows, Squeeze, Concat with the
 * gazetteer flags, Transpose, Unsqueeze) is six to eight tiny onnxruntime nodes costing about a third of a
 * parse; the parser computes the same thing in JS instead, with one pooled vector cached per word, and runs
 * only the tail in onnxruntime, its convolutions rewritten as 2-D ones (conv2d below). The model file stays the
 * one self-contained ONNX graph that training wrote.
 * Anything that does not look exactly like that head is left alone (undefined: the parser runs the whole graph).
 */
import { Float16Array, f16round } from '@petamoriken/float16';
import { DataType, onnxModelType } from '../../models/factory/onnx-proto.ts';
import { unpackInt4 } from '../../models/factory/quantize.ts';

interface TensorProto {
  name: string;
  dims: unknown[];
  data_type: number;
  raw_data?: Uint8Array;
}
interface AttributeProto {
  name: string;
  ints?: number[];
}
interface NodeProto {
  op_type: string;
  name?: string;
  input: string[];
  output: string[];
  attribute?: AttributeProto[];
}
interface ValueInfo {
  name: string;
  type?: unknown;
}
interface ModelProto {
  graph: { node: NodeProto[]; initializer: TensorProto[]; input: ValueInfo[]; output: ValueInfo[] };
}

/** fp16 scales in this range give the same values when a row value's rounding is scaled by a power of two. */
const SMALLEST_NORMAL_HALF = 2 ** -14;
const LARGEST_SAFE_HALF_SCALE = 4096;

/** The embedding table as the graph dequantizes it. */
export class EmbeddingTable {
  /**
   * mean() reads the quantized rows as they are: nothing is dequantized ahead or kept, so memory does not grow
   * with the vocabulary heard, and a word never seen before costs what a known one does. int4 rows stay packed
   * (two values a byte, 24 bytes a row: half the cache lines of unpacked rows) and go through a 16-entry table
   * of fp16(q × scale) per row. Measured on SNIPS test in a parse loop (a new word's rows are rarely cached):
   * a new word ~4.4 µs with unpacked rows, rows dequantized into a store on first use cost more.
   */
  /** Per-call scratch: each looked-up row's start and (int4) its 16 weighted values. */
  private rowStarts = new Int32Array(64);
  private rowLuts = new Float64Array(64 * 16);

  constructor(
    readonly rows: number,
    readonly dim: number,
    /**
     * fp32 values, int8 values, or (`packedInt4`) int4 values two a byte, the first in the low nibble
     * (ONNX INT4 layout).
     */
    private readonly values: Int8Array | Uint8Array | Float32Array,
    /** One scale per row; absent for an fp32 table. */
    readonly scales: Float32Array | undefined,
    /** DequantizeLinear with fp16 scales yields fp16 values: round like onnxruntime does. */
    private readonly halfPrecision: boolean,
    private readonly packedInt4 = false,
  ) {
    if (packedInt4 && (dim % 2 !== 0 || !halfPrecision))
      throw new Error('packed int4 rows need an even width and fp16 scales');
  }

  /**
   * `weight` × fp16(q × s) for the 16 int4 values q, at `out[offset + nibble]` (nibble n holds q = n, or n − 16
   * when n ≥ 8). s is itself an fp16 value, so q × s is exact for q = ±1, ±2, ±4, ±8, and rounding commutes
   * with doubling while everything stays a normal fp16 number: only 3s, 5s and 7s need rounding. Other scales
   * take the 16 roundings (a test compares both on every scale of a model). `s` must be an fp16 value:
   * half-precision tables read their scales from fp16. weight × an fp16 value is exact in a double.
   */
  private static fillRowTable(s: number, weight: number, out: Float64Array, offset: number): void {
    if (s >= SMALLEST_NORMAL_HALF && s <= LARGEST_SAFE_HALF_SCALE) {
      const r3 = f16round(3 * s);
      out[offset] = 0;
      out[offset + 1] = weight * s;
      out[offset + 2] = weight * (2 * s);
      out[offset + 3] = weight * r3;
      out[offset + 4] = weight * (4 * s);
      out[offset + 5] = weight * f16round(5 * s);
      out[offset + 6] = weight * (2 * r3);
      out[offset + 7] = weight * f16round(7 * s);
      out[offset + 8] = -(weight * (8 * s));
      for (let q = 1; q <= 7; q++) out[offset + 16 - q] = -out[offset + q]!;
    } else for (let n = 0; n < 16; n++) out[offset + n] = weight * f16round((n < 8 ? n : n - 16) * s);
  }

  /** fp16(q × s) for q = −8..7 at index q + 8: an int4 row's values with scale `s` (for tests). */
  static halfLut(s: number): Float64Array {
    const byNibble = new Float64Array(16);
    EmbeddingTable.fillRowTable(s, 1, byNibble, 0);
    return Float64Array.from({ length: 16 }, (_, i) => byNibble[i ^ 8]!);
  }

  /**
   * The mean of the rows `ids` (what the graph's batched MatMul computes with weights 1/ids.length): the same
   * products weight × value, summed in the same order in a double, as when the rows were dequantized first.
   * Written to `out` from `offset`.
   */
  mean(ids: readonly number[], out: Float32Array = new Float32Array(this.dim), offset = 0): Float32Array {
    const dim = this.dim;
    const n = ids.length;
    const weight = Math.fround(1 / n);
    if (this.rowStarts.length < n) {
      this.rowStarts = new Int32Array(n);
      this.rowLuts = new Float64Array(n * 16);
    }
    const starts = this.rowStarts;
    const values = this.values;
    const scales = this.scales;
    // one accumulator per output in a register: a row-by-row += loop was twice as slow
    if (this.packedInt4) {
      // weight × value from the row's table, indexed by the nibble itself
      const luts = this.rowLuts;
      const rowBytes = dim >> 1;
      for (let k = 0; k < n; k++) {
        const id = ids[k]!;
        starts[k] = id * rowBytes;
        EmbeddingTable.fillRowTable(scales![id]!, weight, luts, k * 16);
      }
      for (let b = 0; b < rowBytes; b++) {
        let low = 0;
        let high = 0;
        for (let k = 0; k < n; k++) {
          const byte = values[starts[k]! + b]!;
          low += luts[k * 16 + (byte & 15)]!;
          high += luts[k * 16 + (byte >> 4)]!;
        }
        out[offset + 2 * b] = low;
        out[offset + 2 * b + 1] = high;
      }
      return out;
    }
    for (let k = 0; k < n; k++) starts[k] = ids[k]! * dim;
    if (!scales) {
      for (let d = 0; d < dim; d++) {
        let sum = 0;
        for (let k = 0; k < n; k++) sum += weight * values[starts[k]! + d]!;
        out[offset + d] = sum;
      }
    } else {
      const round = this.halfPrecision ? f16round : Math.fround;
      for (let d = 0; d < dim; d++) {
        let sum = 0;
        for (let k = 0; k < n; k++) sum += weight * round(values[starts[k]! + d]! * scales[ids[k]!]!);
        out[offset + d] = sum;
      }
    }
    return out;
  }
}

export interface SplitGraph {
  /** The graph from the first convolution on: input `input` [1, channels, T]. */
  tail: Uint8Array;
  input: string;
  /** Embedding width + gazetteer flags. */
  channels: number;
  table: EmbeddingTable;
}

/** The ops buildOnnx puts before the first convolution (DequantizeLinear/Cast only for quantized tables). */
const HEAD_OPS = new Set([
  'DequantizeLinear',
  'Cast',
  'Gather',
  'Unsqueeze',
  'MatMul',
  'Squeeze',
  'Concat',
  'Transpose',
]);

export function splitEmbedding(onnx: Uint8Array, gazDim: number): SplitGraph | undefined {
  const Model = onnxModelType();
  const model = Model.toObject(Model.decode(onnx), {
    longs: Number,
    defaults: false,
  }) as unknown as ModelProto;
  const g = model.graph;
  const conv = g.node.findIndex((n) => n.op_type === 'Conv');
  if (conv < 0) return undefined;
  const cut = g.node[conv]!.input[0]!;
  const producer = new Map<string, number>();
  g.node.forEach((n, i) => {
    for (const o of n.output) producer.set(o, i);
  });
  // every node the convolution input depends on
  const head = new Set<number>();
  const pending = [cut];
  while (pending.length > 0) {
    const i = producer.get(pending.pop()!);
    if (i === undefined || head.has(i)) continue;
    head.add(i);
    pending.push(...g.node[i]!.input);
  }
  const headNodes = [...head].sort((a, b) => a - b).map((i) => g.node[i]!);
  const ops = headNodes.map((n) => n.op_type);
  const count = (op: string) => ops.filter((o) => o === op).length;
  if (ops.some((op) => !HEAD_OPS.has(op))) return undefined;
  if (count('Gather') !== 1 || count('MatMul') !== 1 || count('Transpose') !== 1) return undefined;
  if (count('Concat') !== (gazDim > 0 ? 1 : 0)) return undefined;
  const gather = headNodes.find((n) => n.op_type === 'Gather')!;
  if (gather.input[1] !== 'ids') return undefined;
  const inits = new Map(g.initializer.map((t) => [t.name, t]));
  const table = readTable(inits, headNodes, gather.input[0]!);
  if (!table) return undefined;
  // the tail must not read anything the head computed except the cut
  const headOutputs = new Set(headNodes.flatMap((n) => n.output));
  headOutputs.delete(cut);
  const tailNodes = g.node.filter((_, i) => !head.has(i));
  if (tailNodes.some((n) => n.input.some((x) => headOutputs.has(x) || ['ids', 'weights', 'gaz'].includes(x))))
    return undefined;
  const channels = table.dim + gazDim;
  const axis2 = 'sling.axis2';
  const node = conv2d(tailNodes, cut, axis2);
  const used = new Set(node.flatMap((n) => n.input));
  const tail = {
    ...model,
    graph: {
      ...g,
      node,
      initializer: [
        ...g.initializer.filter((t) => used.has(t.name)),
        {
          name: axis2,
          dims: [1],
          data_type: DataType.INT64,
          raw_data: new Uint8Array(new BigInt64Array([2n]).buffer),
        },
      ],
      input: [
        {
          name: cut,
          type: {
            tensor_type: {
              elem_type: DataType.FLOAT,
              shape: { dim: [{ dim_value: 1 }, { dim_value: channels }, { dim_param: 'T' }] },
            },
          },
        },
      ],
    },
  };
  return { tail: Model.encode(Model.fromObject(tail)).finish(), input: cut, channels, table };
}

/**
 * The 1-D convolutions as 2-D ones over [1, C, 1, T]: with graph optimisation 'all', onnxruntime then runs
 * them with its blocked-channel (NCHWc) kernels, which only take 2-D convolutions: the tail ~30 → ~24 µs
 * on SNIPS, logits within 2e-5 of the 1-D graph. Conv, Relu and Add stay 4-D; whatever else reads a 4-D
 * tensor (the pooling, the slot head's Transpose) reads it squeezed back.
 */
function conv2d(nodes: NodeProto[], input: string, axis2: string): NodeProto[] {
  const out: NodeProto[] = [];
  const fourD = new Set<string>();
  const squeezed = new Map<string, string>();
  const lift = (name: string) => {
    out.push({ op_type: 'Unsqueeze', name: `${name}.4d`, input: [name, axis2], output: [`${name}.4d`] });
    fourD.add(`${name}.4d`);
    return `${name}.4d`;
  };
  const renamed = new Map([[input, lift(input)]]);
  const convs = new Set(nodes.filter((n) => n.op_type === 'Conv').map((n) => n.input[1]!));
  for (const n of nodes) {
    const inputs = n.input.map((x) => renamed.get(x) ?? x);
    if (n.op_type === 'Conv') {
      const widen = (a: AttributeProto): AttributeProto => {
        const ints = a.ints ?? [];
        if (a.name === 'pads') return { ...a, ints: [0, ints[0]!, 0, ints[1]!] };
        if (['kernel_shape', 'dilations', 'strides'].includes(a.name)) return { ...a, ints: [1, ...ints] };
        return a;
      };
      out.push({ ...n, input: inputs, attribute: (n.attribute ?? []).map(widen) });
      fourD.add(n.output[0]!);
      continue;
    }
    if ((n.op_type === 'Relu' || n.op_type === 'Add') && inputs.every((x) => fourD.has(x))) {
      out.push({ ...n, input: inputs });
      fourD.add(n.output[0]!);
      continue;
    }
    const flat = inputs.map((x) => {
      if (!fourD.has(x)) return x;
      let name = squeezed.get(x);
      if (!name) {
        name = `${x}.3d`;
        out.push({ op_type: 'Squeeze', name, input: [x, axis2], output: [name] });
        squeezed.set(x, name);
      }
      return name;
    });
    out.push({ ...n, input: flat });
    // a convolution's weights [out, in, k] → [out, in, 1, k]
    if (convs.has(n.output[0]!)) renamed.set(n.output[0]!, lift(n.output[0]!));
  }
  // weights that are initializers (fp32 graphs) are lifted before the first node
  const initWeights = [...convs].filter((w) => !nodes.some((n) => n.output.includes(w)));
  const lifts: NodeProto[] = [];
  for (const w of initWeights) {
    lifts.push({ op_type: 'Unsqueeze', name: `${w}.4d`, input: [w, axis2], output: [`${w}.4d`] });
    for (const n of out) if (n.op_type === 'Conv') n.input = n.input.map((x) => (x === w ? `${w}.4d` : x));
  }
  return [...lifts, ...out];
}

function readTable(
  inits: Map<string, TensorProto>,
  headNodes: NodeProto[],
  gathered: string,
): EmbeddingTable | undefined {
  const bytesOf = (t: TensorProto) => Uint8Array.from(t.raw_data ?? []); // aligned copy
  const direct = inits.get(gathered);
  if (direct) {
    if (direct.data_type !== DataType.FLOAT || direct.dims.length !== 2) return undefined;
    const [rows, dim] = direct.dims.map(Number) as [number, number];
    const values = new Float32Array(bytesOf(direct).buffer);
    return values.length === rows * dim ? new EmbeddingTable(rows, dim, values, undefined, false) : undefined;
  }
  // gathered ← [Cast ←] DequantizeLinear(q, scale[, zero]) with one scale per row (axis 0)
  let source = headNodes.find((n) => n.output[0] === gathered);
  if (source?.op_type === 'Cast') source = headNodes.find((n) => n.output[0] === source!.input[0]);
  if (source?.op_type !== 'DequantizeLinear') return undefined;
  const q = inits.get(source.input[0]!);
  const scale = inits.get(source.input[1]!);
  const zero = source.input[2] ? inits.get(source.input[2]) : undefined;
  if (!q || !scale || q.dims.length !== 2) return undefined;
  if (zero && bytesOf(zero).some((b) => b !== 0)) return undefined;
  const [rows, dim] = q.dims.map(Number) as [number, number];
  const halfPrecision = scale.data_type === DataType.FLOAT16;
  const scaleBytes = bytesOf(scale);
  const scales = halfPrecision
    ? Float32Array.from(new Float16Array(scaleBytes.buffer))
    : scale.data_type === DataType.FLOAT
      ? new Float32Array(scaleBytes.buffer)
      : undefined;
  if (!scales || scales.length !== rows) return undefined;
  const raw = bytesOf(q);
  if (q.data_type === DataType.INT4) {
    // int4 with fp16 scales (what training writes) stays packed; anything else is read unpacked
    if (halfPrecision && dim % 2 === 0)
      return raw.length === (rows * dim) / 2
        ? new EmbeddingTable(rows, dim, raw, scales, true, true)
        : undefined;
    const values = unpackInt4(raw, rows * dim);
    return new EmbeddingTable(rows, dim, values, scales, halfPrecision);
  }
  if (q.data_type !== DataType.INT8) return undefined;
  const values = new Int8Array(raw.buffer);
  return values.length === rows * dim
    ? new EmbeddingTable(rows, dim, values, scales, halfPrecision)
    : undefined;
}
