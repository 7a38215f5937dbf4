// A small argument parser for vsim's commands, with no dependencies. Each command declares its
// options; the parser returns their values and the positional arguments, or throws a UsageError
// whose message is one line naming the offending word.
//
// Conventions (those of most Unix tools):
//   --name value, --name=value  for options that take a value
//   --flag                      for boolean options (`--flag=...` is an error)
//   -x                          a declared short alias (no bundling of several short flags)
//   --                          ends the options; everything after it is positional
// With `stopAtPositional`, parsing also stops at the first positional argument, so a guest
// program's own arguments (`vsim exec prog.elf -v --foo`) pass through untouched.

/** A command-line mistake: the message is one line; the caller prints it and exits with status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * A UsageError for `command` ('vsim' or 'vsim exec'), worded `vsim: exec: MESSAGE`, so that every
 * line vsim itself prints on stderr starts with `vsim:`.
 */
export function usageError(command: string, message: string): UsageError {
  const sub = command.replace(/^vsim\s*/, '');
  return new UsageError(`vsim: ${sub ? `${sub}: ` : ''}${message}`);
}

interface OptionBase {
  /** One-letter alias, without the dash. */
  readonly short?: string;
  /** For help text: what the option does. */
  readonly description: string;
}

export interface FlagOption extends OptionBase {
  readonly type: 'boolean';
}

export interface StringOption extends OptionBase {
  readonly type: 'string';
  /** If given, the value must be one of these. */
  readonly choices?: readonly string[];
  /** For help text: the value's placeholder, e.g. FILE. */
  readonly valueName?: string;
  readonly default?: string;
}

export interface IntegerOption extends OptionBase {
  readonly type: 'integer';
  readonly min?: number;
  readonly max?: number;
  readonly valueName?: string;
  readonly default?: number;
}

export type OptionSpec = FlagOption | StringOption | IntegerOption;
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** The parsed value of each declared option: flags are booleans, others are undefined when absent and without a default. */
export type OptionValues<S extends OptionSpecs> = {
  -readonly [K in keyof S]: S[K] extends FlagOption
    ? boolean
    : S[K] extends IntegerOption
      ? S[K] extends { default: number }
        ? number
        : number | undefined
      : S[K] extends { default: string }
        ? string
        : string | undefined;
};

export interface ParseOptions {
  /** Stop parsing options at the first positional argument (the rest are positional). */
  readonly stopAtPositional?: boolean;
  /** Used in messages: 'vsim exec'. */
  readonly command: string;
}

export interface Parsed<S extends OptionSpecs> {
  readonly options: OptionValues<S>;
  readonly positionals: string[];
}

export function parseArgs<S extends OptionSpecs>(argv: readonly string[], specs: S, how: ParseOptions): Parsed<S> {
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    values[name] = spec.type === 'boolean' ? false : spec.default;
  }
  const byShort = new Map<string, string>();
  for (const [name, spec] of Object.entries(specs)) if (spec.short) byShort.set(spec.short, name);

  const positionals: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      i++;
      break;
    }
    if (arg.length < 2 || !arg.startsWith('-')) {
      positionals.push(arg);
      if (how.stopAtPositional) {
        i++;
        break;
      }
      continue;
    }
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq < 0 ? undefined : arg.slice(eq + 1);
      if (!Object.prototype.hasOwnProperty.call(specs, name)) throw unknownOption(`--${name}`, specs, how.command);
    } else {
      const long = byShort.get(arg.slice(1));
      if (arg.length !== 2 || long === undefined) throw unknownOption(arg, specs, how.command);
      name = long;
    }
    const spec = specs[name];
    const shown = arg.startsWith('--') ? `--${name}` : arg;
    if (spec.type === 'boolean') {
      if (inline !== undefined) throw usageError(how.command, `option ${shown} takes no value (got '${arg}')`);
      values[name] = true;
      continue;
    }
    let raw = inline;
    if (raw === undefined) {
      if (i + 1 >= argv.length) throw usageError(how.command, `option ${shown} needs a value${describeValue(spec)}`);
      raw = argv[++i];
    }
    values[name] = convert(raw, shown, spec, how.command);
  }
  positionals.push(...argv.slice(i));
  return { options: values as OptionValues<S>, positionals };
}

function convert(raw: string, shown: string, spec: StringOption | IntegerOption, command: string): string | number {
  if (spec.type === 'string') {
    if (spec.choices && !spec.choices.includes(raw)) {
      throw usageError(command, `invalid value '${raw}' for ${shown}: expected one of ${spec.choices.join(', ')}`);
    }
    return raw;
  }
  // Decimal digits, optionally grouped with '_' (1_000_000) for readability.
  if (!/^\d+(_\d+)*$/.test(raw)) throw usageError(command, `invalid value '${raw}' for ${shown}: expected a whole number`);
  const n = Number(raw.replace(/_/g, ''));
  const min = spec.min ?? 0;
  const max = spec.max ?? Number.MAX_SAFE_INTEGER;
  if (n < min || n > max) throw usageError(command, `invalid value '${raw}' for ${shown}: expected ${min} to ${max}`);
  return n;
}

function describeValue(spec: StringOption | IntegerOption): string {
  if (spec.type === 'string' && spec.choices) return ` (one of ${spec.choices.join(', ')})`;
  return spec.valueName ? ` (${spec.valueName})` : '';
}

function unknownOption(arg: string, specs: OptionSpecs, command: string): UsageError {
  const names = Object.keys(specs).map((n) => `--${n}`);
  const guess = closest(arg.split('=')[0], names);
  return usageError(command, `unknown option '${arg}'${guess ? `; did you mean ${guess}?` : ''} (see '${command} --help')`);
}

/** The candidate within edit distance 2 of `word`, if any. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/** Help-text lines for a command's options, aligned. */
export function formatOptions(specs: OptionSpecs): string {
  const rows = Object.entries(specs).map(([name, spec]) => {
    let left = `${spec.short ? `-${spec.short}, ` : '    '}--${name}`;
    if (spec.type === 'string') left += ` ${spec.choices ? spec.choices.join('|') : (spec.valueName ?? 'VALUE')}`;
    if (spec.type === 'integer') left += ` ${spec.valueName ?? 'N'}`;
    const dflt = spec.type !== 'boolean' && spec.default !== undefined ? ` (default: ${spec.default})` : '';
    return [left, spec.description + dflt] as const;
  });
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return rows.map(([l, r]) => `  ${l.padEnd(width)}${r}`).join('\n');
}
