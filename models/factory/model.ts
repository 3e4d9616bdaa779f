/**
 * The joint intent + slot network, written by hand on Float32Arrays (no JS training library fits: we need
 * EmbeddingBag, dilated 1-D convolutions, a CRF and an exact ONNX twin of the forward pass).
 *
 *   x[t]   = mean of hashed feature embeddings of token t  ⊕  gazetteer flags
 *   h1     = relu(conv_k(x));  h_l = relu(conv_k,dilation(h_{l-1})) + h_{l-1}
 *   p      = [max_t h_L ; mean_t h_L]
 *   intent = p·Wi + bi;   emissions[t] = h_L[t]·Ws + p·Wp + bs;   CRF over emissions (BIO-constrained)
 */
import type { SentenceFeatures } from './features.ts';

export interface ModelConfig {
  buckets: number;
  dim: number;
  gazDim: number;
  hidden: number;
  kernel: number;
  dilations: number[];
  intents: number;
  tags: number;
}

export type Params = Record<string, Float32Array>;

export function paramShapes(c: ModelConfig): Record<string, number[]> {
  const shapes: Record<string, number[]> = { emb: [c.buckets, c.dim] };
  c.dilations.forEach((_, l) => {
    const cin = l === 0 ? c.dim + c.gazDim : c.hidden;
    // [kernel][in][out]: inner loops run over the output channel
    shapes[`conv${l}.w`] = [c.kernel, cin, c.hidden];
    shapes[`conv${l}.b`] = [c.hidden];
  });
  shapes['intent.w'] = [2 * c.hidden, c.intents];
  shapes['intent.b'] = [c.intents];
  shapes['slot.w'] = [c.hidden, c.tags];
  shapes['slot.pw'] = [2 * c.hidden, c.tags];
  shapes['slot.b'] = [c.tags];
  shapes['crf.trans'] = [c.tags, c.tags];
  shapes['crf.start'] = [c.tags];
  shapes['crf.end'] = [c.tags];
  return shapes;
}

