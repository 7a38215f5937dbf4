// Quantities with units: virtual times (integer nanoseconds), clock frequencies (integer Hz) and
// memory sizes (integer bytes). Parsing is exact — `1.1ms` is 1100000 ns, not 1100000.0000000002 —
// because the integer is computed from the decimal digits with BigInt, never through a float.

/** The outcome of parsing one quantity: the integer value, or a message saying what is wrong. */
export type Parsed = { ok: true; value: number } | { ok: false; message: string };

interface UnitSystem {
  /** What a value of this system is called in messages: "a time", "a frequency", "a size". */
  readonly what: string;
  /** The base unit, used for bare numbers and in range messages. */
  readonly base: string;
  /** The base unit in words: "nanoseconds". */
  readonly baseName: string;
  /** What 2^53-1 base units is, in words, for the "too large" message. */
  readonly maxNote: string;
  /** Accepted unit spellings (matched exactly, or lower-cased when `caseless`), to multipliers. */
  readonly units: ReadonlyMap<string, bigint>;
  readonly caseless: boolean;
  /** The advice appended to "is not a …": which units to use. */
  readonly advice: string;
  /** Extra advice for spellings people often use by mistake (`4MB` for a size). */
  readonly hint?: (unit: string) => string | undefined;
  /** Units for formatting, largest first. */
  readonly display: readonly (readonly [string, number])[];
  /**
   * A bare number other than 0 is an error, not a quantity of the base unit: `duration: 200` would
   * be 200 ns, which no one writing it means.
   */
  readonly requireUnit?: boolean;
}

const MAX = BigInt(Number.MAX_SAFE_INTEGER);

const TIME: UnitSystem = {
  what: 'a time',
  base: 'ns',
  baseName: 'nanoseconds',
  maxNote: ', about 104 days',
  units: new Map([
    ['ns', 1n],
    ['us', 1_000n],
    ['µs', 1_000n],
    ['ms', 1_000_000n],
    ['s', 1_000_000_000n],
  ]),
  caseless: false,
  advice: 'use ns, us, ms or s',
  hint: (unit) => (['ns', 'us', 'ms', 's'].includes(unit.toLowerCase()) ? `; units are case-sensitive: write ${unit.toLowerCase()}` : undefined),
  display: [
    ['s', 1e9],
    ['ms', 1e6],
    ['us', 1e3],
    ['ns', 1],
  ],
  requireUnit: true,
};

const FREQUENCY: UnitSystem = {
  what: 'a frequency',
  base: 'Hz',
  baseName: 'Hz',
  maxNote: '',
  units: new Map([
    ['hz', 1n],
    ['khz', 1_000n],
    ['mhz', 1_000_000n],
    ['ghz', 1_000_000_000n],
  ]),
  caseless: true,
  advice: 'use Hz, kHz, MHz or GHz',
  display: [
    ['GHz', 1e9],
    ['MHz', 1e6],
    ['kHz', 1e3],
    ['Hz', 1],
  ],
};

const SIZE: UnitSystem = {
  what: 'a size',
  base: 'B',
  baseName: 'bytes',
  maxNote: '',
  units: new Map([
    ['B', 1n],
    ['KiB', 1024n],
    ['MiB', 1024n ** 2n],
    ['GiB', 1024n ** 3n],
  ]),
  caseless: false,
  advice: 'use KiB, MiB or GiB',
  hint: (unit) => {
    const binary = { k: 'KiB', m: 'MiB', g: 'GiB' }[unit.toLowerCase().charAt(0)];
    return binary && /^[kmg]i?b?$/i.test(unit) ? `; sizes are binary: write ${binary}` : undefined;
  },
  display: [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
    ['B', 1],
  ],
};

const NUMBER_UNIT = /^(\d+(?:\.\d*)?|\.\d+)\s*([^\d\s.][^\s]*)?$/u;

