// The machinery of the declarative field table (format.ts): value types that decode a plain YAML
// value and report every problem they find, objects made of named fields, and the rules that relate
// fields to each other. Each type and field also describes itself, which is how
// describeScenarioFormat() renders the reference from the same table the validator runs.
//
// Decoding never stops at the first problem: a type reports into the Ctx and returns what it could
// decode (a `Loose` value: objects keep their good fields, lists keep their good items in place), so
// checks across fields still run on the rest and one pass reports everything.

import { accessSync, constants, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { describeValue, oneLine, formatFrequency, formatSize, formatTime, parseFrequency, parseSize, parseTime, Parsed } from './units';

export type Path = readonly (string | number)[];

/** `['vms', 2, 'sched', 'pin', 0]` → `vms[2].sched.pin[0]`; an odd key reads `vms[0]["bad key"]`. */
export function formatPath(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (!/^[A-Za-z0-9_-]+$/.test(seg)) out += `[${oneLine(JSON.stringify(seg.length > 40 ? `${seg.slice(0, 37)}...` : seg))}]`;
    else out += out ? `.${seg}` : seg;
  }
  return out;
}

/** One problem in a scenario: where (a path like `vms[2].vcpus`) and what. */
export interface ScenarioIssue {
  path: string;
  message: string;
  /** 1-based position in the YAML text of the value at fault (or of its nearest present parent). */
  line?: number;
  column?: number;
}

export type Locate = (path: Path) => { line: number; column: number } | undefined;

/** Where decoding reports problems, and what it needs from outside (the directory images are relative to). */
export class Ctx {
  readonly issues: ScenarioIssue[] = [];
  /** Values that are valid but have no effect (a Credit weight under round robin): reported, not refused. */
  readonly warnings: ScenarioIssue[] = [];
  constructor(
    readonly baseDir: string,
    private readonly locate: Locate = () => undefined,
    /** Where a file path as written is on disk (default: relative to baseDir, absolute as is). */
    readonly resolveFile: (written: string) => string = (written) => (isAbsolute(written) ? written : resolve(baseDir, written)),
  ) {}

  report(path: Path, message: string): void {
    this.issues.push(this.issue(path, message));
  }

  warn(path: Path, message: string): void {
    this.warnings.push(this.issue(path, message));
  }

  private issue(path: Path, message: string): ScenarioIssue {
    const issue: ScenarioIssue = { path: formatPath(path), message: oneLine(message) };
    const at = this.locate(path);
    if (at) {
      issue.line = at.line;
      issue.column = at.column;
    }
    return issue;
  }
}

/**
 * What decoding yields when some parts are invalid: every object property may be missing and every
 * list item may be undefined (kept in place so indexes still match paths). Checks across fields are
 * written against this, so the compiler makes them cope with the parts that failed.
 */
export type Loose<T> = T extends readonly (infer E)[] ? (Loose<E> | undefined)[] : T extends object ? { [K in keyof T]?: Loose<T[K]> } : T;

/** A kind of value: decodes a plain (YAML-parsed) value, and says what it is for the reference. */
export abstract class Type<T> {
  /** Type-level only: the decoded type, so `Field<infer T>` infers T itself rather than its Loose form. */
  declare readonly __decoded?: T;
  /** The "type" column of the reference, in markdown: `integer 1–64`, `time`. */
  abstract readonly summary: string;
  /** Decodes a present (neither undefined nor null) value; reports problems and returns undefined when unusable. */
  abstract decode(value: unknown, path: Path, ctx: Ctx): Loose<T> | undefined;
}

// ---------------------------------------------------------------------------------------------
// Scalars

export class IntType extends Type<number> {
  readonly summary: string;
  constructor(
    readonly min: number,
    readonly max: number = Number.MAX_SAFE_INTEGER,
  ) {
    super();
    this.summary = max === Number.MAX_SAFE_INTEGER ? `integer ≥ ${min}` : `integer ${min}–${max}`;
  }

  private expected(): string {
    if (this.min === 1) return 'a positive integer';
    if (this.min === 0) return 'a non-negative integer';
    return `an integer ≥ ${this.min}`;
  }

  decode(value: unknown, path: Path, ctx: Ctx): number | undefined {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < this.min) {
      ctx.report(path, `expected ${this.expected()}, got ${describeValue(value)}`);
      return undefined;
    }
    if (value > this.max) {
      ctx.report(path, `expected at most ${this.max}, got ${value}`);
      return undefined;
    }
    return value;
  }
}

