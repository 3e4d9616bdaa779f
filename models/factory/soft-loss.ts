/** Distillation loss: the student's softened outputs against a teacher's (Hinton et al.). */

/** Teacher outputs for one prepared sentence, indexed like the student's intents and tags. */
export interface SoftTargets {
  intentLogits: Float32Array;
  emissions: Float32Array;
}

function softmaxT(logits: Float32Array, from: number, n: number, temperature: number): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, logits[from + i]! / temperature);
  const out = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += out[i] = Math.exp(logits[from + i]! / temperature - max);
  for (let i = 0; i < n; i++) out[i]! /= sum;
  return out;
}

/**
 * Soft loss of student outputs against teacher outputs at `temperature`: KL(teacher || student) of the intent
 * distribution plus the mean per-token KL of the tag distributions (softmax of the emissions). With `dLogits`
 * and `dEm` it adds `weight` × its gradient (T² scaling, so the gradient is T·(q_student − q_teacher)).
 */
export function softLoss(
  student: SoftTargets,
  teacher: SoftTargets,
  T: number,
  tags: number,
  temperature: number,
  grad?: { dLogits: Float32Array; dEm: Float32Array; weight: number },
): number {
  const kl = (from: number, n: number, s: Float32Array, t: Float32Array, d?: Float32Array, w = 1) => {
    const qs = softmaxT(s, from, n, temperature);
    const qt = softmaxT(t, from, n, temperature);
    let loss = 0;
    for (let i = 0; i < n; i++) {
      if (qt[i]! > 0) loss += qt[i]! * (Math.log(qt[i]!) - Math.log(Math.max(qs[i]!, 1e-30)));
      if (d) d[from + i]! += w * temperature * (qs[i]! - qt[i]!);
    }
    return loss * temperature * temperature;
  };
  const NI = student.intentLogits.length;
  let loss = kl(0, NI, student.intentLogits, teacher.intentLogits, grad?.dLogits, grad?.weight);
  for (let t = 0; t < T; t++) {
    loss += kl(t * tags, tags, student.emissions, teacher.emissions, grad?.dEm, (grad?.weight ?? 1) / T) / T;
  }
  return loss;
}
