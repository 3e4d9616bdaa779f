import type { Command } from 'commander';

interface TrainFlags {
  out: string;
  dev?: string;
  seed: string;
  epochs?: string;
  hidden?: string;
  dim?: string;
  buckets?: string;
  dilations?: string;
  fp32?: boolean;
  teacher?: string;
  distill?: boolean;
  teacherHidden?: string;
  teacherSeeds?: string;
  temperature?: string;
  alpha?: string;
  keepChannels?: string;
  sparsity?: string;
  pruneSteps?: string;
  pruneEpochs?: string;
  embeddingBits?: string;
  teacherAugment?: string;
  init?: string;
  fineTune?: string;
  fineTuneLr?: string;
  quiet?: boolean;
  json?: boolean;
  workers?: string;
  slotGazetteer?: boolean;
  slotSwap?: string;
  intentWeight?: string;
  labelSmoothing?: string;
  intentSlotAgreement?: boolean;
}

export function register(program: Command): void {
  program
    .command('train')
    .argument('<source>', 'intent spec (.yaml) or labelled sentences (.jsonl: text/tokens/tags/intent)')
    .description('train an int8 intent + slot model and write model.onnx + manifest.json to --out')
    .requiredOption('-o, --out <dir>', 'model directory to write')
    .option(
      '--dev <file>',
      'dev .jsonl for early stopping and the out-of-scope threshold (default: 10% held out)',
    )
    .option('--seed <n>', 'random seed (same seed, same data → same model)', '1')
    .option('--epochs <n>', 'maximum epochs')
    .option('--hidden <n>', 'encoder channels')
    .option('--dim <n>', 'embedding size')
    .option('--buckets <n>', 'hashed feature buckets')
    .option('--dilations <list>', 'one encoder layer per dilation, e.g. 1,2,4')
    .option('--fp32', 'also write model.fp32.onnx for comparison')
    .option('--distill', 'train a wider teacher first and distil the model from it')
    .option(
      '--teacher <dir>',
      'distil from this built model directory (same intents and tags); a,b: an ensemble (outputs averaged)',
    )
    .option('--teacher-hidden <n>', 'channels of the teacher trained by --distill (default: 2 × --hidden)')
    .option('--teacher-seeds <n>', 'ensemble of n differently seeded teachers (logits averaged)')
    .option('--temperature <t>', 'distillation temperature', '2')
    .option('--alpha <a>', 'weight of the teacher (soft) loss; gold labels get 1 - a', '0.5')
    .option(
      '--teacher-augment <n>',
      'distillation: n variants per sentence (paraphrase frames, fillers, typos, ASR-like errors) labelled by the teacher',
    )
    .option(
      '--init <dir>',
      'start from this built model (same data) instead of training: prune and fine-tune it',
    )
    .option(
      '--fine-tune <n>',
      'born-again: after training (or --init), fine-tune n epochs on its own (or --teacher) soft labels and --teacher-augment variants',
    )
    .option('--fine-tune-lr <x>', 'learning rate of --fine-tune as a fraction of the training one', '0.5')
    .option('--keep-channels <n>', 'structured pruning: keep n hidden channels, then fine-tune')
    .option('--sparsity <s>', 'magnitude pruning: zero this fraction of each weight matrix, then fine-tune')
    .option('--prune-steps <n>', 'reach --sparsity in n steps, each fine-tuned', '1')
    .option('--prune-epochs <n>', 'fine-tuning epochs after each pruning step', '2')
    .option('--embedding-bits <4|8>', '4: int4 embedding table (ONNX opset 21), about half the file', '8')
    .option(
      '--slot-gazetteer',
      'jsonl: gazetteer flags from the training slot values (leave-out folds: the model learns how far to trust them)',
    )
    .option('--intent-weight <w>', 'weight of the intent loss against the slot (CRF) loss', '1')
    .option('--label-smoothing <e>', 'intent targets (1 - e)·one-hot + e/K', '0')
    .option(
      '--intent-slot-agreement',
      "record each intent's training slots; the parser then pairs an intent only with tags of its own slots",
    )
    .option('--slot-swap <ratio>', 'add ratio × N copies of the training sentences with slot values swapped')
    .option(
      '--workers <n>',
      'gradient threads, always used (default: up to min(2, cores), each period measured and the faster kept); same model bytes for any n',
    )
    .option('-q, --quiet', 'no progress output')
    .option('--json', 'print a JSON summary (metrics, seconds, peak RSS) instead of text')
    .action(async (source: string, flags: TrainFlags) => {
      const { loadBuiltinEntities } = await import('../nlu/builtins.ts');
      const { buildModel } = await import('../../models/factory/build.ts');
      const { SpecError } = await import('../../models/factory/spec.ts');
      const { DataError } = await import('../../models/factory/dataset.ts');
      await loadBuiltinEntities();
      const tty = process.stderr.isTTY;
      const progress = flags.quiet
        ? undefined
        : (line: string, final: boolean) => {
            if (tty) process.stderr.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
            else if (final) process.stderr.write(`${line}\n`);
          };
      // Strict: parseInt/parseFloat would read "2abc" as 2 and train on a value nobody asked for.
      const malformed: string[] = [];
      const number = (v: string | undefined, option: string, whole: boolean) => {
        if (v === undefined) return undefined;
        const n = v.trim() === '' ? Number.NaN : Number(v);
        if (whole ? !Number.isInteger(n) : Number.isNaN(n))
          malformed.push(`${option} must be ${whole ? 'a whole number' : 'a number'}, got ${v}`);
        return n;
      };
      const int = (v: string | undefined, option: string) => number(v, option, true);
      const float = (v: string | undefined, option: string) => number(v, option, false);
      const dilations = flags.dilations?.split(',').map((d) => int(d, '--dilations')!);
      const seed = int(flags.seed, '--seed') ?? 1;
      const buckets = int(flags.buckets, '--buckets');
      const workers = int(flags.workers, '--workers');
      const slotSwap = float(flags.slotSwap, '--slot-swap');
      // absent unless asked for, so the manifests of models trained without them do not change
      const intentWeight =
        flags.intentWeight === '1' ? undefined : float(flags.intentWeight, '--intent-weight');
      const labelSmoothing =
        flags.labelSmoothing === '0' ? undefined : float(flags.labelSmoothing, '--label-smoothing');
      const hyper = Object.fromEntries(
        Object.entries({
          epochs: int(flags.epochs, '--epochs'),
          hidden: int(flags.hidden, '--hidden'),
          dim: int(flags.dim, '--dim'),
          dilations,
          intentWeight,
          labelSmoothing,
        }).filter(([, v]) => v !== undefined),
      );
      const bits = int(flags.embeddingBits, '--embedding-bits') ?? 8;
      const distilling = flags.distill || flags.teacherHidden || flags.teacherSeeds;
      const compress = {
        teacher: flags.teacher,
        teacherHidden:
          distilling && !flags.teacher ? int(flags.teacherHidden, '--teacher-hidden') : undefined,
        teacherSeeds:
          distilling && !flags.teacher ? (int(flags.teacherSeeds, '--teacher-seeds') ?? 1) : undefined,
        temperature: float(flags.temperature, '--temperature'),
        alpha: float(flags.alpha, '--alpha'),
        keepChannels: int(flags.keepChannels, '--keep-channels'),
        sparsity: float(flags.sparsity, '--sparsity'),
        pruneSteps: int(flags.pruneSteps, '--prune-steps'),
        pruneEpochs: int(flags.pruneEpochs, '--prune-epochs'),
        embeddingBits: bits === 4 ? (4 as const) : (8 as const),
        teacherAugment: int(flags.teacherAugment, '--teacher-augment'),
        init: flags.init,
        fineTuneEpochs: int(flags.fineTune, '--fine-tune'),
        fineTuneLr: float(flags.fineTuneLr, '--fine-tune-lr'),
      };
      const outOfRange = (value: number | undefined, ok: (v: number) => boolean) =>
        value !== undefined && !ok(value);
      // the first problem found, in this order: each [is wrong, what to say]
      const checks: [unknown, string][] = [
        [bits !== 4 && bits !== 8, `--embedding-bits must be 4 or 8, got ${flags.embeddingBits}`],
        [
          outOfRange(intentWeight, (w) => Number.isFinite(w) && w > 0),
          `--intent-weight must be a finite number > 0, got ${flags.intentWeight}`,
        ],
        [
          outOfRange(labelSmoothing, (e) => e >= 0 && e < 1),
          `--label-smoothing must be in [0, 1), got ${flags.labelSmoothing}`,
        ],
        [outOfRange(workers, (w) => w >= 1), `--workers must be a whole number >= 1, got ${flags.workers}`],
        [
          outOfRange(compress.sparsity, (x) => x >= 0 && x < 1),
          `--sparsity must be in [0, 1), got ${flags.sparsity}`,
        ],
        [
          outOfRange(compress.alpha, (a) => a >= 0 && a <= 1),
          `--alpha must be in [0, 1], got ${flags.alpha}`,
        ],
        [
          outOfRange(compress.temperature, (t) => t > 0),
          `--temperature must be > 0, got ${flags.temperature}`,
        ],
        [
          outOfRange(compress.teacherAugment, (n) => n >= 0),
          `--teacher-augment must be a whole number ≥ 0, got ${flags.teacherAugment}`,
        ],
        [
          outOfRange(compress.fineTuneEpochs, (n) => n >= 1),
          `--fine-tune must be a whole number ≥ 1, got ${flags.fineTune}`,
        ],
        [
          outOfRange(compress.fineTuneLr, (x) => x > 0),
          `--fine-tune-lr must be > 0, got ${flags.fineTuneLr}`,
        ],
        [
          compress.teacherAugment && !flags.teacher && !distilling && !compress.fineTuneEpochs,
          '--teacher-augment needs a teacher to label the variants: add --teacher <dir> or --distill',
        ],
        [
          compress.fineTuneEpochs &&
            (distilling || compress.keepChannels !== undefined || compress.sparsity !== undefined),
          '--fine-tune does not combine with --distill or pruning: run them as separate steps (--init <dir>)',
        ],
      ];
      const problem = malformed[0] ?? checks.find(([wrong]) => wrong)?.[1];
      if (problem) {
        process.stderr.write(`sling train: ${problem}\n`);
        process.exitCode = 1;
        return;
      }
      try {
        const { manifest } = buildModel({
          compress,
          source,
          dev: flags.dev,
          out: flags.out,
          seed,
          hyper,
          features: buckets !== undefined ? { buckets } : {},
          keepFp32: flags.fp32,
          progress,
          workers,
          slotGazetteer: flags.slotGazetteer,
          slotSwap,
          intentSlotAgreement: flags.intentSlotAgreement,
        });
        const dev = manifest.metrics.dev;
        if (flags.json) {
          const usage = process.resourceUsage();
          const peakRssMiB = usage.maxRSS / 1024;
          const cpuSeconds = (usage.userCPUTime + usage.systemCPUTime) / 1e6;
          process.stdout.write(
            `${JSON.stringify({ out: flags.out, bytes: manifest.model.bytes, training: manifest.training, threshold: manifest.threshold, calibration: manifest.calibration, dev, compression: manifest.compression, peakRssMiB, cpuSeconds })}\n`,
          );
          return;
        }
        const pct = (v: number) => `${(v * 100).toFixed(2)}`;
        process.stdout.write(
          `wrote ${flags.out}: ${manifest.intents.length - 1} intents, ${manifest.tags.length} tags, ` +
            `model.onnx ${(manifest.model.bytes / 1024).toFixed(0)} KiB int8, ${manifest.training.seconds.toFixed(1)} s, ` +
            `threshold ${manifest.threshold.toFixed(3)}\n` +
            `dev  fp32: intent ${pct(dev.fp32.intentAccuracy)}%  slot F1 ${pct(dev.fp32.slotF1)}  exact ${pct(dev.fp32.exactMatch)}%\n` +
            `dev  int8: intent ${pct(dev.int8.intentAccuracy)}%  slot F1 ${pct(dev.int8.slotF1)}  exact ${pct(dev.int8.exactMatch)}%\n`,
        );
      } catch (error) {
        if (error instanceof SpecError || error instanceof DataError) {
          process.stderr.write(`sling train: ${error.message}\n`);
          process.exitCode = 1;
          return;
        }
        throw error;
      }
    });
}
