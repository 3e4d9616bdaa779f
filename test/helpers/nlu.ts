import { expandSpec, loadSpec, specGazetteer } from '../../models/factory/spec.ts';
import { defaultHyper, type Hyper, type TrainInput } from '../../models/factory/train.ts';

/** The small home spec the model-factory tests train on in seconds. */
export const homeSpec = new URL('../fixtures/nlu/home.yaml', import.meta.url).pathname;

/** Training input from the home spec with small, fast settings (4096 buckets, 16 dims, two dilations). */
export function smallHomeInput(options: {
  perTemplate: number;
  seed: number;
  hyper: Partial<Hyper>;
  workers?: number;
}): TrainInput {
  const spec = loadSpec(homeSpec);
  return {
    train: expandSpec(spec, options.perTemplate),
    gazetteer: specGazetteer(spec),
    features: { buckets: 4096, minN: 3, maxN: 5, maxPerToken: 24 },
    hyper: { ...defaultHyper, dim: 16, dilations: [1, 2], ...options.hyper },
    seed: options.seed,
    ...(options.workers === undefined ? {} : { workers: options.workers }),
  };
}
