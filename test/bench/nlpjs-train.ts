// NLP.js, the peer of bench:nlu, trained on a SNIPS train file.
import { readJsonl } from '../../models/factory/dataset.ts';

export interface NlpLike {
  addLanguage(l: string): void;
  addDocument(l: string, text: string, intent: string): void;
  train(): Promise<void>;
  process(l: string, text: string): Promise<{ intent: string; score: number }>;
  export(minified?: boolean): string;
}

export async function trainNlpjs(trainFile: string): Promise<{ nlp: NlpLike; trainSeconds: number }> {
  // @nlpjs/basic ships no types
  const { dockStart } = (await import('@nlpjs/basic')) as unknown as {
    dockStart: (o: object) => Promise<{ get(name: string): NlpLike }>;
  };
  const dock = await dockStart({
    settings: { nlp: { autoSave: false, autoLoad: false, log: false, nlu: { log: false } } },
    use: ['Basic', 'LangEn'],
  });
  const nlp = dock.get('nlp');
  nlp.addLanguage('en');
  for (const e of readJsonl(trainFile)) nlp.addDocument('en', e.text, e.intent!);
  const t0 = performance.now();
  await nlp.train();
  return { nlp, trainSeconds: (performance.now() - t0) / 1000 };
}
