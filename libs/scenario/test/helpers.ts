// Shared by the scenario tests: a directory of stand-in images, a valid scenario to start from, and
// an independent check that a parsed Scenario is what the format promises.

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { stringify } from 'yaml';
import {
  parseScenario,
  Scenario,
  ScenarioError,
  ScenarioIssue,
  POLICIES,
  TECHNIQUES,
  VM_KINDS,
  TRAP_PATHS,
  COST_DEFAULTS,
  EXPANSION_DEFAULTS,
  HOST_ISAS,
  VM_ISAS,
} from '@vsim/scenario';
import { ENGINE_NAMES } from '@vsim/isa';

/** A temporary directory holding `guests/a.elf`, `guests/b.elf` and a directory `guests/dir.elf`. */
export function imageDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vsim-scenario-'));
  mkdirSync(join(dir, 'guests', 'dir.elf'), { recursive: true });
  writeFileSync(join(dir, 'guests', 'a.elf'), 'not really an ELF: images are not parsed here');
  writeFileSync(join(dir, 'guests', 'b.elf'), 'neither is this');
  return dir;
}

/** A minimal valid scenario (as a plain object, before YAML). */
export function minimal(): Record<string, unknown> {
  return {
    duration: '200ms',
    hosts: [{ id: 'h0', pcpus: 2 }],
    vms: [{ id: 'web', memory: '4MiB', image: 'guests/a.elf' }],
  };
}

/** A valid scenario using most of the format. */
export function rich(): Record<string, unknown> {
  return {
    name: 'rich',
    seed: 42,
    duration: '200ms',
    clock: '1GHz',
    trapPath: 'split',
    scheduler: { policy: 'credit', params: { tslice: '30ms', ratelimit: '1ms', accounting: 'tick' } },
    hosts: [
      { id: 'h0', pcpus: 2, isa: 'rv32', quantum: '10us' },
      { id: 'h1', pcpus: 4, clock: '2GHz' },
    ],
    vms: [
      { id: 'web', host: 'h0', vcpus: 2, memory: '4MiB', image: 'guests/a.elf', sched: { weight: 512, cap: 150, pin: [[0, 1], [1]] } },
      {
        id: 'db',
        host: 'h1',
        memory: '8MiB',
        image: 'guests/b.elf',
        kind: 'linux',
        args: ['-n', '3'],
        engine: 'direct',
        technique: 'trap-and-emulate',
      },
      { id: 'batch', memory: '64KiB', image: 'guests/a.elf', sched: { slice: '5ms', period: '20ms', budget: '2ms', extra: false, extratime: false } },
    ],
    actions: [
      { at: '50ms', set: { vm: 'web', weight: 1024 } },
      { at: '100ms', pause: { vm: 'db' } },
      { at: '120ms', swapScheduler: { policy: 'round-robin', params: { timeslice: '5ms' } } },
      { at: '150ms', unpause: { vm: 'db' } },
      { at: '150ms', killHost: { host: 'h1' } },
    ],
  };
}

export function yaml(obj: unknown): string {
  return stringify(obj);
}

export function parse(obj: unknown, baseDir: string): Scenario {
  return parseScenario(yaml(obj), { file: 'test.yaml', baseDir });
}

/** The issues of a scenario that must fail (the test fails if it parses). */
export function issuesOf(obj: unknown, baseDir: string): readonly ScenarioIssue[] {
  try {
    parse(obj, baseDir);
  } catch (e) {
    if (e instanceof ScenarioError) return e.issues;
    throw e;
  }
  throw new Error('expected a ScenarioError, but the scenario parsed');
}

/** Deep-copies `obj` and applies `edit` to the copy. */
export function edited<T>(obj: T, edit: (o: any) => void): T {
  const copy = structuredClone(obj);
  edit(copy);
  return copy;
}

const isNat = (n: unknown, min = 0, max = Number.MAX_SAFE_INTEGER) => typeof n === 'number' && Number.isSafeInteger(n) && n >= min && n <= max;

