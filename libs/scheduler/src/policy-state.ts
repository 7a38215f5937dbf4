// A policy's complete internal state as plain JSON data (SchedulerPolicy.saveState/loadState), so
// a checkpoint or a handover to the same policy continues with exactly the decisions an
// uninterrupted run makes.
//
// Why a generic object-graph codec rather than one hand-written format per policy: Credit's and
// Credit2's state is a graph — a unit sits in its domain's active list, in a run queue and in a
// pCPU's `curr` at once, and the code compares them by identity — and every field counts (timers,
// tie-breaker counters, the order of every queue). Walking the policy's own fields and keeping
// identity with an object table captures all of it, including fields added later, which a
// hand-written list would silently miss. Numbers JSON cannot carry (Infinity, NaN, -0) are tagged.
//
// Format (`format: 'vsim.policy-state/1'`):
//   { format, policy: name, fields: { <own field>: Value }, objects: Node[] }
//   Value = finite number | string | boolean | null | {$n: 'Infinity'|'-Infinity'|'NaN'|'-0'}
//         | {$u: 1} (undefined) | {$r: index into objects}
//   Node  = {o: {key: Value}} (plain object) | {a: Value[]} | {m: [Value, Value][]} (Map, in
//           insertion order) | {s: Value[]} (Set, in insertion order)
// Loading checks the shape before changing anything, and names the field at fault.

export const POLICY_STATE_FORMAT = 'vsim.policy-state/1';

type Value = number | string | boolean | null | { $n: string } | { $u: 1 } | { $r: number };
type Node = { o: Record<string, Value> } | { a: Value[] } | { m: [Value, Value][] } | { s: Value[] };

/** A policy's state as saveStateOf writes it (JSON-safe). */
export interface PolicyStateData {
  readonly format: typeof POLICY_STATE_FORMAT;
  readonly policy: string;
  readonly fields: Readonly<Record<string, Value>>;
  readonly objects: readonly Node[];
}

/** Fields never saved: the policy's constant name, the host loop's trace callback (set again by the loop that loads). */
const SKIPPED = new Set(['name', 'trace', 'traceFn']);

/** The policy's own fields (not its trace callback), in declaration order. */
function ownFields(policy: object): string[] {
  return Object.keys(policy).filter((k) => !SKIPPED.has(k));
}

/** Saves every own field of `policy` (but its trace callback) as PolicyStateData. */
export function saveStateOf(policy: { readonly name: string }): PolicyStateData {
  const objects: Node[] = [];
  const ids = new Map<object, number>();
  const value = (x: unknown, path: string): Value => {
    switch (typeof x) {
      case 'number':
        if (Number.isNaN(x)) return { $n: 'NaN' };
        if (x === Number.POSITIVE_INFINITY) return { $n: 'Infinity' };
        if (x === Number.NEGATIVE_INFINITY) return { $n: '-Infinity' };
        if (Object.is(x, -0)) return { $n: '-0' };
        return x;
      case 'string':
      case 'boolean':
        return x;
      case 'undefined':
        return { $u: 1 };
      case 'object': {
        if (x === null) return null;
        const known = ids.get(x);
        if (known !== undefined) return { $r: known };
        const id = objects.length;
        ids.set(x, id);
        objects.push({ a: [] }); // placeholder: children may refer back to it
        objects[id] = node(x, path);
        return { $r: id };
      }
      default:
        throw new TypeError(`${policy.name} state: ${path} is a ${typeof x}, which a state cannot hold`);
    }
  };
  const node = (x: object, path: string): Node => {
    if (Array.isArray(x)) return { a: x.map((e, i) => value(e, `${path}[${i}]`)) };
    if (x instanceof Map) return { m: [...x].map(([k, v], i) => [value(k, `${path}.key(${i})`), value(v, `${path}.get(${String(k)})`)]) };
    if (x instanceof Set) return { s: [...x].map((e, i) => value(e, `${path}.item(${i})`)) };
    const proto = Object.getPrototypeOf(x) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      throw new TypeError(`${policy.name} state: ${path} is a ${x.constructor?.name ?? 'class instance'}, which a state cannot hold`);
    }
    const o: Record<string, Value> = {};
    for (const [k, v] of Object.entries(x)) o[k] = value(v, `${path}.${k}`);
    return { o };
  };
  const fields: Record<string, Value> = {};
  for (const f of ownFields(policy)) fields[f] = value((policy as unknown as Record<string, unknown>)[f], f);
  return { format: POLICY_STATE_FORMAT, policy: policy.name, fields, objects };
}

/**
 * Replaces every own field of `policy` (a freshly made one of the same kind and size) with the
 * saved state. Throws a TypeError naming the field before changing anything if the state does
 * not fit: another format or policy, a field missing or unknown, a field of another kind than
 * the fresh policy's (a Map where it has an array), or a per-pCPU list of another length.
 */
