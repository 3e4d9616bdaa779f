/**
 * Sphinx model and training files read and written for speaker enrollment (pure).
 *
 * Debian's en-us acoustic model ships its mixture weights only as `sendump` (8-bit quantised, for decoding),
 * but sphinxtrain's `bw` and `map_adapt` read the S3 `mixture_weights` file. No tool in Debian converts it
 * (sphinxtrain's own `sendump.py` is Python 2), so the conversion is written here.
 */

/** Mixture weights: `weights[(senone * features + feature) * densities + density]`, each row summing to 1. */
export interface MixtureWeights {
  senones: number;
  features: number;
  densities: number;
  weights: Float32Array;
}

/**
 * Reads a PocketSphinx `sendump`: length-prefixed header strings up to a 0 length, `#codewords` and `#pdfs`,
 * then per feature stream and codeword one byte per senone, the weight as -log base 1.0001 shifted down by
 * `mixw_shift` (10). Throws on anything else (clustered sendumps, truncated files).
 */
export function parseSendump(file: Buffer): MixtureWeights {
  let at = 0;
  const int = () => {
    if (at + 4 > file.length) throw new Error('sendump: truncated header');
    const v = file.readInt32LE(at);
    at += 4;
    return v;
  };
  const header = new Map<string, string>();
  for (;;) {
    const n = int();
    if (n === 0) break;
    if (n < 0 || n > 65536 || at + n > file.length) throw new Error(`sendump: bad header string length ${n}`);
    const [key, ...value] = file.toString('latin1', at, at + n - 1).split(' ');
    header.set(key!, value.join(' '));
    at += n;
  }
  const features = Number(header.get('feature_count') ?? 1);
  const shift = Number(header.get('mixw_shift') ?? 10);
  if (Number(header.get('cluster_count') ?? 0) !== 0)
    throw new Error('sendump: clustered weights not supported');
  const densities = int();
  const senones = int();
  if (!(features > 0 && densities > 0 && senones > 0)) throw new Error('sendump: bad dimensions');
  if (file.length - at !== features * densities * senones)
    throw new Error(`sendump: ${file.length - at} weight bytes, expected ${features * densities * senones}`);
  const weights = new Float32Array(senones * features * densities);
  for (let f = 0; f < features; f++)
    for (let d = 0; d < densities; d++)
      for (let s = 0; s < senones; s++) {
        const q = file[at++]! << shift;
        weights[(s * features + f) * densities + d] = 1.0001 ** -q;
      }
  for (let row = 0; row < senones * features; row++) {
    let sum = 0;
    for (let d = 0; d < densities; d++) sum += weights[row * densities + d]!;
    for (let d = 0; d < densities; d++) weights[row * densities + d]! /= sum;
  }
  return { senones, features, densities, weights };
}

/** An S3 binary parameter file: text header (padded so the data is 4-byte aligned), byte-order magic, data. */
function s3File(dimensions: number[], data: Float32Array): Buffer {
  let text = 's3\nversion 1.0\n';
  const end = 'endhdr\n';
  text += ' '.repeat((4 - ((text.length + end.length) % 4)) % 4) + end;
  const head = Buffer.alloc(4 * (2 + dimensions.length));
  head.writeUInt32LE(0x11223344, 0);
  for (const [i, d] of dimensions.entries()) head.writeInt32LE(d, 4 * (i + 1));
  head.writeInt32LE(data.length, 4 * (dimensions.length + 1));
  return Buffer.concat([
    Buffer.from(text, 'latin1'),
    head,
    Buffer.from(data.buffer, data.byteOffset, data.byteLength),
  ]);
}

/** The S3 `mixture_weights` file sphinxtrain reads (no checksum). */
export const mixtureWeightsFile = (m: MixtureWeights): Buffer =>
  s3File([m.senones, m.features, m.densities], m.weights);
