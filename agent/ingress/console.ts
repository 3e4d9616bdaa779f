import { createInterface, type Interface } from 'node:readline';
import type { CommandResult } from '../report/result.ts';

export interface ConsoleTarget {
  command(input: { text: string; source: string }): Promise<CommandResult>;
}

/** One line per result: status, reply and the actions, for a person at a terminal. Pure. */
export function formatResult(result: CommandResult): string {
  const head = `[${result.status}] ${result.reply}`;
  const intent = result.intent ? ` (${result.intent} ${(result.confidence * 100).toFixed(0)}%)` : '';
  const actions = result.actions.map(
    (a) =>
      `\n  ${a.device}.${a.action} ${JSON.stringify(a.params)} → ${a.status}${a.error ? `: ${a.error}` : ''}`,
  );
  return `${head}${intent}${actions.join('')}\n`;
}

/** The local console: typed lines are commands, results are printed. Returns the readline to close it. */
export function startConsole(
  target: ConsoleTarget,
  input: NodeJS.ReadableStream = process.stdin,
  output: NodeJS.WritableStream = process.stdout,
): Interface {
  const rl = createInterface({
    input,
    output,
    prompt: 'sling> ',
    terminal: (output as { isTTY?: boolean }).isTTY === true,
  });
  rl.on('line', (line) => {
    const text = line.trim();
    if (text === '') return rl.prompt();
    void target.command({ text, source: 'console' }).then((result) => {
      output.write(formatResult(result));
      rl.prompt();
    });
  });
  rl.prompt();
  return rl;
}
