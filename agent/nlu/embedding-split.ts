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

/** Rows per block of the dequantized-row store (48 floats a row: 192 KiB a block). */
const BLOCK_ROWS = 1024;
/** fp16 scales in this range give the same values when a row value's rounding is scaled by a power of two. */
const SMALLEST_NORMAL_HALF = 2 ** -14;
const LARGEST_SAFE_HALF_SCALE = 4096;

/** The embedding table as the graph dequantizes it. */
export class EmbeddingTable {
  /**
   * Quantized rows are dequantized on first use and appended to blocks, in the order first used, so memory
   * grows by 192 bytes per row actually used (a zero-filled full table written in place made a 4 KiB page
   * resident per new row). Speed at first sight of a word is what it was (SNIPS test, each sentence once: p50
   * ~64 µs vs ~56 µs with every row dequantized at load, see preload()): a sentence meets ~12 new rows. 3 fp16
   * roundings a row instead of 16 did not narrow that; pre-faulting blocks narrowed it by half in one
   * experiment and not at all in another (load ~3), so where those ~0.5 µs a row go is not settled.
   */
  private readonly slotOf: Int32Array | undefined;
  private readonly blocks: Float32Array[] = [];
  private used = 0;
  private readonly lut = new Float64Array(16);
  /** Per-call scratch: each looked-up row's block and offset. */
  private rowBlocks: Float32Array[] = [];
  private rowOffsets = new Int32Array(64);

  constructor(
    readonly rows: number,
    readonly dim: number,
    private readonly values: Int8Array | Float32Array,
    /** One scale per row; absent for an fp32 table. */
    readonly scales: Float32Array | undefined,
    /** DequantizeLinear with fp16 scales yields fp16 values: round like onnxruntime does. */
    private readonly halfPrecision: boolean,
  ) {
    if (scales) this.slotOf = new Int32Array(rows).fill(-1);
    else this.blocks.push(values as Float32Array);
  }

  /**
   * Dequantizes every row now (parser option `preloadEmbeddings`): words never seen before then cost no
   * dequantization during a parse (SNIPS first sight p50 ~64 → ~56 µs), for rows × dim × 4
   * bytes of memory (6 MiB for 32768 × 48).
   */
  preload(): void {
    if (!this.slotOf) return;
    for (let id = 0; id < this.rows; id++) if (this.slotOf[id]! < 0) this.dequantizeRow(id);
  }

  /** Rows dequantized so far (all of them for an fp32 table). */
  get resident(): number {
    return this.slotOf ? this.used : this.rows;
  }

  /** Dequantizes row `id` into the next free slot; returns the slot. */
  private dequantizeRow(id: number): number {
    const slot = this.used++;
    if (slot % BLOCK_ROWS === 0) this.blocks.push(new Float32Array(BLOCK_ROWS * this.dim));
    const block = this.blocks[this.blocks.length - 1]!;
    const o = (slot % BLOCK_ROWS) * this.dim;
    const d0 = id * this.dim;
    const s = this.scales![id]!;
    const v = this.values;
    if (this.halfPrecision) {
      this.fillHalfLut(s);
      const lut = this.lut;
      for (let d = 0; d < this.dim; d++) block[o + d] = lut[v[d0 + d]! + 8]!;
    } else for (let d = 0; d < this.dim; d++) block[o + d] = v[d0 + d]! * s;
    this.slotOf![id] = slot;
    return slot;
  }

  /**
   * fp16(q × s) for the 16 int4 values q. s is itself an fp16 value, so q × s is exact for q = ±1, ±2, ±4, ±8,
   * and rounding commutes with doubling while everything stays a normal fp16 number: only 3s, 5s and 7s need
   * rounding. Other scales take the 16 roundings (a test compares both on every scale of a model). `s` must
   * be an fp16 value: half-precision tables read their scales from fp16.
   */
  private fillHalfLut(s: number): void {
    const lut = this.lut;
    if (s >= SMALLEST_NORMAL_HALF && s <= LARGEST_SAFE_HALF_SCALE) {
      const r3 = f16round(3 * s);
      const r5 = f16round(5 * s);
      const r7 = f16round(7 * s);
      lut[8] = 0;
      lut[9] = s;
      lut[10] = 2 * s;
      lut[11] = r3;
      lut[12] = 4 * s;
      lut[13] = r5;
      lut[14] = 2 * r3;
      lut[15] = r7;
      for (let q = 1; q <= 7; q++) lut[8 - q] = -lut[8 + q]!;
      lut[0] = -8 * s;
    } else for (let q = -8; q <= 7; q++) lut[q + 8] = f16round(q * s);
  }

  /** The 16 dequantized values of an int4 row with scale `s` (for tests). */
  halfLut(s: number): Float64Array {
    this.fillHalfLut(s);
    return Float64Array.from(this.lut);
  }

  /** The mean of the rows `ids` (what the graph's batched MatMul computes with weights 1/ids.length). */
  mean(ids: readonly number[]): Float32Array {
    const dim = this.dim;
    const n = ids.length;
    const weight = Math.fround(1 / n);
    if (this.rowOffsets.length < n) this.rowOffsets = new Int32Array(n);
    const offsets = this.rowOffsets;
    const rowBlocks = this.rowBlocks;
    const slotOf = this.slotOf;
    for (let k = 0; k < n; k++) {
      const id = ids[k]!;
      if (slotOf) {
        let slot = slotOf[id]!;
        if (slot < 0) slot = this.dequantizeRow(id);
        rowBlocks[k] = this.blocks[Math.floor(slot / BLOCK_ROWS)]!;
        offsets[k] = (slot % BLOCK_ROWS) * dim;
      } else {
        rowBlocks[k] = this.blocks[0]!;
        offsets[k] = id * dim;
      }
    }
    const out = new Float32Array(dim);
    // one accumulator per output in a register: a row-by-row += loop was twice as slow
    for (let d = 0; d < dim; d++) {
      let sum = 0;
      for (let k = 0; k < n; k++) sum += weight * rowBlocks[k]![offsets[k]! + d]!;
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
