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

/** The embedding table as the graph dequantizes it. */
export class EmbeddingTable {
  /**
   * Quantized rows are dequantized on first use into a zero-filled table, so only the pages of rows ever
   * looked up become resident (dequantizing it all at load cost 4 MiB of RSS; onnxruntime no longer folds its
   * own copy). One fp16 rounding per row value, not per weight: that made a new word cost ~10 µs.
   */
  private readonly table: Float32Array;
  private readonly ready: Uint8Array | undefined;
  private readonly lut = new Float64Array(16);

  constructor(
    readonly rows: number,
    readonly dim: number,
    private readonly values: Int8Array | Float32Array,
    /** One scale per row; absent for an fp32 table. */
    private readonly scales: Float32Array | undefined,
    /** DequantizeLinear with fp16 scales yields fp16 values: round like onnxruntime does. */
    private readonly halfPrecision: boolean,
  ) {
    if (scales) {
      this.table = new Float32Array(rows * dim);
      this.ready = new Uint8Array(rows);
    } else this.table = values as Float32Array;
  }

  private dequantizeRow(id: number): void {
    const d0 = id * this.dim;
    const s = this.scales![id]!;
    const v = this.values;
    const t = this.table;
    if (this.halfPrecision) {
      // an int4 row takes at most 16 values
      const lut = this.lut;
      for (let q = -8; q <= 7; q++) lut[q + 8] = f16round(q * s);
      for (let d = d0; d < d0 + this.dim; d++) t[d] = lut[v[d]! + 8]!;
    } else for (let d = d0; d < d0 + this.dim; d++) t[d] = v[d]! * s;
    this.ready![id] = 1;
  }

  /** The mean of the rows `ids` (what the graph's batched MatMul computes with weights 1/ids.length). */
  mean(ids: readonly number[]): Float32Array {
    const t = this.table;
    const dim = this.dim;
    const n = ids.length;
    const weight = Math.fround(1 / n);
    const offsets = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      const id = ids[k]!;
      if (this.ready && !this.ready[id]) this.dequantizeRow(id);
      offsets[k] = id * dim;
    }
    const out = new Float32Array(dim);
    // one accumulator per output in a register: a row-by-row += loop was twice as slow
    for (let d = 0; d < dim; d++) {
      let sum = 0;
      for (let k = 0; k < n; k++) sum += weight * t[offsets[k]! + d]!;
      out[d] = sum;
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
  let values: Int8Array;
  if (q.data_type === DataType.INT4) {
    values = unpackInt4(raw, rows * dim);
  } else if (q.data_type === DataType.INT8) values = new Int8Array(raw.buffer);
  else return undefined;
  return values.length === rows * dim
    ? new EmbeddingTable(rows, dim, values, scales, halfPrecision)
    : undefined;
}
