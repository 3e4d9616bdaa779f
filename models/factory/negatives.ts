/**
 * Out-of-scope examples: general chit-chat and questions no device command spec covers, gibberish, and word
 * salad from the training vocabulary. Split by parity: even lines train the "none" class, odd lines calibrate
 * the threshold, so the threshold is measured on sentences the model never saw.
 */
import type { Example } from './dataset.ts';
import { mulberry32 } from './rng.ts';

const GENERIC = `what is the meaning of life
tell me a joke
who are you
how old are you
what do you think about politics
i am so tired today
do you like cats or dogs
what's your favourite colour
can you help me with my homework
how do i bake bread
explain quantum physics to me
what is two plus two
who won the football game yesterday
thank you very much
good morning how are you
i need a lawyer
translate hello into french
what is the capital of mongolia
order me a pizza
send an email to my boss
how much does a car cost
my tooth hurts
sing me a lullaby
write a poem about the sea
where did i leave my keys
is it true that the earth is flat
what time does the bank open
book a flight to paris
call my mother
remind me to buy milk
how tall is mount everest
who invented the telephone
please be quiet and listen
that was a great movie
i don't know what to say
can you dance
what's the square root of nine
my computer is broken
how do you spell necessary
let's talk about something else
why is the sky blue
do you dream at night
what should i eat for dinner
recommend a good novel
how many legs does a spider have
i love you
are you a robot
what day of the week is it
read me the news headlines
convert ten dollars to euros
the quick brown fox jumps over the lazy dog
blah blah blah
hmm let me think
asdf qwerty
nevermind
what are the rules of chess
who is the president
tell me about the roman empire
is there life on mars
how do magnets work
my cat ate my sandwich
what's the best programming language
lend me some money
open the pod bay doors please hal
how far is the moon
give me a recipe for soup
what is love
file my taxes
count to a million
show me pictures of kittens`
  .split('\n')
  .map((s) => s.trim())
  .filter(Boolean);

function gibberish(rng: () => number): string {
  const letters = 'bcdfghjklmnpqrstvwxzaeiouy';
  const words = 1 + Math.floor(rng() * 5);
  return Array.from({ length: words }, () =>
    Array.from({ length: 2 + Math.floor(rng() * 7) }, () => letters[Math.floor(rng() * letters.length)]).join(
      '',
    ),
  ).join(' ');
}

/** `part` 0 → training negatives, 1 → calibration negatives; deterministic for a seed. */
export function syntheticNegatives(
  vocabulary: readonly string[],
  part: 0 | 1,
  seed: number,
  count = 120,
): Example[] {
  const rng = mulberry32(seed * 2 + part + 7919);
  const out: Example[] = GENERIC.filter((_, i) => i % 2 === part).map((text) => ({
    text,
    intent: null,
    spans: [],
  }));
  // word salad from the spec's own vocabulary too often makes a valid command ("stop the light"): only when
  // the vocabulary is large (benchmark data), never for small specs
  const salad = vocabulary.length > 2000;
  for (let i = 0; out.length < count && i < count * 2; i++) {
    if (salad && i % 2 === 0) {
      const n = 2 + Math.floor(rng() * 5);
      const words = Array.from({ length: n }, () => vocabulary[Math.floor(rng() * vocabulary.length)]!);
      out.push({ text: words.join(' '), intent: null, spans: [] });
    } else out.push({ text: gibberish(rng), intent: null, spans: [] });
  }
  return out;
}
