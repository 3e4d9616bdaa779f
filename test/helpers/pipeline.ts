import { EventEmitter } from 'node:events';
import type { Plan } from '../../agent/decide/types.ts';
import type { ParseResult, Parser, SlotMatch } from '../../agent/nlu/types.ts';
import type {
  ActionReport,
  Decider,
  Decision,
  ExecuteOptions,
  Executor,
  Pipeline,
} from '../../agent/pipeline.ts';
import type { StateView } from '../../agent/state/types.ts';

// Small, deterministic stand-ins for the model, the skills and the drivers, for the agent's own tests
// (the agent is tested around these seams; the real stages have their own tests).

const rules: { intent: string; pattern: RegExp; slot?: string }[] = [
  { intent: 'light.on', pattern: /turn on the (\w+) light/, slot: 'room' },
  { intent: 'robot.move', pattern: /drive forward (\d+) meters?/, slot: 'distance' },
  { intent: 'robot.stop', pattern: /^stop$/ },
  { intent: 'robot.wait', pattern: /^wait (\d+) ms$/, slot: 'ms' },
  { intent: 'lock.open', pattern: /^open the vault$/ },
];

export class KeywordParser implements Parser {
  async parse(text: string): Promise<ParseResult> {
    const lower = text.toLowerCase();
    for (const rule of rules) {
      const match = rule.pattern.exec(lower);
      if (!match) continue;
      const slots: SlotMatch[] = [];
      if (rule.slot && match[1] !== undefined) {
        const start = match.index + match[0].indexOf(match[1]);
        const value = /^\d+$/.test(match[1]) ? Number(match[1]) : match[1];
        slots.push({
          name: rule.slot,
          text: text.slice(start, start + match[1].length),
          start,
          end: start + match[1].length,
          value,
        });
      }
      return {
        text,
        intent: rule.intent,
        topIntent: rule.intent,
        confidence: 0.97,
        slots,
        alternatives: [],
        timing: { totalMs: 0 },
      };
    }
    return {
      text,
      intent: null,
      topIntent: 'light.on',
      confidence: 0.2,
      slots: [],
      alternatives: [],
      timing: { totalMs: 0 },
    };
  }
}

/** One clause per " then "; each parsed by the parser, planned by rules. */
export class RuleDecider implements Decider {
  constructor(private readonly parser: Parser) {}

  async decide(text: string, _state: StateView): Promise<Decision> {
    const parses = await Promise.all(text.split(/\s+then\s+/).map((clause) => this.parser.parse(clause)));
    const plans = parses.map((parse) => this.plan(parse));
    const refused = plans.find((p) => p.refused);
    if (parses.some((p) => p.intent === null)) {
      return {
        text,
        parses,
        plan: { actions: [], reply: 'Sorry, I did not understand.', refused: { reason: 'not understood' } },
      };
    }
    if (refused) return { text, parses, plan: refused };
    return {
      text,
      parses,
      plan: { actions: plans.flatMap((p) => p.actions), reply: plans.map((p) => p.reply).join(' Then ') },
    };
  }

  private plan(parse: ParseResult): Plan {
    const slot = parse.slots[0]?.value;
    switch (parse.intent) {
      case 'light.on':
        return {
          actions: [{ device: `light.${slot}`, action: 'on', params: {} }],
          reply: `Turning on the ${slot} light.`,
        };
      case 'robot.move':
        return {
          actions: [{ device: 'robot', action: 'move', params: { distance_m: slot } }],
          reply: `Driving ${slot} m.`,
        };
      case 'robot.stop':
        return { actions: [{ device: 'robot', action: 'stop', params: {} }], reply: 'Stopping.' };
      case 'robot.wait':
        return {
          actions: [{ device: 'robot', action: 'wait', params: { ms: slot } }],
          reply: `Waiting ${slot} ms.`,
        };
      default:
        return {
          actions: [],
          reply: 'I cannot do that.',
          refused: { reason: `no skill for ${parse.intent}` },
        };
    }
  }
}

export interface Execution {
  commandId: string;
  device: string;
  action: string;
  at: number;
}

/** Records every action it "runs"; `wait` takes real time and honours cancellation. */
export class RecordingExecutor extends EventEmitter implements Executor {
  readonly executions: Execution[] = [];
  readonly safeStops: string[] = [];
  /** Called synchronously when an action reaches the "driver" (benchmarks time this). */
  onAction: ((execution: Execution) => void) | undefined;
  private pending = 0;

  async execute(plan: Plan, options: ExecuteOptions): Promise<ActionReport[]> {
    if (options.dryRun) return plan.actions.map((a) => ({ ...a, status: 'dry_run' as const }));
    const reports: ActionReport[] = [];
    for (const action of plan.actions) {
      const execution = {
        commandId: options.commandId,
        device: action.device,
        action: action.action,
        at: Date.now(),
      };
      this.executions.push(execution);
      this.onAction?.(execution);
      if (action.action === 'wait') {
        this.pending++;
        const ms = Number(action.params.ms);
        const cancelled = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), ms);
          options.signal?.addEventListener('abort', () => {
            clearTimeout(timer);
            resolve(true);
          });
        });
        this.pending--;
        reports.push({
          ...action,
          status: cancelled ? 'cancelled' : 'ok',
          ...(cancelled ? { error: 'cancelled' } : {}),
        });
        continue;
      }
      this.emit('event', { type: 'device', device: action.device, state: action.action });
      reports.push({ ...action, status: 'ok' });
    }
    return reports;
  }

  async safeStop(reason: string): Promise<void> {
    this.safeStops.push(reason);
  }

  queueDepths(): Record<string, number> {
    return { robot: this.pending };
  }

  countFor(commandId: string): number {
    return this.executions.filter((e) => e.commandId === commandId).length;
  }
}

export function testPipeline(): Pipeline & { executor: RecordingExecutor } {
  const parser = new KeywordParser();
  return { parser, decider: new RuleDecider(parser), executor: new RecordingExecutor() };
}
