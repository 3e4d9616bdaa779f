// Pure chip discovery and selection. Kernel numbering of GPIO chips is not stable: on a Raspberry Pi 5 the
// 40-pin header is on the RP1 chip (label `pinctrl-rp1`), which older kernels number gpiochip4 and newer
// ones gpiochip0; on a Pi 4 it is `pinctrl-bcm2711`. So chips are chosen by label, never by number.

export interface ChipInfo {
  /** Device name, e.g. gpiochip4 (/dev/gpiochip4). */
  name: string;
  label: string;
  lines: number;
}

/** Header chips by preference: Pi 5 (RP1), Pi 4, Pi 3 and earlier. */
export const HEADER_CHIP_LABELS = ['pinctrl-rp1', 'pinctrl-bcm2711', 'pinctrl-bcm2835'];

/** Parses `gpiodetect` output (same in libgpiod v1 and v2): `gpiochip0 [pinctrl-rp1] (54 lines)`. */
export function parseGpiodetect(text: string): ChipInfo[] {
  const chips: ChipInfo[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+\[(.*)\]\s+\((\d+)\s+lines?\)/.exec(line.trim());
    if (m) chips.push({ name: m[1]!, label: m[2]!, lines: Number(m[3]) });
  }
  return chips;
}

/** `auto`: the header chip of a Pi if present, else the only chip; otherwise an exact label or name. */
export function selectChip(chips: ChipInfo[], wanted: string): ChipInfo {
  const list = chips.map((c) => `${c.name} [${c.label}]`).join(', ') || 'none';
  if (wanted === 'auto') {
    for (const label of HEADER_CHIP_LABELS) {
      const chip = chips.find((c) => c.label === label);
      if (chip) return chip;
    }
    if (chips.length === 1) return chips[0]!;
    throw new Error(
      `no Raspberry Pi header chip found and several chips exist; set gpio chip to one of: ${list}`,
    );
  }
  const chip = chips.find((c) => c.label === wanted) ?? chips.find((c) => c.name === wanted);
  if (!chip) throw new Error(`GPIO chip ${wanted} not found (chips: ${list})`);
  return chip;
}

export function checkOffsets(chip: ChipInfo, offsets: Iterable<[string, number]>): void {
  const seen = new Map<number, string>();
  for (const [name, offset] of offsets) {
    if (offset >= chip.lines)
      throw new Error(
        `${name}: line ${offset} does not exist on ${chip.name} [${chip.label}] (${chip.lines} lines)`,
      );
    const other = seen.get(offset);
    if (other) throw new Error(`${name} and ${other} both use line ${offset}`);
    seen.set(offset, name);
  }
}
