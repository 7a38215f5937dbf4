// The scheduling policies' parameters as fields of the scenario's table (format.ts), built from
// their schemas in @vsim/vocabulary — the same schemas the scheduler checks run-time values against
// (libs/scheduler/src/registry.ts), so a value the scenario refuses is refused at run time too, with
// the same bounds.

import { ParamSchema, ParamSpec, ValueOf, describeRange, paramProblem } from '@vsim/vocabulary';
import { BoolType, Ctx, EnumType, Field, IntType, Loose, ObjectType, Path, Rule, Type, optional, time, withDefault } from './fields';
import { formatTime } from './units';

/** A time with bounds beyond `> 0`, or 0 allowed besides them (a rate limit): decoded as a time, then checked against its spec. */
class BoundedTime extends Type<number> {
  readonly summary: string;
  private readonly base = time();
  constructor(private readonly spec: Extract<ParamSpec, { type: 'time' }>) {
    super();
    this.summary = `time, ${describeRange(spec)}`;
  }
  decode(value: unknown, path: Path, ctx: Ctx): number | undefined {
    const ns = this.base.decode(value, path, ctx) as number | undefined;
    if (ns === undefined) return undefined;
    const why = paramProblem(this.spec, ns);
    if (why) {
      ctx.report(path, `${why.replace(/got .*$/, `got ${String(value)}`)}`);
      return undefined;
    }
    return ns;
  }
}

function typeOf(spec: ParamSpec): Type<unknown> {
  switch (spec.type) {
    case 'time':
      return spec.max === undefined && !spec.zeroTurnsOff ? time({ min: spec.min }) : new BoundedTime(spec);
    case 'int':
      return new IntType(spec.min, spec.max);
    case 'bool':
      return new BoolType();
    case 'enum':
      return new EnumType(spec.values);
  }
}

/** The field of one parameter: its default as the scenario writes it (`30ms`), or what its absence means. */
export type FieldOf<S extends ParamSpec> = S extends { default: unknown } ? Field<ValueOf<S>, false> : Field<ValueOf<S>, true>;
export type FieldsOf<P extends ParamSchema> = { -readonly [K in keyof P]: FieldOf<P[K]> };

export function fieldOf<S extends ParamSpec>(spec: S): FieldOf<S> {
  const type = typeOf(spec);
  if (spec.default === undefined) return optional(type, spec.doc, spec.absent ?? 'unset') as FieldOf<S>;
  const raw = spec.type === 'time' ? formatTime(spec.default) : spec.default;
  return withDefault(type, raw, spec.doc) as FieldOf<S>;
}

export function fieldsOf<P extends ParamSchema>(schema: P): FieldsOf<P> {
  return Object.fromEntries(Object.entries(schema).map(([k, s]) => [k, fieldOf(s)])) as FieldsOf<P>;
}

/** `shorter` ≤ `longer` (Credit's ratelimit ≤ tslice), as a rule of the parameters' mapping. */
export function orderRule<T>(shorter: string, longer: string): Rule<T> {
  return {
    doc: `\`${shorter}\` ≤ \`${longer}\``,
    check(p: Loose<T>, path, ctx) {
      const v = p as Record<string, unknown>;
      const a = v[shorter];
      const b = v[longer];
      if (typeof a === 'number' && typeof b === 'number' && a > b)
        ctx.report([...path, shorter], `${formatTime(a)} is longer than ${longer} (${formatTime(b)})`);
    },
  };
}

/** A policy's scheduler-wide parameters as a mapping type. */
export function paramsObject<P extends ParamSchema>(schema: P, order: readonly (readonly [string, string])[]): ObjectType<FieldsOf<P>> {
  return new ObjectType(
    fieldsOf(schema),
    order.map(([a, b]) => orderRule<never>(a, b)),
  );
}