export function initParams(c: ModelConfig, rng: () => number): Params {
  const params: Params = {};
  const normal = () => {
    const u = Math.max(rng(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
  };
  for (const [name, shape] of Object.entries(paramShapes(c))) {
    const size = shape.reduce((a, b) => a * b, 1);
    const p = new Float32Array(size);
    if (name.endsWith('.w') || name.endsWith('.pw')) {
      const fanIn = shape.length === 3 ? shape[0]! * shape[1]! : shape[0]!;
      const std = Math.sqrt(2 / fanIn);
      for (let i = 0; i < size; i++) p[i] = normal() * std * (name.startsWith('conv') ? 1 : 0.5);
    } else if (name === 'emb') {
      for (let i = 0; i < size; i++) p[i] = normal() * 0.1;
    }
    params[name] = p;
  }
  return params;
}

export function paramCount(c: ModelConfig): number {
  return Object.values(paramShapes(c)).reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
}

/** Everything the backward pass needs from a forward pass. */
export interface Activations {
  T: number;
  x: Float32Array;
  /** per layer: pre-activation and output */
  pre: Float32Array[];
  h: Float32Array[];
  /** final states after dropout (inputs of the heads) */
  hf: Float32Array;
  pooled: Float32Array;
  argmax: Int32Array;
  intentLogits: Float32Array;
  emissions: Float32Array;
  embMask?: Float32Array;
  hMask?: Float32Array;
  tokenWeights: Float32Array;
}

export interface TrainNoise {
  rng: () => number;
  embDropout: number;
  hiddenDropout: number;
  wordDropout: number;
}

function convForward(
  input: Float32Array,
  T: number,
  cin: number,
  w: Float32Array,
  b: Float32Array,
  H: number,
  kernel: number,
  dilation: number,
  out: Float32Array,
): void {
  const half = (kernel - 1) >> 1;
  for (let t = 0; t < T; t++) {
    const o = t * H;
    for (let h = 0; h < H; h++) out[o + h] = b[h]!;
    for (let j = 0; j < kernel; j++) {
      const src = t + (j - half) * dilation;
      if (src < 0 || src >= T) continue;
      const ib = src * cin;
      const wb = j * cin * H;
      for (let c = 0; c < cin; c++) {
        const v = input[ib + c]!;
        if (v === 0) continue;
        const wr = wb + c * H;
        for (let h = 0; h < H; h++) out[o + h]! += v * w[wr + h]!;
      }
    }
  }
}

export function forward(c: ModelConfig, p: Params, f: SentenceFeatures, noise?: TrainNoise): Activations {
  const T = f.length;
  const K = f.width;
  const D = c.dim;
  const cin0 = D + c.gazDim;
  const H = c.hidden;
  const x = new Float32Array(T * cin0);
  const emb = p.emb!;
  // word dropout: hide the whole-word id (always first) so the model learns to read subwords
  const tokenWeights = new Float32Array(f.weights);
  if (noise && noise.wordDropout > 0) {
    for (let t = 0; t < T; t++) {
      let n = 0;
      for (let k = 0; k < K; k++) if (f.weights[t * K + k]! > 0) n++;
      if (n > 1 && noise.rng() < noise.wordDropout) {
        tokenWeights[t * K] = 0;
        for (let k = 1; k < n; k++) tokenWeights[t * K + k] = 1 / (n - 1);
      }
    }
  }
  for (let t = 0; t < T; t++) {
    for (let k = 0; k < K; k++) {
      const wgt = tokenWeights[t * K + k]!;
      if (wgt === 0) continue;
      const row = f.ids[t * K + k]! * D;
      const o = t * cin0;
      for (let d = 0; d < D; d++) x[o + d]! += wgt * emb[row + d]!;
    }
    for (let g = 0; g < c.gazDim; g++) x[t * cin0 + D + g] = f.gaz[t * c.gazDim + g]!;
  }
  let embMask: Float32Array | undefined;
  if (noise && noise.embDropout > 0) {
    embMask = new Float32Array(T * cin0);
    const keep = 1 - noise.embDropout;
    for (let i = 0; i < embMask.length; i++) embMask[i] = noise.rng() < keep ? 1 / keep : 0;
    for (let i = 0; i < x.length; i++) x[i]! *= embMask[i]!;
  }
  const pre: Float32Array[] = [];
  const hs: Float32Array[] = [];
  let input = x;
  let cin = cin0;
  c.dilations.forEach((dilation, l) => {
    const z = new Float32Array(T * H);
    convForward(input, T, cin, p[`conv${l}.w`]!, p[`conv${l}.b`]!, H, c.kernel, dilation, z);
    const h = new Float32Array(T * H);
    for (let i = 0; i < h.length; i++) h[i] = (z[i]! > 0 ? z[i]! : 0) + (l > 0 ? input[i]! : 0);
    pre.push(z);
    hs.push(h);
    input = h;
    cin = H;
  });
  let hf = input;
  let hMask: Float32Array | undefined;
  if (noise && noise.hiddenDropout > 0) {
    hMask = new Float32Array(T * H);
    const keep = 1 - noise.hiddenDropout;
    hf = new Float32Array(T * H);
    for (let i = 0; i < hf.length; i++) {
      hMask[i] = noise.rng() < keep ? 1 / keep : 0;
      hf[i] = input[i]! * hMask[i]!;
    }
  }
  const pooled = new Float32Array(2 * H);
  const argmax = new Int32Array(H);
  for (let h = 0; h < H; h++) {
    let best = -Infinity;
    let arg = 0;
    let sum = 0;
    for (let t = 0; t < T; t++) {
      const v = hf[t * H + h]!;
      sum += v;
      if (v > best) {
        best = v;
        arg = t;
      }
    }
    pooled[h] = best;
    pooled[H + h] = sum / T;
    argmax[h] = arg;
  }
  const NI = c.intents;
  const intentLogits = new Float32Array(p['intent.b']!);
  const wi = p['intent.w']!;
  for (let i = 0; i < 2 * H; i++) {
    const v = pooled[i]!;
    for (let o = 0; o < NI; o++) intentLogits[o]! += v * wi[i * NI + o]!;
  }
  const NY = c.tags;
  const shared = new Float32Array(p['slot.b']!);
  const wp = p['slot.pw']!;
  for (let i = 0; i < 2 * H; i++) {
    const v = pooled[i]!;
    for (let o = 0; o < NY; o++) shared[o]! += v * wp[i * NY + o]!;
  }
  const emissions = new Float32Array(T * NY);
  const ws = p['slot.w']!;
  for (let t = 0; t < T; t++) {
    for (let o = 0; o < NY; o++) emissions[t * NY + o] = shared[o]!;
    for (let i = 0; i < H; i++) {
      const v = hf[t * H + i]!;
      if (v === 0) continue;
      for (let o = 0; o < NY; o++) emissions[t * NY + o]! += v * ws[i * NY + o]!;
    }
  }
  return { T, x, pre, h: hs, hf, pooled, argmax, intentLogits, emissions, embMask, hMask, tokenWeights };
}

export function softmax(logits: Float32Array): Float32Array {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  const out = new Float32Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    out[i] = Math.exp(logits[i]! - max);
    sum += out[i]!;
  }
  for (let i = 0; i < out.length; i++) out[i]! /= sum;
  return out;
}

export interface CrfCache {
  expTrans: Float64Array;
  expStart: Float64Array;
  expEnd: Float64Array;
}

/** exp of the CRF parameters with disallowed transitions zeroed, computed once per update. */
export function crfCache(p: Params, allowed: Uint8Array, allowedStart: Uint8Array, n: number): CrfCache {
  const trans = p['crf.trans']!;
  const expTrans = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) expTrans[i] = allowed[i] ? Math.exp(trans[i]!) : 0;
  const expStart = Float64Array.from(p['crf.start']!, (v, i) => (allowedStart[i] ? Math.exp(v) : 0));
  const expEnd = Float64Array.from(p['crf.end']!, (v) => Math.exp(v));
  return { expTrans, expStart, expEnd };
}