export class BoolType extends Type<boolean> {
  readonly summary = '`true` | `false`';
  decode(value: unknown, path: Path, ctx: Ctx): boolean | undefined {
    if (typeof value === 'boolean') return value;
    ctx.report(path, `expected true or false, got ${describeValue(value)}`);
    return undefined;
  }
}

export class StringType extends Type<string> {
  constructor(
    readonly summary: string,
    /** When set, what a valid string looks like, for messages. */
    private readonly pattern?: { re: RegExp; what: string; doc: string; maxLength: number },
  ) {
    super();
  }

  decode(value: unknown, path: Path, ctx: Ctx): string | undefined {
    // A bare number where a string is expected (`args: [1, 2]`) is almost always meant as text.
    if (typeof value === 'number' && !this.pattern) return String(value);
    if (typeof value !== 'string') {
      ctx.report(path, `expected a string, got ${describeValue(value)}`);
      return undefined;
    }
    const p = this.pattern;
    if (p && (!p.re.test(value) || value.length > p.maxLength)) {
      ctx.report(path, `${describeValue(value)} is not a valid ${p.what} (use ${p.doc}; at most ${p.maxLength} characters)`);
      return undefined;
    }
    return value;
  }
}

export class EnumType<E extends string> extends Type<E> {
  readonly summary: string;
  constructor(readonly values: readonly E[]) {
    super();
    this.summary = values.map((v) => `\`${v}\``).join(' | ');
  }

  decode(value: unknown, path: Path, ctx: Ctx): Loose<E> | undefined {
    if (typeof value === 'string' && (this.values as readonly string[]).includes(value)) return value as Loose<E>;
    const near = typeof value === 'string' ? suggest(value, this.values) : undefined;
    ctx.report(path, `expected one of ${this.values.join(', ')}, got ${describeValue(value)}${near ? ` (did you mean ${near}?)` : ''}`);
    return undefined;
  }
}

/** Times, frequencies and sizes: a unit-bearing string or a bare number, with bounds. */
class QuantityType extends Type<number> {
  constructor(
    readonly summary: string,
    private readonly parse: (v: unknown) => Parsed,
    private readonly show: (n: number) => string,
    private readonly min: number,
    private readonly max: number,
    private readonly multipleOf = 1,
  ) {
    super();
  }

  decode(value: unknown, path: Path, ctx: Ctx): number | undefined {
    const r = this.parse(value);
    if (!r.ok) {
      ctx.report(path, r.message);
      return undefined;
    }
    const text = String(value);
    if (r.value < this.min) {
      ctx.report(path, this.min === 1 ? `must be more than 0, got ${text}` : `must be at least ${this.show(this.min)}, got ${text}`);
    } else if (r.value > this.max) {
      ctx.report(path, `must be at most ${this.show(this.max)}, got ${text}`);
    } else if (r.value % this.multipleOf !== 0) {
      ctx.report(path, `must be a multiple of ${this.show(this.multipleOf)}, got ${text}`);
    } else {
      return r.value;
    }
    return undefined;
  }
}

export function time(opts: { min?: number } = {}): Type<number> {
  const min = opts.min ?? 0;
  const bound = min === 0 ? '' : min === 1 ? ' > 0' : ` ≥ ${formatTime(min)}`;
  return new QuantityType(`time${bound}`, parseTime, formatTime, min, Number.MAX_SAFE_INTEGER);
}

export function frequency(): Type<number> {
  return new QuantityType('frequency > 0', parseFrequency, formatFrequency, 1, Number.MAX_SAFE_INTEGER);
}

export function size(opts: { min: number; max: number; multipleOf: number }): Type<number> {
  const summary = `size, ${formatSize(opts.min)}–${formatSize(opts.max)}, a multiple of ${formatSize(opts.multipleOf)}`;
  return new QuantityType(summary, parseSize, formatSize, opts.min, opts.max, opts.multipleOf);
}

