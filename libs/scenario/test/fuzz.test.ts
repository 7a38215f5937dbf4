// Fuzzing: seeded random mutations of a valid scenario, re-serialised with `yaml`. Whatever comes in,
// parseScenario either returns a Scenario that keeps every promise (checked independently, by
// brokenPromises) or throws a ScenarioError with at least one issue and one message line per issue —
// never anything else.

import { parseScenario, Scenario, ScenarioError } from '@vsim/scenario';
import { brokenPromises, imageDir, rich, yaml } from './helpers';

const dir = imageDir();

/** mulberry32: a small seeded PRNG, so a failure names the seed that reproduces it. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VALUES: unknown[] = [
  -1,
  0,
  1,
  2,
  3,
  4,
  63,
  64,
  65,
  100,
  256,
  4096,
  65535,
  65536,
  1.5,
  -0.5,
  2 ** 32,
  2 ** 53,
  2 ** 60,
  1e300,
  '',
  '0',
  '1',
  '10ms',
  '1.5ms',
  '0.5ns',
  '250ms',
  '200ms',
  '1e3ms',
  '10 parsecs',
  '1GHz',
  '0Hz',
  '4MiB',
  '4MB',
  '4097KiB',
  '3GiB',
  'h0',
  'h1',
  'h9',
  'web',
  'db',
  'batch',
  'Web',
  'x y',
  'a\nb',
  'round-robin',
  'credit',
  'sedf',
  'rtds',
  'credit2',
  'cfs',
  'linux',
  'sbi',
  'bt',
  'jit',
  'tick',
  'precise',
  'paravirt',
  'native',
  'rv32',
  'teach',
  'guests/a.elf',
  'guests/nope.elf',
  'guests/dir.elf',
  true,
  false,
  null,
  [],
  {},
  [[0]],
  [[0, 1], [1]],
  [[5]],
  [0, 1],
  ['x'],
  { vm: 'web' },
  { vm: 'db', weight: 9 },
  { host: 'h0' },
  { policy: 'credit' },
  { timeslice: '1ms' },
  { at: '1ms', pause: { vm: 'web' } },
  { id: 'h2', pcpus: 1 },
  { id: 'new', memory: '4MiB', image: 'guests/b.elf' },
];
const KEYS = [
  'id',
  'host',
  'vcpus',
  'vpcus',
  'memory',
  'image',
  'pin',
  'weight',
  'cap',
  'at',
  'pause',
  'set',
  'policy',
  'params',
  'bogus',
  '__proto__',
  'constructor',
];

type Container = Record<string, unknown> | unknown[];

/** Every container in the tree, with its path. */
function containers(root: Container): Container[] {
  const out: Container[] = [root];
  for (const v of Array.isArray(root) ? root : Object.values(root)) {
    if (v !== null && typeof v === 'object') out.push(...containers(v as Container));
  }
  return out;
}

function mutate(obj: Container, r: () => number): void {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const target = pick(containers(obj));
  const keys: (string | number)[] = Array.isArray(target) ? target.map((_, i) => i) : Object.keys(target);
  const set = (k: string | number, v: unknown) => ((target as Record<string | number, unknown>)[k] = v);
  const get = (k: string | number) => (target as Record<string | number, unknown>)[k];
  const op = Math.floor(r() * 8);
  if (keys.length === 0 || op === 0) {
    // add something
    if (Array.isArray(target)) target.push(structuredClone(pick(VALUES)));
    else Object.defineProperty(target, pick(KEYS), { value: structuredClone(pick(VALUES)), enumerable: true, writable: true, configurable: true });
    return;
  }
  const k = pick(keys);
  switch (op) {
    case 1: // delete
      if (Array.isArray(target)) target.splice(k as number, 1);
      else delete target[k as string];
      return;
    case 2:
    case 3: // replace with a random value
      set(k, structuredClone(pick(VALUES)));
      return;
    case 4: // rename a key (a typo) or duplicate an item
      if (Array.isArray(target)) target.push(structuredClone(get(k)));
      else {
        const v = get(k);
        delete target[k as string];
        const name = String(k);
        const i = Math.floor(r() * name.length);
        target[name.slice(0, i) + name.slice(i + 1, i + 2) + name.slice(i, i + 1) + name.slice(i + 2)] = v;
      }
      return;
    case 5: // swap two items / values
      {
        const k2 = pick(keys);
        const v = get(k);
        set(k, get(k2));
        set(k2, v);
      }
      return;
    case 6: // nudge a number
      if (typeof get(k) === 'number') set(k, (get(k) as number) + pick([-1, 1, 1000, -1000, 0.5]));
      else set(k, pick([0, -1, 1, '1ms']));
      return;
    default: // a string value gets a different unit or case
      if (typeof get(k) === 'string') set(k, (get(k) as string).replace(/ms$/, 's').replace(/MiB$/, 'GiB').toUpperCase());
      else set(k, null);
  }
}