/**
 * CRF negative log-likelihood of the gold tags and its gradient (scaled forward-backward in probability
 * space: multiply-adds instead of log-sum-exp). Writes d(emissions) into dE and accumulates CRF gradients.
 */
export function crfLoss(
  emissions: Float32Array,
  T: number,
  n: number,
  gold: Int32Array,
  p: Params,
  cache: CrfCache,
  dE: Float32Array,
  g: Params,
  /** Scales every gradient written (distillation mixes this hard loss with a soft one). */
  weight = 1,
): number {
  const { expTrans, expStart, expEnd } = cache;
  const E = new Float64Array(T * n);
  const maxes = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    let m = -Infinity;
    for (let j = 0; j < n; j++) m = Math.max(m, emissions[t * n + j]!);
    maxes[t] = m;
    for (let j = 0; j < n; j++) E[t * n + j] = Math.exp(emissions[t * n + j]! - m);
  }
  const alpha = new Float64Array(T * n);
  const scale = new Float64Array(T);
  let logZ = 0;
  for (let t = 0; t < T; t++) {
    let sum = 0;
    for (let j = 0; j < n; j++) {
      let a: number;
      if (t === 0) a = expStart[j]!;
      else {
        a = 0;
        for (let i = 0; i < n; i++) a += alpha[(t - 1) * n + i]! * expTrans[i * n + j]!;
      }
      a *= E[t * n + j]!;
      alpha[t * n + j] = a;
      sum += a;
    }
    scale[t] = sum;
    for (let j = 0; j < n; j++) alpha[t * n + j]! /= sum;
    logZ += Math.log(sum) + maxes[t]!;
  }
  let endSum = 0;
  for (let j = 0; j < n; j++) endSum += alpha[(T - 1) * n + j]! * expEnd[j]!;
  logZ += Math.log(endSum);
  const beta = new Float64Array(T * n);
  for (let j = 0; j < n; j++) beta[(T - 1) * n + j] = expEnd[j]! / endSum;
  for (let t = T - 2; t >= 0; t--) {
    for (let i = 0; i < n; i++) {
      let b = 0;
      for (let j = 0; j < n; j++) b += expTrans[i * n + j]! * E[(t + 1) * n + j]! * beta[(t + 1) * n + j]!;
      beta[t * n + i] = b / scale[t + 1]!;
    }
  }
  // marginals p_t(j) = alpha_t(j) beta_t(j) (already normalised by the scaling)
  const gTrans = g['crf.trans']!;
  const gStart = g['crf.start']!;
  const gEnd = g['crf.end']!;
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < n; j++) dE[t * n + j] = alpha[t * n + j]! * beta[t * n + j]!;
    dE[t * n + gold[t]!]! -= 1;
    if (t > 0) {
      const s = scale[t]!;
      for (let i = 0; i < n; i++) {
        const a = alpha[(t - 1) * n + i]!;
        if (a === 0) continue;
        for (let j = 0; j < n; j++) {
          const m = expTrans[i * n + j]!;
          if (m === 0) continue;
          gTrans[i * n + j]! += (weight * a * m * E[t * n + j]! * beta[t * n + j]!) / s;
        }
      }
      gTrans[gold[t - 1]! * n + gold[t]!]! -= weight;
    }
  }
  if (weight !== 1) for (let i = 0; i < T * n; i++) dE[i]! *= weight;
  for (let j = 0; j < n; j++) {
    gStart[j]! += dE[j]!;
    gEnd[j]! += dE[(T - 1) * n + j]!;
  }
  let goldScore = p['crf.start']![gold[0]!]! + p['crf.end']![gold[T - 1]!]!;
  for (let t = 0; t < T; t++) {
    goldScore += emissions[t * n + gold[t]!]!;
    if (t > 0) goldScore += p['crf.trans']![gold[t - 1]! * n + gold[t]!]!;
  }
  return logZ - goldScore;
}

/**
 * Backward pass from d(intent logits) and d(emissions). Dense gradients accumulate into `g`; embedding rows
 * touched are added to `touched` (the embedding gradient stays sparse).
 */