/**
 * Everything a returned Scenario promises, checked independently of the validator: types, ranges,
 * filled defaults, references and ordering. Returns the broken promises (empty when all hold).
 */
/** A whole cost model: exactly the keys of COST_DEFAULTS, each a whole number of cycles. */
function isCosts(c: unknown): boolean {
  if (typeof c !== 'object' || c === null) return false;
  const keys = Object.keys(COST_DEFAULTS);
  return Object.keys(c).length === keys.length && keys.every((k) => isNat((c as Record<string, unknown>)[k], 0, 1e9));
}

function isExpansion(x: unknown): boolean {
  if (typeof x !== 'object' || x === null) return false;
  const keys = Object.keys(EXPANSION_DEFAULTS);
  return Object.keys(x).length === keys.length && keys.every((k) => isNat((x as Record<string, unknown>)[k], 1, 1000));
}

export function brokenPromises(s: Scenario): string[] {
  const bad: string[] = [];
  const want = (ok: boolean, what: string) => {
    if (!ok) bad.push(what);
  };
  const known = new Set([
    'name',
    'file',
    'seed',
    'duration',
    'clock',
    'trapPath',
    'scheduler',
    'costs',
    'expansion',
    'hosts',
    'vms',
    'network',
    'balancer',
    'placement',
    'actions',
    'checkpoint',
  ]);
  for (const k of Object.keys(s)) want(known.has(k), `unexpected key ${k}`);
  want(s.checkpoint === null || (isNat(s.checkpoint.interval, 1) && Object.keys(s.checkpoint).length === 1), 'checkpoint');
  // The network: positive bandwidths, non-negative latencies, links between two known hosts.
  const linkOk = (l: { bandwidth: number; latency: number }) => Number.isSafeInteger(l.bandwidth) && l.bandwidth > 0 && l.latency >= 0;
  want(linkOk(s.network), 'network');
  for (const l of s.network.links)
    want(linkOk(l) && l.from !== l.to && s.hosts.some((h) => h.id === l.from) && s.hosts.some((h) => h.id === l.to), 'network.links');
  want(typeof s.name === 'string' && /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(s.name), 'name');
  want(s.file === null || (typeof s.file === 'string' && isAbsolute(s.file)), 'file');
  want(isNat(s.seed, 0, 2 ** 32 - 1), 'seed');
  want(isNat(s.duration, 1), 'duration');
  want(isNat(s.clock, 1), 'clock');
  want((TRAP_PATHS as readonly string[]).includes(s.trapPath), 'trapPath');
  want(isCosts(s.costs), 'costs');
  want(isExpansion(s.expansion), 'expansion');
  const checkScheduler = (sch: Scenario['scheduler'], where: string) => {
    want((POLICIES as readonly string[]).includes(sch.policy), `${where}.policy`);
    const p = sch.params as Record<string, unknown>;
    if (sch.policy === 'round-robin') want(isNat(p.timeslice, 1) && Object.keys(p).length === 1, `${where}.params`);
    else if (sch.policy === 'credit') {
      want(isNat(p.tslice, 1) && isNat(p.ratelimit) && (p.accounting === 'precise' || p.accounting === 'tick'), `${where}.params`);
      want((p.ratelimit as number) <= (p.tslice as number), `${where} ratelimit <= tslice`);
    } else want(Object.keys(p).length === 0, `${where}.params empty`);
  };
  checkScheduler(s.scheduler, 'scheduler');
  want(Array.isArray(s.hosts) && s.hosts.length > 0, 'hosts');
  const pcpus = new Map<string, number>();
  for (const h of s.hosts) {
    want(typeof h.id === 'string' && /^[a-z0-9-]{1,63}$/.test(h.id) && !pcpus.has(h.id), `host id ${h.id}`);
    want(isNat(h.pcpus, 1, 256), 'pcpus');
    want((HOST_ISAS as readonly string[]).includes(h.isa), 'isa');
    want(isExpansion(h.expansion), `host ${h.id} expansion`);
    want(isNat(h.clock, 1), 'host clock');
    want(isNat(h.quantum, 1), 'quantum');
    want(isCosts(h.costs), `host ${h.id} costs`);
    pcpus.set(h.id, h.pcpus);
  }
  const maxP = Math.max(...pcpus.values());
  want(Array.isArray(s.vms) && s.vms.length > 0, 'vms');
  const vms = new Map<string, Scenario['vms'][number]>();
  for (const vm of s.vms) {
    want(typeof vm.id === 'string' && /^[a-z0-9-]{1,63}$/.test(vm.id) && !vms.has(vm.id), `vm id ${vm.id}`);
    vms.set(vm.id, vm);
    want(vm.host === null || pcpus.has(vm.host), `vm ${vm.id} host`);
    want(isNat(vm.vcpus, 1, 64), 'vcpus');
    want(isNat(vm.memory, 4096, 2 ** 31) && vm.memory % 4096 === 0, 'memory');
    want(typeof vm.image === 'string' && isAbsolute(vm.image), 'image');
    want(Array.isArray(vm.args) && vm.args.every((a) => typeof a === 'string'), 'args');
    want(vm.kind === 'linux' || vm.args.length === 0, 'args only for linux');
    want((VM_KINDS as readonly string[]).includes(vm.kind), 'kind');
    want((ENGINE_NAMES as readonly string[]).includes(vm.engine), 'engine');
    want((TECHNIQUES as readonly string[]).includes(vm.technique), 'technique');
    want((VM_ISAS as readonly string[]).includes(vm.isa), 'vm isa');
    want(vm.isa === 'ring32' || vm.technique !== 'code-patching', 'code-patching only for ring32');
    want(vm.isa !== 'ring32' || (vm.vcpus === 1 && vm.kind === 'kernel'), 'ring32: one vCPU, kind kernel');
    const sc = vm.sched;
    want(isNat(sc.weight, 1, 65535) && isNat(sc.cap, 0, 100 * vm.vcpus), 'weight/cap');
    // Unset slice/period/budget stay unset (each policy supplies its own defaults); given ones are in order.
    const unsetOr = (v: number | undefined) => v === undefined || isNat(v, 1);
    want(unsetOr(sc.slice) && unsetOr(sc.period) && unsetOr(sc.budget), 'slice/period/budget');
    want(sc.period === undefined || ((sc.slice ?? 0) <= sc.period && (sc.budget ?? 0) <= sc.period), 'slice/budget <= period');
    want(typeof sc.extra === 'boolean' && typeof sc.extratime === 'boolean', 'extra/extratime');
    if (sc.pin !== null) {
      const limit = vm.host === null ? maxP : pcpus.get(vm.host)!;
      want(sc.pin.length === vm.vcpus, 'pin length');
      for (const e of sc.pin) want(e.length > 0 && new Set(e).size === e.length && e.every((p) => isNat(p) && p < limit), 'pin entry');
    }
  }
  let prev = 0;
  for (const a of s.actions) {
    want(isNat(a.at) && a.at <= s.duration && a.at >= prev, `action at ${a.at}`);
    prev = a.at;
    switch (a.kind) {
      case 'set':
        want(vms.has(a.vm) && Object.keys(a.params).length > 0, 'set');
        break;
      case 'pause':
      case 'unpause':
        want(vms.has(a.vm), a.kind);
        break;
      case 'killHost':
        want(pcpus.has(a.host), 'killHost');
        break;
      case 'swapScheduler':
        checkScheduler(a.scheduler, 'swapScheduler');
        break;
      case 'migrate':
        want(vms.has(a.vm) && pcpus.has(a.to), 'migrate');
        break;
      default:
        bad.push(`unknown action ${JSON.stringify(a)}`);
    }
  }
  return bad;
}