/** A path to an existing, readable file, relative to the scenario's directory; decodes to the absolute path. */
export class FileType extends Type<string> {
  readonly summary = 'path of a file, relative to the scenario file';
  decode(value: unknown, path: Path, ctx: Ctx): string | undefined {
    if (typeof value !== 'string' || value === '') {
      ctx.report(path, `expected a file path, got ${describeValue(value)}`);
      return undefined;
    }
    const abs = ctx.resolveFile(value);
    let isFile: boolean;
    try {
      isFile = statSync(abs).isFile();
    } catch {
      ctx.report(path, `file not found: ${abs}`);
      return undefined;
    }
    if (!isFile) {
      ctx.report(path, `not a regular file: ${abs}`);
      return undefined;
    }
    try {
      accessSync(abs, constants.R_OK);
    } catch {
      ctx.report(path, `file not readable: ${abs}`);
      return undefined;
    }
    return abs;
  }
}

// ---------------------------------------------------------------------------------------------
// Lists

export class ListType<T> extends Type<T[]> {
  readonly summary: string;
  constructor(
    readonly of: Type<T>,
    private readonly opts: { min?: number; unique?: boolean; summary?: string } = {},
  ) {
    super();
    this.summary = opts.summary ?? `list of ${of.summary}`;
  }

  decode(value: unknown, path: Path, ctx: Ctx): Loose<T[]> | undefined {
    if (!Array.isArray(value)) {
      ctx.report(path, `expected a list, got ${describeValue(value)}`);
      return undefined;
    }
    const min = this.opts.min ?? 0;
    if (value.length < min) ctx.report(path, `needs at least ${min} ${min === 1 ? 'entry' : 'entries'}`);
    const out = value.map((item, i) => {
      if (item === null || item === undefined) {
        ctx.report([...path, i], 'empty entry');
        return undefined;
      }
      return this.of.decode(item, [...path, i], ctx);
    });
    if (this.opts.unique) {
      const seen = new Map<unknown, number>();
      out.forEach((item, i) => {
        if (item === undefined) return;
        const first = seen.get(item);
        if (first !== undefined) ctx.report([...path, i], `${describeValue(item)} is listed twice (also ${formatPath([...path, first])})`);
        else seen.set(item, i);
      });
    }
    return out as Loose<T[]>;
  }
}

// ---------------------------------------------------------------------------------------------
// Fields and objects

/**
 * One key of a mapping. `required`: it must be there. `raw`: the default, written as in a scenario
 * file (`'10ms'`, `{}`) and decoded by the field's own type, so a default is validated like user input
 * and reads in the reference exactly as a user would write it. `optional`: absent stays undefined
 * (`absent` says what that means).
 */
export interface Field<T, Optional extends boolean = boolean> {
  readonly type: Type<T>;
  readonly doc: string;
  readonly required: boolean;
  readonly raw?: unknown;
  readonly absent?: string;
  /** Only a type-level marker; never read. */
  readonly optional?: Optional;
}

export function required<T>(type: Type<T>, doc: string): Field<T, false> {
  return { type, doc, required: true };
}

export function withDefault<T>(type: Type<T>, raw: unknown, doc: string): Field<T, false> {
  return { type, doc, required: false, raw };
}

export function optional<T>(type: Type<T>, doc: string, absent: string): Field<T, true> {
  return { type, doc, required: false, absent };
}

/** The same fields, all optional with no default (for an update of some of them). */
export function partial<F extends Fields>(
  fields: F,
  absent: string,
): { [K in keyof F]: F[K] extends Field<infer T, boolean> ? Field<T, true> : never } {
  const out: Record<string, Field<unknown, true>> = {};
  for (const [k, f] of Object.entries(fields)) out[k] = optional(f.type, f.doc, absent);
  return out as { [K in keyof F]: F[K] extends Field<infer T, boolean> ? Field<T, true> : never };
}

export type Fields = { readonly [key: string]: Field<unknown, boolean> };

/** The decoded value of a mapping with these fields. */
export type InferFields<F extends Fields> = {
  -readonly [K in keyof F]: F[K] extends Field<infer T, infer O> ? (O extends true ? T | undefined : T) : never;
};

/** A check that relates several fields; `doc` is listed in the reference under the table. */
export interface Rule<T> {
  readonly doc: string;
  /** `written`: the keys present in the input (decoded or not), as opposed to filled by defaults. */
  check(value: Loose<T>, path: Path, ctx: Ctx, written: ReadonlySet<string>): void;
}

/** Extra advice for an unknown key (e.g. that it belongs to another scheduler policy). */
export type UnknownKeyHint = (key: string) => string | undefined;

