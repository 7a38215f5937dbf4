// A tiny schema language for scheduling parameters, as plain data: the scenario validator builds its
// field types from it, and the scheduler checks run-time values (`xl sched-*`, hot swap) with
// checkParams below, so both refuse the same values with the same bounds.

/** One parameter. Times are integer nanoseconds; `default` is what the policy uses when it is absent. */
export type ParamSpec =
  | {
      readonly type: 'time';
      readonly doc: string;
      /** Least value (ns); 0 may also be allowed on its own (`zeroTurnsOff`). */
      readonly min: number;
      readonly max?: number;
      /** 0 is allowed besides [min, max]: it turns the feature off (a rate limit). */
      readonly zeroTurnsOff?: boolean;
      readonly default?: number;
      /** What an absent optional parameter means (no default). */
      readonly absent?: string;
    }
  | { readonly type: 'int'; readonly doc: string; readonly min: number; readonly max: number; readonly default?: number; readonly absent?: string }
  | { readonly type: 'bool'; readonly doc: string; readonly default?: boolean; readonly absent?: string }
  | { readonly type: 'enum'; readonly doc: string; readonly values: readonly string[]; readonly default?: string; readonly absent?: string };

export type ParamSchema = { readonly [key: string]: ParamSpec };

/** The value type a spec describes. */
export type ValueOf<S extends ParamSpec> = S extends { type: 'time' | 'int' }
  ? number
  : S extends { type: 'bool' }
    ? boolean
    : S extends { type: 'enum'; values: readonly (infer E)[] }
      ? E
      : never;

/** A problem with one parameter: which, and why (times in the units of formatNs). */
export interface ParamProblem {
  readonly key: string;
  readonly message: string;
}

const UNITS: readonly [number, string][] = [
  [1e9, 's'],
  [1e6, 'ms'],
  [1e3, 'us'],
];

/** Nanoseconds as the scenario format writes them: `30ms`, `500us`, `1.5s`, `7ns`. */
export function formatNs(ns: number): string {
  if (ns === 0) return '0';
  for (const [scale, unit] of UNITS) if (Math.abs(ns) >= scale && Number.isInteger((ns / scale) * 1000)) return `${ns / scale}${unit}`;
  return `${ns}ns`;
}

/** The allowed range of a spec, in words: `1ms–1s`, `0 or 100us–500ms`, `1–65535`. */
export function describeRange(spec: ParamSpec): string {
  switch (spec.type) {
    case 'time': {
      const lo = spec.min === 1 ? '> 0' : `≥ ${formatNs(spec.min)}`;
      const range = spec.max === undefined ? lo : `${formatNs(spec.min)}–${formatNs(spec.max)}`;
      return spec.zeroTurnsOff ? `0 or ${range}` : range;
    }
    case 'int':
      return `${spec.min}–${spec.max}`;
    case 'bool':
      return 'true or false';
    case 'enum':
      return `one of ${spec.values.join(', ')}`;
  }
}

/** Why `value` does not fit `spec` (undefined: it fits). */
export function paramProblem(spec: ParamSpec, value: unknown): string | undefined {
  switch (spec.type) {
    case 'time': {
      if (typeof value !== 'number' || !Number.isInteger(value)) return `expected an integer number of ns, got ${JSON.stringify(value)}`;
      if (spec.zeroTurnsOff && value === 0) return undefined;
      if (value < spec.min || (spec.max !== undefined && value > spec.max)) return `must be ${describeRange(spec)}, got ${formatNs(value)}`;
      return undefined;
    }
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value)) return `expected an integer, got ${JSON.stringify(value)}`;
      return value < spec.min || value > spec.max ? `must be ${describeRange(spec)}, got ${value}` : undefined;
    case 'bool':
      return typeof value === 'boolean' ? undefined : `expected true or false, got ${JSON.stringify(value)}`;
    case 'enum':
      return typeof value === 'string' && spec.values.includes(value) ? undefined : `must be ${describeRange(spec)}, got ${JSON.stringify(value)}`;
  }
}

/** The defaults of a schema (parameters without a default are left out). */
export function defaultsOf(schema: ParamSchema): Record<string, number | boolean | string> {
  const out: Record<string, number | boolean | string> = {};
  for (const [k, s] of Object.entries(schema)) if (s.default !== undefined) out[k] = s.default;
  return out;
}