export function backward(
  c: ModelConfig,
  p: Params,
  f: SentenceFeatures,
  a: Activations,
  dLogits: Float32Array,
  dEm: Float32Array,
  g: Params,
  touched: Set<number>,
): void {
  const T = a.T;
  const H = c.hidden;
  const NI = c.intents;
  const NY = c.tags;
  const dPooled = new Float32Array(2 * H);
  const wi = p['intent.w']!;
  const gwi = g['intent.w']!;
  const gbi = g['intent.b']!;
  for (let o = 0; o < NI; o++) gbi[o]! += dLogits[o]!;
  for (let i = 0; i < 2 * H; i++) {
    const v = a.pooled[i]!;
    let s = 0;
    for (let o = 0; o < NI; o++) {
      gwi[i * NI + o]! += v * dLogits[o]!;
      s += wi[i * NI + o]! * dLogits[o]!;
    }
    dPooled[i] = s;
  }
  const dShared = new Float32Array(NY);
  const dhf = new Float32Array(T * H);
  const ws = p['slot.w']!;
  const gws = g['slot.w']!;
  for (let t = 0; t < T; t++) {
    for (let o = 0; o < NY; o++) dShared[o]! += dEm[t * NY + o]!;
    for (let i = 0; i < H; i++) {
      const v = a.hf[t * H + i]!;
      let s = 0;
      for (let o = 0; o < NY; o++) {
        const d = dEm[t * NY + o]!;
        gws[i * NY + o]! += v * d;
        s += ws[i * NY + o]! * d;
      }
      dhf[t * H + i] = s;
    }
  }
  const gbs = g['slot.b']!;
  const wp = p['slot.pw']!;
  const gwp = g['slot.pw']!;
  for (let o = 0; o < NY; o++) gbs[o]! += dShared[o]!;
  for (let i = 0; i < 2 * H; i++) {
    const v = a.pooled[i]!;
    let s = 0;
    for (let o = 0; o < NY; o++) {
      gwp[i * NY + o]! += v * dShared[o]!;
      s += wp[i * NY + o]! * dShared[o]!;
    }
    dPooled[i]! += s;
  }
  for (let h = 0; h < H; h++) {
    dhf[a.argmax[h]! * H + h]! += dPooled[h]!;
    const dm = dPooled[H + h]! / T;
    for (let t = 0; t < T; t++) dhf[t * H + h]! += dm;
  }
  let dh = dhf;
  if (a.hMask) for (let i = 0; i < dh.length; i++) dh[i]! *= a.hMask[i]!;
  const half = (c.kernel - 1) >> 1;
  for (let l = c.dilations.length - 1; l >= 0; l--) {
    const cin = l === 0 ? c.dim + c.gazDim : H;
    const input = l === 0 ? a.x : a.h[l - 1]!;
    const z = a.pre[l]!;
    const w = p[`conv${l}.w`]!;
    const gw = g[`conv${l}.w`]!;
    const gb = g[`conv${l}.b`]!;
    const dilation = c.dilations[l]!;
    const dz = new Float32Array(T * H);
    for (let i = 0; i < dz.length; i++) dz[i] = z[i]! > 0 ? dh[i]! : 0;
    const dIn = new Float32Array(T * cin);
    if (l > 0) dIn.set(dh);
    for (let t = 0; t < T; t++) {
      const o = t * H;
      for (let h = 0; h < H; h++) gb[h]! += dz[o + h]!;
      for (let j = 0; j < c.kernel; j++) {
        const src = t + (j - half) * dilation;
        if (src < 0 || src >= T) continue;
        const ib = src * cin;
        const wb = j * cin * H;
        for (let ci = 0; ci < cin; ci++) {
          const v = input[ib + ci]!;
          const wr = wb + ci * H;
          let s = 0;
          for (let h = 0; h < H; h++) {
            const d = dz[o + h]!;
            gw[wr + h]! += v * d;
            s += w[wr + h]! * d;
          }
          dIn[ib + ci]! += s;
        }
      }
    }
    dh = dIn;
  }
  const D = c.dim;
  const cin0 = D + c.gazDim;
  if (a.embMask) for (let i = 0; i < dh.length; i++) dh[i]! *= a.embMask[i]!;
  const gEmb = g.emb!;
  const K = f.width;
  for (let t = 0; t < T; t++) {
    for (let k = 0; k < K; k++) {
      const wgt = a.tokenWeights[t * K + k]!;
      if (wgt === 0) continue;
      const id = f.ids[t * K + k]!;
      touched.add(id);
      const row = id * D;
      for (let d = 0; d < D; d++) gEmb[row + d]! += wgt * dh[t * cin0 + d]!;
    }
  }
}