export function loadStateInto(policy: { readonly name: string }, state: unknown): void {
  const who = `${policy.name} state`;
  const fail = (what: string): never => {
    throw new TypeError(`${who}: ${what}`);
  };
  if (typeof state !== 'object' || state === null || Array.isArray(state)) fail(`must be an object, got ${describe(state)}`);
  const s = state as Record<string, unknown>;
  if (s.format !== POLICY_STATE_FORMAT) fail(`format: expected '${POLICY_STATE_FORMAT}', got ${describe(s.format)}`);
  if (s.policy !== policy.name) fail(`policy: the state is of ${describe(s.policy)}, not ${policy.name}`);
  if (typeof s.fields !== 'object' || s.fields === null || Array.isArray(s.fields)) fail(`fields: must be an object`);
  if (!Array.isArray(s.objects)) fail(`objects: must be a list`);
  const fields = s.fields as Record<string, unknown>;
  const rawNodes = s.objects as unknown[];

  // Shells first (so that references, even cyclic ones, resolve), then their contents.
  const shells: object[] = rawNodes.map((n, i) => {
    if (typeof n !== 'object' || n === null) return fail(`objects[${i}]: must be an object, got ${describe(n)}`);
    const tags = Object.keys(n);
    if (tags.length !== 1) return fail(`objects[${i}]: must have exactly one of o, a, m, s`);
    const tag = tags[0];
    const body = (n as Record<string, unknown>)[tag];
    switch (tag) {
      case 'o':
        if (typeof body !== 'object' || body === null || Array.isArray(body)) return fail(`objects[${i}].o: must be an object`);
        return {};
      case 'a':
      case 's':
      case 'm':
        if (!Array.isArray(body)) return fail(`objects[${i}].${tag}: must be a list`);
        return tag === 'a' ? [] : tag === 's' ? new Set() : new Map();
      default:
        return fail(`objects[${i}]: unknown node kind '${tag}'`);
    }
  });
  const decode = (v: unknown, path: string): unknown => {
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) fail(`${path}: ${v} must be tagged {$n}`);
      return v;
    }
    if (typeof v !== 'object' || Array.isArray(v)) return fail(`${path}: not a state value: ${describe(v)}`);
    const o = v as Record<string, unknown>;
    if ('$r' in o) {
      const r = o.$r;
      if (!(typeof r === 'number' && Number.isInteger(r) && r >= 0 && r < shells.length)) fail(`${path}: reference ${describe(r)} is out of range`);
      return shells[r as number];
    }
    if ('$u' in o) return undefined;
    if ('$n' in o) {
      switch (o.$n) {
        case 'Infinity':
          return Number.POSITIVE_INFINITY;
        case '-Infinity':
          return Number.NEGATIVE_INFINITY;
        case 'NaN':
          return Number.NaN;
        case '-0':
          return -0;
      }
      return fail(`${path}: unknown number tag ${describe(o.$n)}`);
    }
    return fail(`${path}: not a state value: ${describe(v)}`);
  };
  rawNodes.forEach((n, i) => {
    const [tag, body] = Object.entries(n as object)[0] as [string, unknown];
    const shell = shells[i];
    const at = `objects[${i}].${tag}`;
    if (tag === 'o') {
      for (const [k, v] of Object.entries(body as object)) {
        // A state may come over the bus: never let a key reach an object's prototype.
        if (k === '__proto__') fail(`${at}.__proto__: not a state key`);
        (shell as Record<string, unknown>)[k] = decode(v, `${at}.${k}`);
      }
    } else if (tag === 'a') (body as unknown[]).forEach((v, j) => (shell as unknown[]).push(decode(v, `${at}[${j}]`)));
    else if (tag === 's') (body as unknown[]).forEach((v, j) => (shell as Set<unknown>).add(decode(v, `${at}[${j}]`)));
    else
      (body as unknown[]).forEach((e, j) => {
        if (!Array.isArray(e) || e.length !== 2) fail(`${at}[${j}]: a Map entry must be [key, value]`);
        (shell as Map<unknown, unknown>).set(decode((e as unknown[])[0], `${at}[${j}][0]`), decode((e as unknown[])[1], `${at}[${j}][1]`));
      });
  });

  // Every field the fresh policy has, of the same kind; nothing else.
  const mine = ownFields(policy);
  const target = policy as unknown as Record<string, unknown>;
  for (const f of Object.keys(fields)) if (!mine.includes(f)) fail(`fields.${f}: ${policy.name} has no such field`);
  const loaded = new Map<string, unknown>();
  for (const f of mine) {
    if (!(f in fields)) fail(`fields.${f}: missing`);
    const v = decode(fields[f], `fields.${f}`);
    const want = kindOf(target[f]);
    const got = kindOf(v);
    // null/undefined and a value are interchangeable (`curr: Svc | null`, an optional field); others must match.
    const unset = (k: string) => k === 'undefined' || k === 'null';
    if (want !== got && !unset(want) && !unset(got)) fail(`fields.${f}: expected ${want}, got ${got}`);
    const fresh = target[f];
    if (Array.isArray(fresh) && fresh.length > 0 && Array.isArray(v) && v.length !== fresh.length) {
      fail(`fields.${f}: ${v.length} entries, this ${policy.name} has ${fresh.length} (built for another host size?)`);
    }
    loaded.set(f, v);
  }
  for (const [f, v] of loaded) target[f] = v;
}

function kindOf(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'a list';
  if (x instanceof Map) return 'a Map';
  if (x instanceof Set) return 'a Set';
  return typeof x === 'object' ? 'an object' : typeof x;
}

function describe(x: unknown): string {
  if (x === undefined) return 'nothing';
  const s = JSON.stringify(x);
  return s === undefined ? String(x) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