type Outcome = { ok: true; s: Scenario } | { ok: false; err: ScenarioError };

function run(text: string): Outcome {
  try {
    return { ok: true, s: parseScenario(text, { file: 'fuzz.yaml', baseDir: dir }) };
  } catch (e) {
    if (e instanceof ScenarioError) return { ok: false, err: e };
    throw new Error(`threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)} for:\n${text}`, { cause: e });
  }
}

function checkOutcome(o: Outcome, text: string): void {
  if (o.ok) {
    const broken = brokenPromises(o.s);
    if (broken.length) throw new Error(`returned an invalid scenario (${broken.join('; ')}) for:\n${text}`);
    return;
  }
  const { err } = o;
  if (err.issues.length === 0) throw new Error(`a ScenarioError without issues for:\n${text}`);
  if (err.message.split('\n').length !== err.issues.length) throw new Error(`not one line per issue:\n${err.message}`);
  for (const i of err.issues) {
    if (typeof i.path !== 'string' || typeof i.message !== 'string' || i.message === '') throw new Error(`a malformed issue ${JSON.stringify(i)}`);
  }
}

describe('fuzz', () => {
  test('the independent checker does catch broken promises', () => {
    const s = parseScenario(yaml(rich()), { baseDir: dir });
    expect(brokenPromises(s)).toEqual([]);
    const bad = structuredClone(s);
    bad.vms[0]!.sched.cap = 1000;
    bad.vms[1]!.host = 'h9';
    bad.actions.reverse();
    bad.duration = 1.5;
    expect(brokenPromises(bad).length).toBeGreaterThanOrEqual(4);
  });

  test('mutated scenarios (3000 cases)', () => {
    const counts = { ok: 0, error: 0 };
    for (let seed = 1; seed <= 3000; seed++) {
      const r = rng(seed);
      const obj = rich() as Container;
      const n = 1 + Math.floor(r() * 4);
      for (let i = 0; i < n; i++) mutate(obj, r);
      const text = yaml(obj);
      const o = run(text);
      checkOutcome(o, text);
      counts[o.ok ? 'ok' : 'error']++;
      // Same input, same answer.
      const again = run(text);
      expect(again.ok ? again.s : again.err.message).toEqual(o.ok ? o.s : o.err.message);
    }
    // Both outcomes are exercised (mutations that keep a scenario valid, and ones that break it).
    expect(counts.ok).toBeGreaterThan(100);
    expect(counts.error).toBeGreaterThan(1000);
  });

  test('mangled YAML text (2000 cases)', () => {
    const base = yaml(rich());
    const noise = [':', '-', ' ', '\n', '\t', '"', "'", '[', ']', '{', '}', '&a', '*a', '#', '!!str ', '? ', '|', '>', '%', '@', '\u0000', 'é'];
    for (let seed = 1; seed <= 2000; seed++) {
      const r = rng(seed * 7919);
      let text = base;
      const n = 1 + Math.floor(r() * 5);
      for (let i = 0; i < n; i++) {
        const at = Math.floor(r() * text.length);
        const len = Math.floor(r() * 4);
        const ins = r() < 0.5 ? noise[Math.floor(r() * noise.length)]! : '';
        text = text.slice(0, at) + ins + text.slice(at + len);
      }
      checkOutcome(run(text), text);
    }
  });
});