/** Text made safe for a one-line message: control and line-separator characters escaped. */
export function oneLine(s: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return s.replace(/[\x00-\x1f\x7f\u2028\u2029]/g, (c) =>
    c === '\n' ? '\\n' : c === '\t' ? '\\t' : c === '\r' ? '\\r' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** A string as it reads in a message: quoted, on one line, long ones cut. */
function quote(s: string): string {
  return `'${oneLine(s.length > 40 ? `${s.slice(0, 37)}...` : s)}'`;
}

function parseQuantity(sys: UnitSystem, input: unknown): Parsed {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) {
      return { ok: false, message: `expected ${sys.what}, got ${input}` };
    }
    if (sys.requireUnit && input !== 0) return { ok: false, message: noUnit(sys, String(input)) };
    if (!Number.isInteger(input)) {
      return { ok: false, message: `${input} is not a whole number of ${sys.baseName} (a bare number is in ${sys.baseName}; ${sys.advice})` };
    }
    if (input > Number.MAX_SAFE_INTEGER) {
      return { ok: false, message: `${input} is too large (at most 2^53-1 ${sys.baseName}${sys.maxNote})` };
    }
    return { ok: true, value: input };
  }
  if (typeof input !== 'string') {
    return { ok: false, message: `expected ${sys.what} (${sys.advice}), got ${describeValue(input)}` };
  }
  const text = input.trim();
  const m = NUMBER_UNIT.exec(text);
  const unitText = m?.[2] ?? sys.base;
  const mult = m ? sys.units.get(sys.caseless ? unitText.toLowerCase() : unitText) : undefined;
  if (!m || mult === undefined) {
    const hint = m && sys.hint ? (sys.hint(unitText) ?? '') : '';
    return { ok: false, message: `${quote(input)} is not ${sys.what} (${sys.advice}${hint})` };
  }
  if (sys.requireUnit && m[2] === undefined && !/^[0.]+$/.test(m[1]!)) return { ok: false, message: noUnit(sys, m[1]!) };
  const [whole, frac = ''] = m[1]!.split('.');
  const scale = 10n ** BigInt(frac.length);
  const scaled = BigInt(`${whole || '0'}${frac}`) * mult;
  if (scaled % scale !== 0n) {
    return { ok: false, message: `${quote(input)} is not a whole number of ${sys.baseName}` };
  }
  const value = scaled / scale;
  if (value > MAX) {
    return { ok: false, message: `${quote(input)} is too large (at most 2^53-1 ${sys.baseName}${sys.maxNote})` };
  }
  return { ok: true, value: Number(value) };
}

function noUnit(sys: UnitSystem, n: string): string {
  const units = sys.display.map(([u]) => u).reverse();
  return `${n} has no unit: write ${n}${units[2]} (or ${units
    .filter((_, i) => i !== 2)
    .map((u) => `${n}${u}`)
    .join(', ')}); ${sys.what} needs one`;
}

/** Formats an integer quantity in the largest unit that shows it exactly with at most 3 decimals. */
function format(sys: UnitSystem, value: number): string {
  for (const [unit, size] of sys.display) {
    if (value < size && size !== 1) continue;
    const whole = Math.floor(value / size);
    const rest = value - whole * size;
    if (rest === 0) return `${whole}${unit}`;
    const digits = Math.round(Math.log10(size));
    const frac = String(rest).padStart(digits, '0').replace(/0+$/, '');
    if (sys !== SIZE && frac.length <= 3) return `${whole}.${frac}${unit}`;
  }
  return `${value}${sys.base}`;
}

/** `10ms`, `1.5us`, `250 ns`, `2s` (or `0`) → integer nanoseconds; a bare number other than 0 is refused. */
export function parseTime(input: unknown): Parsed {
  return parseQuantity(TIME, input);
}

/** `1GHz`, `800MHz`, `32768Hz` or a bare number of Hz → integer Hz. */
export function parseFrequency(input: unknown): Parsed {
  return parseQuantity(FREQUENCY, input);
}

/** `4MiB`, `64KiB`, `1GiB` or a bare number of bytes → integer bytes. */
export function parseSize(input: unknown): Parsed {
  return parseQuantity(SIZE, input);
}

/** Nanoseconds in the unit that reads best: 200000000 → `200ms`, 1500000 → `1.5ms`, 0 → `0ns`. */
export function formatTime(ns: number): string {
  return format(TIME, ns);
}

/** Hz in the unit that reads best: 1000000000 → `1GHz`. */
export function formatFrequency(hz: number): string {
  return format(FREQUENCY, hz);
}

/** Bytes in the largest binary unit that divides them: 4194304 → `4MiB`, 6144 → `6KiB`. */
export function formatSize(bytes: number): string {
  return format(SIZE, bytes);
}

/** How a YAML value reads in a message: `'abc'`, `-1`, `true`, `a list`, `a mapping`, `nothing`. */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (typeof v === 'string') return quote(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return 'a list';
  if (v instanceof Date) return `a date (${quote(v.toISOString())})`;
  if (typeof v === 'object') return 'a mapping';
  return typeof v;
}