export function isMapping(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  // A plain object of any realm: its prototype is null or a root prototype (Object.prototype there).
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === null || (Object.getPrototypeOf(proto) === null && Object.prototype.toString.call(v) === '[object Object]');
}

export class ObjectType<F extends Fields> extends Type<InferFields<F>> {
  readonly summary = 'mapping';
  constructor(
    readonly fields: F,
    readonly rules: readonly Rule<InferFields<F>>[] = [],
    /** A paragraph for the reference, above the table. */
    readonly doc?: string,
    /** Advice for unknown keys of this mapping (e.g. a key that belongs one level down). */
    private readonly unknownKeyHint?: UnknownKeyHint,
  ) {
    super();
  }

  decode(value: unknown, path: Path, ctx: Ctx, hint: UnknownKeyHint | undefined = this.unknownKeyHint): Loose<InferFields<F>> | undefined {
    const keys = Object.keys(this.fields);
    if (!isMapping(value)) {
      ctx.report(path, `expected a mapping (with keys ${keys.join(', ')}), got ${describeValue(value)}`);
      return undefined;
    }
    reportUnknownKeys(value, keys, path, ctx, hint);
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(this.fields)) {
      const v = Object.hasOwn(value, key) ? value[key] : undefined;
      const d = decodeField(field, v, [...path, key], ctx);
      if (d !== undefined) out[key] = d;
    }
    const loose = out as Loose<InferFields<F>>;
    const written = new Set(Object.keys(value).filter((k) => value[k] !== null && value[k] !== undefined));
    for (const rule of this.rules) rule.check(loose, path, ctx, written);
    return loose;
  }
}

export function decodeField<T>(field: Field<T>, v: unknown, path: Path, ctx: Ctx): Loose<T> | undefined {
  if (v !== undefined && v !== null) return field.type.decode(v, path, ctx);
  if (field.required) {
    ctx.report(path, v === null ? 'missing a value (required)' : 'missing (required)');
    return undefined;
  }
  if ('raw' in field) return field.type.decode(JSON.parse(JSON.stringify(field.raw)), path, ctx);
  return undefined;
}

export function reportUnknownKeys(value: Record<string, unknown>, allowed: readonly string[], path: Path, ctx: Ctx, hint?: UnknownKeyHint): boolean {
  let any = false;
  for (const key of Object.keys(value)) {
    if (allowed.includes(key)) continue;
    any = true;
    const extra = hint?.(key);
    const near = suggest(key, allowed);
    const advice = extra ?? (near ? `did you mean ${near}?` : allowed.length ? `expected one of: ${allowed.join(', ')}` : 'no keys are allowed here');
    ctx.report([...path, key], `unknown key; ${advice}`);
  }
  return any;
}

// ---------------------------------------------------------------------------------------------
// A mapping whose parameters depend on a selector: `{ policy: credit, params: { tslice: 30ms } }`.

export type InferVariants<V extends { readonly [k: string]: ObjectType<Fields> }, S extends string, P extends string> = {
  [K in keyof V & string]: { [_ in S]: K } & { [_ in P]: V[K] extends ObjectType<infer F> ? InferFields<F> : never };
}[keyof V & string];

export class SelectType<V extends { readonly [k: string]: ObjectType<Fields> }, S extends string, P extends string> extends Type<
  InferVariants<V, S, P>
