import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';

// A hand-built keyword → intent ONNX model, so the emulation pipeline can be proven before the trained default
// model exists. Only the subset of onnx.proto that this graph needs is declared (field numbers from the ONNX spec).
const onnxSubset = protobuf.Root.fromJSON({
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            irVersion: { type: 'int64', id: 1 },
            producerName: { type: 'string', id: 2 },
            graph: { type: 'GraphProto', id: 7 },
            opsetImport: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
          },
        },
        OperatorSetIdProto: {
          fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } },
        },
        GraphProto: {
          fields: {
            node: { rule: 'repeated', type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: 'repeated', type: 'string', id: 1 },
            output: { rule: 'repeated', type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            opType: { type: 'string', id: 4 },
            attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            i: { type: 'int64', id: 3 },
            type: { type: 'int32', id: 20 },
          },
        },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1 },
            dataType: { type: 'int32', id: 2 },
            floatData: { rule: 'repeated', type: 'float', id: 4 },
            int32Data: { rule: 'repeated', type: 'int32', id: 5 },
            name: { type: 'string', id: 8 },
          },
        },
        ValueInfoProto: { fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 } } },
        TypeProto: { fields: { tensorType: { type: 'TypeTensor', id: 1 } } },
        TypeTensor: {
          fields: { elemType: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } },
        },
        TensorShapeProto: { fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } } },
        Dimension: { fields: { dimValue: { type: 'int64', id: 1 } } },
      },
    },
  },
});

const FLOAT = 1;
const INT8 = 3;
const ATTRIBUTE_INT = 2;

export const tinyIntents = ['robot.move', 'robot.turn', 'robot.stop', 'light.set', 'none'] as const;

/** Each keyword votes for one intent; weights are int8 so the arm64 int8 dequantize kernel runs too. */
const keywordVotes: Record<string, (typeof tinyIntents)[number]> = {
  drive: 'robot.move',
  forward: 'robot.move',
  back: 'robot.move',
  meters: 'robot.move',
  turn: 'robot.turn',
  left: 'robot.turn',
  right: 'robot.turn',
  degrees: 'robot.turn',
  stop: 'robot.stop',
  halt: 'robot.stop',
  light: 'light.set',
  dim: 'light.set',
  percent: 'light.set',
  kitchen: 'light.set',
};
export const tinyVocabulary = Object.keys(keywordVotes);

function valueInfo(name: string, dims: number[]) {
  return {
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
  };
}

/** Writes `<dir>/model.onnx` and `<dir>/labels.json`; returns the model path. */
export function writeTinyModel(dir: string): string {
  const vocabSize = tinyVocabulary.length;
  const intentCount = tinyIntents.length;
  const weights: number[] = [];
  for (const word of tinyVocabulary) {
    for (const intent of tinyIntents) weights.push(keywordVotes[word] === intent ? 6 : -1);
  }
  const model = {
    irVersion: 8,
    producerName: 'sling-arm64-smoke',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'tiny_keyword_intent',
      initializer: [
        { name: 'w_q', dims: [vocabSize, intentCount], dataType: INT8, int32Data: weights },
        { name: 'w_scale', dims: [], dataType: FLOAT, floatData: [0.5] },
        { name: 'bias', dims: [intentCount], dataType: FLOAT, floatData: [0, 0, 0, 0, 0.25] },
      ],
      node: [
        { name: 'dequant', opType: 'DequantizeLinear', input: ['w_q', 'w_scale'], output: ['w'] },
        { name: 'matmul', opType: 'MatMul', input: ['features', 'w'], output: ['scores'] },
        { name: 'add', opType: 'Add', input: ['scores', 'bias'], output: ['logits'] },
        {
          name: 'softmax',
          opType: 'Softmax',
          input: ['logits'],
          output: ['probs'],
          attribute: [{ name: 'axis', i: -1, type: ATTRIBUTE_INT }],
        },
      ],
      input: [valueInfo('features', [1, vocabSize])],
      output: [valueInfo('probs', [1, intentCount])],
    },
  };
  const type = onnxSubset.lookupType('onnx.ModelProto');
  const bytes = type.encode(type.fromObject(model)).finish();
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'model.onnx');
  writeFileSync(path, bytes);
  writeFileSync(
    join(dir, 'labels.json'),
    JSON.stringify({ intents: tinyIntents, vocabulary: tinyVocabulary }),
  );
  return path;
}
