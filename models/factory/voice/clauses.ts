import { ruleDfa, type WordDfa } from './fsg.ts';
import type { Node } from './ngram.ts';

// How the grammars jsgf.ts writes join clauses: `<clause>` (or, without lead and tail words, `<one>`) is a
// clause, and the public rule joins at most two with connectives, its own words ("then", "and then", "and").

/**
 * Words that may close a command without changing it ("turn on the light please"). A speaker who pauses
 * where the grammar allows only these has finished the command.
 */
export const NEUTRAL_ENDINGS = ['please', 'now', 'thanks', 'thank'];

/**
 * Whether a heard command is finished: nothing the grammar allows after its last clause would change it (a
 * distance may still get a speed, "turn left" an angle, "one" may go on "and a half"; those are not). A second
 * clause that may follow a connective does not count: the first is a whole command on its own.
 */
export class ClauseEnds {
  private readonly clause: WordDfa;
  private readonly connectives: Set<string>;
  private readonly neutral: Set<string>;

  private constructor(clause: WordDfa, connectives: string[], neutral: readonly string[]) {
    this.clause = clause;
    this.connectives = new Set(connectives);
    this.neutral = new Set(neutral);
  }

  /** Undefined for a grammar without `<one>` clauses, or one too large to compile: nothing is then finished early. */
  static of(
    rules: Map<string, Node>,
    root: string,
    neutral: readonly string[] = NEUTRAL_ENDINGS,
  ): ClauseEnds | undefined {
    const clause = rules.has('clause') ? 'clause' : 'one';
    if (!rules.has(clause)) return undefined;
    try {
      return new ClauseEnds(ruleDfa(rules, clause), literalWords(rules.get(root)), neutral);
    } catch {
      return undefined;
    }
  }

  finished(words: string[]): boolean {
    const end = this.stateAfterLastClause(words);
    return end !== undefined && [...this.clause.next[end]!.keys()].every((w) => this.neutral.has(w));
  }

  /** The command without the connective it was continued with ("and then go home" → "go home"). */
  withoutLeadingConnective(words: string[]): string[] {
    let lead = 0;
    while (lead < words.length && this.connectives.has(words[lead]!)) lead++;
    // The longest run of connectives that leaves a command: a clause may itself start with one ("and so on").
    for (let i = lead; i > 0; i--) {
      const rest = words.slice(i);
      if (this.stateAfterLastClause(rest, false) !== undefined) return rest;
    }
    return words;
  }

  /**
   * The clause automaton's state after the last clause, if `words` is one clause or two joined (or, with
   * `leading`, a connective and a clause).
   */
  private stateAfterLastClause(words: string[], leading = true): number | undefined {
    const whole = this.walk(words);
    if (whole !== undefined) return whole;
    for (let i = 1; i < words.length; i++) {
      if (!this.connectives.has(words[i - 1]!)) continue;
      const last = this.walk(words.slice(i));
      if (last === undefined) continue;
      let j = i - 1;
      while (j > 0 && this.connectives.has(words[j - 1]!)) j--;
      if (j === 0 ? leading : this.walk(words.slice(0, j)) !== undefined) return last;
    }
    return undefined;
  }

  /** The final state `words` reach in the clause automaton, undefined if they are not a clause. */
  private walk(words: string[]): number | undefined {
    let s: number | undefined = 0;
    for (const w of words) {
      s = this.clause.next[s]!.get(w);
      if (s === undefined) return undefined;
    }
    return this.clause.final[s] ? s : undefined;
  }
}

/** The words written in a rule body itself, not in the rules it refers to. */
function literalWords(node: Node | undefined): string[] {
  if (!node) return [];
  switch (node.kind) {
    case 'word':
      return [node.word];
    case 'rule':
      return [];
    case 'seq':
      return node.items.flatMap(literalWords);
    case 'alt':
      return node.options.flatMap(literalWords);
    default:
      return literalWords(node.node);
  }
}

/**
 * The grammar with a connective allowed before the first clause: a speaker who pauses before "and then" ends
 * one utterance with the first command and starts the next with the connective ("and then go home"). Such an
 * utterance is a command of its own (`ClauseEnds.withoutLeadingConnective` gives its text). Only the public
 * rule is replaced, in a new map; a grammar of another shape is returned as it was.
 */
export function continuing(grammar: { rules: Map<string, Node>; root: string }): {
  rules: Map<string, Node>;
  root: string;
} {
  const body = grammar.rules.get(grammar.root);
  // <one> [ ( connectives ) <one> ]
  if (body?.kind !== 'seq' || body.items.length !== 2) return grammar;
  const [first, rest] = body.items;
  if (first?.kind !== 'rule' || rest?.kind !== 'opt' || rest.node.kind !== 'seq') return grammar;
  const connective = rest.node.items[0];
  if (!connective || rest.node.items.length !== 2) return grammar;
  const rules = new Map(grammar.rules);
  rules.set(grammar.root, { kind: 'seq', items: [{ kind: 'opt', node: connective }, first, rest] });
  return { rules, root: grammar.root };
}