> {
  readonly summary = 'mapping';
  readonly names: readonly (keyof V & string)[];
  constructor(
    /** The selecting key (`policy`), its doc and default. */
    readonly selector: { key: S; doc: string; default: keyof V & string },
    /** The key of the selected parameters (`params`) and its doc. */
    readonly params: { key: P; doc: string },
    readonly variants: V,
    readonly doc?: string,
  ) {
    super();
    this.names = Object.keys(variants);
  }

  decode(value: unknown, path: Path, ctx: Ctx): Loose<InferVariants<V, S, P>> | undefined {
    const S = this.selector.key;
    const P = this.params.key;
    if (!isMapping(value)) {
      ctx.report(path, `expected a mapping (with keys ${S}, ${P}), got ${describeValue(value)}`);
      return undefined;
    }
    // A parameter written beside the selector instead of under params: `{ policy: credit, tslice: 5ms }`.
    reportUnknownKeys(value, [S, P], path, ctx, (key) =>
      this.names.some((n) => Object.hasOwn(this.variants[n]!.fields, key)) ? `parameters go under ${P}: did you mean ${P}.${key}?` : undefined,
    );
    const sel = new EnumType(this.names);
    const rawName = value[S] ?? null;
    const name = rawName === null ? this.selector.default : sel.decode(rawName, [...path, S], ctx);
    if (name === undefined) return undefined;
    const variant = this.variants[name]!;
    const rawParams = value[P] ?? {};
    const hint: UnknownKeyHint = (key) => {
      const owners = this.names.filter((n) => n !== name && Object.hasOwn(this.variants[n]!.fields, key));
      if (!owners.length) return undefined;
      const own = Object.keys(variant.fields);
      return `${key} is a parameter of ${owners.join(', ')}, not ${name} (${name} takes ${own.length ? own.join(', ') : 'no parameters'})`;
    };
    const params = variant.decode(rawParams, [...path, P], ctx, hint);
    return { [S]: name, [P]: params } as Loose<InferVariants<V, S, P>>;
  }
}

// ---------------------------------------------------------------------------------------------
// A list entry that does exactly one of several things: `{ at: 50ms, pause: { vm: web } }`.

export type InferActions<C extends Fields, V extends { readonly [k: string]: Type<unknown> }> = {
  [K in keyof V & string]: InferFields<C> & { kind: K; body: V[K] extends Type<infer B> ? B : never };
}[keyof V & string];

export class OneOfType<C extends Fields, V extends { readonly [k: string]: Type<unknown> }> extends Type<InferActions<C, V>> {
  readonly summary = 'mapping';
  readonly names: readonly (keyof V & string)[];
  constructor(
    /** Keys every entry has (`at`). */
    readonly common: C,
    /** The alternatives: the entry has exactly one of these keys. */
    readonly variants: V,
    /** A line of doc per alternative, for the reference. */
    readonly variantDocs: { readonly [K in keyof V]: string },
    readonly doc?: string,
  ) {
    super();
    this.names = Object.keys(variants);
  }

  decode(value: unknown, path: Path, ctx: Ctx): Loose<InferActions<C, V>> | undefined {
    const allowed = [...Object.keys(this.common), ...this.names];
    if (!isMapping(value)) {
      ctx.report(path, `expected a mapping (with keys ${allowed.join(', ')}), got ${describeValue(value)}`);
      return undefined;
    }
    const unknown = reportUnknownKeys(value, allowed, path, ctx);
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(this.common)) {
      const d = decodeField(field, Object.hasOwn(value, key) ? value[key] : undefined, [...path, key], ctx);
      if (d !== undefined) out[key] = d;
    }
    const present = this.names.filter((n) => Object.hasOwn(value, n));
    if (present.length === 0) {
      if (!unknown) ctx.report(path, `says nothing to do: give one of ${this.names.join(', ')}`);
      return out as Loose<InferActions<C, V>>;
    }
    if (present.length > 1) {
      ctx.report(path, `has ${present.join(' and ')}; an entry does exactly one of ${this.names.join(', ')}`);
      return out as Loose<InferActions<C, V>>;
    }
    const kind = present[0]!;
    out.kind = kind;
    const raw = value[kind] ?? {};
    const body = this.variants[kind]!.decode(raw, [...path, kind], ctx);
    if (body !== undefined) out.body = body;
    return out as Loose<InferActions<C, V>>;
  }
}

// ---------------------------------------------------------------------------------------------
// Suggestions for misspelt keys and values

/** Optimal-string-alignment distance: edits, where swapping two neighbours counts as one. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest candidate to a misspelling (`vpcus` → `vcpus`, `trap_path` → `trapPath`), if any is close. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  if (word.length > 64) return undefined;
  const norm = (s: string) => s.toLowerCase().replace(/[-_\s]/g, '');
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const w = norm(word);
    const n = norm(c);
    // Same letters but for case and separators, or one a clear prefix of the other (`paravirtual`).
    const d =
      w === n ? 0 : Math.min(w.length, n.length) >= 4 && (w.startsWith(n) || n.startsWith(w)) ? 1 : editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  const limit = Math.max(1, Math.floor(Math.min(word.length, best?.length ?? 0) / 3));
  return bestD <= limit ? best : undefined;
}
