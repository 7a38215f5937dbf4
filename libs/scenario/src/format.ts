// The scenario format, as one declarative table: every key, its type, default and meaning, and the
// rules that relate keys to each other. The validator (validate.ts) runs this table and the reference
// (describe.ts, README.md) is rendered from it, so the two cannot disagree.

import {
  COST_DEFAULTS,
  COST_DOCS,
  CREDIT,
  CREDIT2,
  DEPRECATED_VM_KINDS,
  ENGINE_NAMES,
  EXPANSION_DEFAULTS,
  MAX_PCPUS,
  MAX_SEED,
  MAX_VCPUS,
  MAX_VM_MEMORY_BYTES,
  PAGE_BYTES,
  POLICIES,
  ROUND_ROBIN,
  RTDS,
  SEDF,
  VM_KINDS,
  VM_SCHED_PARAMS,
} from '@vsim/vocabulary';
import type { VmKind } from '@vsim/vocabulary';
import {
  Ctx,
  EnumType,
  Field,
  FileType,
  IntType,
  ListType,
  Loose,
  ObjectType,
  OneOfType,
  Path,
  Rule,
  SelectType,
  StringType,
  Type,
  frequency,
  optional,
  partial,
  required,
  size,
  time,
  withDefault,
  InferFields,
} from './fields';
import { HOST_ISAS, TECHNIQUES, TRAP_PATHS, VM_ISAS } from './types';
import { fieldsOf, paramsObject } from './policy-fields';
import { formatTime } from './units';
import { checkSchedKeys, periodProblems, recordWritten, vmPolicies, writtenOf } from './sched-keys';

const PAGE = PAGE_BYTES;
const MAX_MEMORY = MAX_VM_MEMORY_BYTES;

const ID = new StringType('id: `a-z`, `0-9`, `-`', { re: /^[a-z0-9-]+$/, what: 'id', doc: "lowercase letters, digits and '-'", maxLength: 63 });
const NAME = new StringType('name: letters, digits, `-`, `_`', {
  re: /^[A-Za-z0-9][A-Za-z0-9_-]*$/,
  what: 'name',
  doc: "letters, digits, '-' and '_', starting with a letter or digit",
  maxLength: 64,
});
const POSITIVE_TIME = time({ min: 1 });

// ---------------------------------------------------------------------------------------------
// scheduler

const SCHEDULER = new SelectType(
  { key: 'policy', doc: 'the vCPU scheduling policy', default: POLICIES[0] },
  { key: 'params', doc: 'the policy’s parameters (below)' },
  {
    'round-robin': paramsObject(ROUND_ROBIN.params, ROUND_ROBIN.paramOrder),
    credit: paramsObject(CREDIT.params, CREDIT.paramOrder),
    sedf: paramsObject(SEDF.params, SEDF.paramOrder),
    rtds: paramsObject(RTDS.params, RTDS.paramOrder),
    credit2: paramsObject(CREDIT2.params, CREDIT2.paramOrder),
  },
  'The scheduler owns the run queues of every host; `swapScheduler` actions replace it during the run.',
);
// The selector's values and the POLICIES list must stay one and the same.
const _policiesAgree: readonly (typeof POLICIES)[number][] = SCHEDULER.names;
void _policiesAgree;

// ---------------------------------------------------------------------------------------------
// hosts[].pools[] (cpupools)

/** The pool of the pCPUs no pool claims (Xen's Pool-0); VMs that name no pool run there. */
export const DEFAULT_POOL = 'default';

const POOL = new ObjectType(
  {
    id: required(ID, `unique among the host’s pools; \`${DEFAULT_POOL}\` is the pool of the pCPUs no pool claims`),
    pcpus: required(
      new ListType(new IntType(0, MAX_PCPUS - 1), { min: 1, unique: true, summary: 'list of pCPU ids' }),
      'the host pCPUs it takes (no pCPU in two pools)',
    ),
    scheduler: optional(SCHEDULER, 'its own scheduler and parameters', 'the top-level `scheduler`'),
  },
  [],
  'A cpupool (`xl cpupool-create`): pCPUs of the host with their own scheduler. VMs name their pool in `sched.pool`; a `set` action with another `pool` moves a VM (`xl cpupool-migrate`).',
);

// ---------------------------------------------------------------------------------------------
// costs (top level, and per host)

const CYCLES = new IntType(0, 1e9);

// The hypervisor's cost model, in cycles of the host's pCPUs: the defaults are @vsim/vocabulary's,
// which @vsim/hypervisor uses too; docs/cost-model.md says where each figure comes from.
export { COST_DEFAULTS, EXPANSION_DEFAULTS };

const COST_FIELDS = Object.fromEntries(
  Object.entries(COST_DEFAULTS).map(([k, v]) => [k, withDefault(CYCLES, v, COST_DOCS[k as keyof typeof COST_DEFAULTS])]),
) as { [K in keyof typeof COST_DEFAULTS]: Field<number, false> };

const EXPANSION = new ObjectType(
  Object.fromEntries(ENGINE_NAMES.map((e) => [e, withDefault(new IntType(1, 1000), EXPANSION_DEFAULTS[e], `the \`${e}\` engine`)])) as {
    [K in (typeof ENGINE_NAMES)[number]]: Field<number, false>;
  },
  [],
  'Emulating a VM whose ISA is not its host’s: each guest cycle is charged this many host cycles (direct execution, same ISA: 1).',
);

const COSTS = new ObjectType(
  {
    ...COST_FIELDS,
    expansion: withDefault(
      EXPANSION,
      {},
      'host instructions per guest instruction when a host emulates a VM of the other ISA, per engine (below); applies to every host',
    ),
  },
  [],
  'Cycles the hypervisor’s work costs (see docs/cost-model.md for the sources of the defaults).',
);

const HOST_COSTS = new ObjectType(
  partial(COST_FIELDS, 'the top-level `costs`'),
  [],
  'A host’s own cost model: each key given replaces the top-level one.',
);

// ---------------------------------------------------------------------------------------------
// hosts[]

const HOST = new ObjectType({
  id: required(ID, 'unique among hosts'),
  pcpus: required(new IntType(1, MAX_PCPUS), 'number of physical CPUs (ids 0 to pcpus-1)'),
  isa: withDefault(new EnumType(HOST_ISAS), 'rv32', 'the ISA of its pCPUs; a VM of another ISA runs on them by emulation, charged `costs.expansion`'),
  clock: optional(frequency(), 'clock of its pCPUs', 'the scenario’s `clock`'),
  quantum: withDefault(
    POSITIVE_TIME,
    '10us',
    'lockstep interleaving quantum: how far each pCPU runs before the next one of the host takes its turn, so SMP guests really run concurrently',
  ),
  costs: optional(HOST_COSTS, 'the host’s cost model, key by key over the top-level `costs`', 'the top-level `costs`'),
  pools: withDefault(
    new ListType(POOL, { summary: 'list of pools' }),
    [],
    'cpupools: disjoint sets of its pCPUs, each with its own scheduler (below); the pCPUs left over form the pool `default`, run by the top-level `scheduler`',
  ),
});

// ---------------------------------------------------------------------------------------------
// vms[].sched

const PIN = new ListType(new ListType(new IntType(0, MAX_PCPUS - 1), { min: 1, unique: true }), {
  min: 1,
  summary: 'list of lists of pCPU ids',
});

const SCHED_FIELDS = {
  ...fieldsOf(VM_SCHED_PARAMS),
  pin: optional(PIN, 'hard affinity: for each vCPU, the pCPU ids of its host it may run on, e.g. `[[0, 1], [1]]`', 'any pCPU'),
  pool: optional(ID, 'the cpupool of its host it runs in (`hosts[].pools[].id`, or `default`); in a `set`, moves the VM there', '`default`'),
};

type SchedRaw = InferFields<typeof SCHED_FIELDS>;

/** Problems with a VM's cap and pin given its vCPUs (after a `set`, too); the period rules depend on the policy (sched-keys.ts). */
export function schedProblems(s: Loose<SchedRaw>, vcpus: number | undefined): { key: keyof SchedRaw; message: string }[] {
  const out: { key: keyof SchedRaw; message: string }[] = [];
  if (vcpus !== undefined && s.cap !== undefined && s.cap > 100 * vcpus) {
    out.push({ key: 'cap', message: `cap ${s.cap} is more than 100 × vcpus (${100 * vcpus} for ${plural(vcpus, 'vCPU')})` });
  }
  if (vcpus !== undefined && s.pin && s.pin.length !== vcpus) {
    out.push({
      key: 'pin',
      message: `pin has ${plural(s.pin.length, 'entry', 'entries')} for ${plural(vcpus, 'vCPU')}; give one list of pCPUs per vCPU`,
    });
  }
  return out;
}

const SCHED = new ObjectType(SCHED_FIELDS, [
  {
    doc: '`slice` ≤ `period` where SEDF may run the VM, `budget` ≤ `period` where RTDS may; a key that no policy of the VM reads is a warning',
    check(s, _path, _ctx, written) {
      recordWritten(s, written); // checked against the VM's policies by the top-level rules (sched-keys.ts)
    },
  },
]);

/** A scheduling key written on the VM itself instead of under `sched`. */
const vmKeyHint = (key: string) =>
  Object.hasOwn(SCHED_FIELDS, key) ? `scheduling parameters go under sched: did you mean sched.${key}?` : undefined;

// ---------------------------------------------------------------------------------------------
// vms[]

/** A VM kind; an old spelling (`sbi`) still decodes, to the kind it now names, with a deprecation warning. */
class KindType extends Type<VmKind> {
  readonly summary: string;
  private readonly current = new EnumType(VM_KINDS);
  constructor() {
    super();
    this.summary = this.current.summary;
  }
  decode(value: unknown, path: Path, ctx: Ctx): VmKind | undefined {
    if (typeof value === 'string' && Object.hasOwn(DEPRECATED_VM_KINDS, value)) {
      const now = DEPRECATED_VM_KINDS[value]!;
      ctx.warn(path, `kind ${value} is deprecated: write kind: ${now} (the same thing, renamed)`);
      return now;
    }
    return this.current.decode(value, path, ctx);
  }
}

const VM = new ObjectType(
  {
    id: required(ID, 'unique among VMs'),
    host: optional(
      ID,
      'id of the host it starts on',
      'placed: a host it fits on (enough pCPUs, its pool), of its own ISA, least loaded (vCPUs per pCPU), first listed',
    ),
    vcpus: withDefault(new IntType(1, MAX_VCPUS), 1, 'number of virtual CPUs (more than 1: an SMP VM sharing its memory)'),
    memory: required(size({ min: PAGE, max: MAX_MEMORY, multipleOf: PAGE }), 'guest RAM; must hold the image'),
    image: required(
      new FileType(),
      'the guest program (an ELF executable of the VM’s `isa`); for `kind: replay`, the demand trace (`vsim trace extract`, docs/replay.md)',
    ),
    isa: optional(
      new EnumType(VM_ISAS),
      'the guest’s ISA; must agree with the image’s ELF `e_machine`. `ring32`: a ring32 kernel image (`kind: kernel`, one vCPU)',
      'from the image’s ELF `e_machine` (EM_RISCV: `rv32`, EM_RING32 = 0x5232: `ring32`)',
    ),
    args: withDefault(
      new ListType(new StringType('string')),
      [],
      'program arguments; only for `kind: linux` — or, for `kind: replay`, one: the recorded VM in the trace (needed when it holds several)',
    ),
    kind: withDefault(
      new KindType(),
      'kernel',
      '`kernel`: a kernel or machine image (an S-mode kernel calling the hypervisor through SBI; under `native` or `emulation`, a whole machine image with its own firmware); `linux`: a Linux user program whose system calls the hypervisor emulates; `replay`: no program — its vCPUs replay the CPU demand a trace recorded (docs/replay.md), whatever `technique`, `engine` or `isa` say. The old spelling `sbi` means `kernel` (deprecated: a warning)',
    ),
    engine: withDefault(
      new EnumType(ENGINE_NAMES),
      'bt',
      'emulation engine: decode-and-dispatch, indirect-threaded, direct-threaded or binary translation',
    ),
    technique: withDefault(
      new EnumType(TECHNIQUES),
      'paravirt',
      "virtualization technique (architecture §7); `native`: the image is a whole machine image (its own M-mode firmware, e.g. `native-kernel-*.elf`) run on the pCPU with no hypervisor, the baseline to compare against; `emulation`: the same machine image, every instruction emulated by the VM's `engine` and charged `costs.expansion` even on a host of its own ISA (full virtualization by emulation); `code-patching`: ring32 VMs only",
    ),
    sched: withDefault(SCHED, {}, 'scheduling parameters (below)'),
  },
  [
    {
      doc: '`args` only with `kind: linux` (program arguments) or `kind: replay` (one: the recorded VM to replay)',
      check(vm, path, ctx) {
        if (vm.kind === 'replay' && vm.args && vm.args.length > 1) {
          ctx.report([...path, 'args'], `a replayed VM takes one argument, the recorded VM's id in its trace (got ${vm.args.length})`);
        } else if (vm.kind !== undefined && vm.kind !== 'linux' && vm.kind !== 'replay' && vm.args && vm.args.length > 0) {
          ctx.report([...path, 'args'], `args are only for kind linux (this VM is kind ${vm.kind})`);
        }
      },
    },
    {
      doc: '`technique: native` and `emulation` only with `kind: kernel` (a machine image with its own firmware, not a Linux user program)',
      check(vm, path, ctx) {
        if ((vm.technique === 'native' || vm.technique === 'emulation') && vm.kind === 'linux') {
          ctx.report(
            [...path, 'technique'],
            `technique ${vm.technique} runs a machine image (firmware + kernel) on the bare pCPU; it cannot run a kind linux user program (use kind kernel)`,
          );
        }
      },
    },
    {
      doc: '`sched.cap` ≤ 100 × `vcpus`; `sched.pin` has one entry per vCPU',
      check(vm, path, ctx) {
        if (!vm.sched) return;
        for (const p of schedProblems(vm.sched, vm.vcpus)) {
          if (p.key === 'cap' || p.key === 'pin') ctx.report([...path, 'sched', p.key], p.message);
        }
      },
    },
  ],
  undefined,
  vmKeyHint,
);

// ---------------------------------------------------------------------------------------------
// network (live migration's links)

const BANDWIDTH = size({ min: 1, max: 2 ** 40, multipleOf: 1 });

const LINK = new ObjectType({
  from: required(ID, 'id of a host'),
  to: required(ID, 'id of a host (the link serves migrations from `from` to `to`)'),
  bandwidth: optional(BANDWIDTH, 'bytes per second of virtual time', 'the network’s `bandwidth`'),
  latency: optional(time(), 'one-way latency, added to every migration round', 'the network’s `latency`'),
});

const NETWORK = new ObjectType({
  bandwidth: withDefault(BANDWIDTH, '128MiB', 'bytes per second of virtual time between two hosts (128MiB ≈ 1 Gbit/s)'),
  latency: withDefault(time(), '50us', 'one-way latency between two hosts, added to every migration round'),
  links: withDefault(new ListType(LINK, { summary: 'list of links' }), [], 'links whose bandwidth or latency differ from the default (below)'),
});

const BALANCER = new ObjectType({
  period: withDefault(POSITIVE_TIME, '10ms', 'how often the hosts’ loads are compared (all hosts meet at each period)'),
  threshold: withDefault(
    new IntType(1, 10_000),
    25,
    'percent of a host’s capacity (pCPUs × period) by which the most and least loaded hosts may differ before a VM moves',
  ),
  stopPages: optional(new IntType(0, 1 << 20), 'its migrations’ stop-and-copy dirty-set size', '50'),
  maxRounds: optional(new IntType(1, 1000), 'its migrations’ round limit', '30'),
});

// ---------------------------------------------------------------------------------------------
// actions[]

const VM_REF = { vm: required(ID, 'id of a VM') };

const SET_FIELDS = { ...VM_REF, ...partial(SCHED_FIELDS, 'unchanged') };

const ACTION = new OneOfType(
  { at: required(time(), 'when it happens, in virtual time from the start of the run') },
  {
    set: new ObjectType(SET_FIELDS, [
      {
        doc: 'at least one of them',
        check(_body, path, ctx, written) {
          if ([...written].every((k) => k === 'vm')) {
            ctx.report(path, `changes nothing: give at least one of ${Object.keys(SCHED_FIELDS).join(', ')}`);
          }
        },
      },
    ]),
    pause: new ObjectType(VM_REF),
    unpause: new ObjectType(VM_REF),
    swapScheduler: SCHEDULER,
    killHost: new ObjectType({ host: required(ID, 'id of a host') }),
    migrate: new ObjectType({
      vm: required(ID, 'id of a VM'),
      to: required(ID, 'id of the destination host'),
      stopPages: optional(new IntType(0, 1 << 20), 'stop-and-copy once a round’s dirty set is at most this many pages', '50'),
      maxRounds: optional(new IntType(1, 1000), 'stop-and-copy at this round at the latest (round 1 copies every non-zero page)', '30'),
    }),
  },
  {
    set: 'change scheduling parameters of a VM (keys of `vms[].sched`)',
    pause: 'pause a running VM: its vCPUs stop being scheduled',
    unpause: 'let a paused VM run again',
    swapScheduler: 'replace the scheduler',
    killHost: 'simulate the failure of a host',
    migrate: 'live-migrate a VM to another host by pre-copy over the scenario’s `network`',
  },
  'Each action has `at` and exactly one of the keys below.',
);

// ---------------------------------------------------------------------------------------------
// The top level

const TOP_FIELDS = {
  name: optional(NAME, 'names the run in reports and event logs', 'the scenario file’s name without extension'),
  seed: withDefault(new IntType(0, MAX_SEED), 1, 'seed of every random choice: the same scenario and seed give the same event log, byte for byte'),
  duration: required(POSITIVE_TIME, 'how much virtual time the run lasts'),
  clock: withDefault(frequency(), '1GHz', 'default clock of every host’s pCPUs'),
  trapPath: withDefault(
    new EnumType(TRAP_PATHS),
    'split',
    '`remote`: every trap goes to the hypervisor service; `split`: simple exits are handled inside the cpu-node. Results are identical',
  ),
  scheduler: withDefault(SCHEDULER, {}, 'the vCPU scheduler (below)'),
  costs: withDefault(COSTS, {}, 'the hypervisor’s cost model, in cycles (below; a host may override it)'),
  hosts: required(new ListType(HOST, { min: 1, summary: 'list of hosts' }), 'the physical machines (below)'),
  vms: required(new ListType(VM, { min: 1, summary: 'list of VMs' }), 'the virtual machines (below)'),
  network: withDefault(NETWORK, {}, 'the network between hosts, which live migrations cross (below)'),
  placement: withDefault(
    new EnumType(['least-loaded', 'first-fit'] as const),
    'least-loaded',
    'where a VM without `host` starts: `least-loaded` (fewest vCPUs per pCPU) or `first-fit` (the first host listed with a free pCPU for each of its vCPUs)',
  ),
  balancer: optional(BALANCER, 'load balancing: a VM moves by live migration when hosts’ loads diverge (below)', 'none'),
  actions: withDefault(new ListType(ACTION, { summary: 'list of actions' }), [], 'timed actions, in virtual time order (below)'),
  checkpoint: optional(
    new ObjectType({
      interval: required(
        POSITIVE_TIME,
        'virtual time between two checkpoints of a host (taken at its first scheduling boundary at or after each multiple); where they go: `vsim run --checkpoint-dir`',
      ),
    }),
    'checkpoints of the running simulation, to resume it from (`vsim run --resume`); they never change results',
    'no checkpoints (unless `vsim run --checkpoint-interval` asks for them)',
  ),
};

type TopRaw = InferFields<typeof TOP_FIELDS>;

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function range(n: number): string {
  return n === 1 ? 'pCPU 0' : `pCPUs 0–${n - 1}`;
}

/** Reports every entry whose `id` repeats an earlier one. */
function checkUniqueIds(list: Loose<{ id: string }[]> | undefined, key: string, path: Path, ctx: Ctx): void {
  const seen = new Map<string, number>();
  list?.forEach((item, i) => {
    if (item?.id === undefined) return;
    const first = seen.get(item.id);
    if (first === undefined) seen.set(item.id, i);
    else ctx.report([...path, key, i, 'id'], `duplicate id '${item.id}' (also ${key}[${first}])`);
  });
}

function checkPin(
  pin: Loose<number[][]> | undefined,
  pcpus: number | undefined,
  host: string | undefined,
  maxPcpus: number,
  path: Path,
  ctx: Ctx,
): void {
  pin?.forEach((entry, v) =>
    entry?.forEach((p, j) => {
      if (p === undefined) return;
      if (host !== undefined && pcpus !== undefined && p >= pcpus) {
        ctx.report([...path, v, j], `host ${host} has no pCPU ${p} (it has ${range(pcpus)})`);
      } else if (host === undefined && maxPcpus > 0 && p >= maxPcpus) {
        ctx.report([...path, v, j], `no host has pCPU ${p} (the largest has ${range(maxPcpus)})`);
      }
    }),
  );
}

/** Why `pool` (undefined: the default pool) is not a pool of `host`, or undefined if it is. */
function poolProblem(
  host: Loose<{ id: string; pcpus: number; pools: { id: string; pcpus: number[] }[] }>,
  pool: string | undefined,
): string | undefined {
  const pools = (host.pools ?? []).filter((p) => p?.id !== undefined);
  const claimed = new Set(pools.flatMap((p) => p?.pcpus ?? []));
  const hasDefault = host.pcpus === undefined || claimed.size < host.pcpus;
  const names = [...(hasDefault ? [DEFAULT_POOL] : []), ...pools.map((p) => p?.id)].join(', ');
  if (pool === undefined || pool === DEFAULT_POOL) {
    return hasDefault
      ? undefined
      : `host ${host.id}'s pools take every pCPU, so it has no pool '${DEFAULT_POOL}': name one in sched.pool (pools: ${names})`;
  }
  return pools.some((p) => p?.id === pool) ? undefined : `host ${host.id} has no pool '${pool}' (pools: ${names})`;
}

/**
 * The ids of a list of hosts or VMs, and whether every entry yielded one: while some entry is broken,
 * a reference to an id not in the list may be to that entry, so it is not reported (no cascades).
 */
function idsOf<L extends { id?: string }>(list: readonly (L | undefined)[] | undefined): { ids: Map<string, L>; complete: boolean; names: string } {
  const ids = new Map<string, L>();
  let complete = true;
  for (const item of list ?? []) {
    if (item?.id === undefined) complete = false;
    else if (!ids.has(item.id)) ids.set(item.id, item);
  }
  return { ids, complete, names: [...ids.keys()].join(', ') || 'none' };
}

const TOP_RULES: Rule<TopRaw>[] = [
  {
    doc: 'host ids are unique, and so are VM ids',
    check(s, path, ctx) {
      checkUniqueIds(s.hosts, 'hosts', path, ctx);
      checkUniqueIds(s.vms, 'vms', path, ctx);
    },
  },
  {
    doc: 'a VM’s `host` is one of `hosts`; its `sched.pin` names pCPUs that host has (for a VM without `host`, pCPUs that some host has)',
    check(s, path, ctx) {
      const hosts = idsOf(s.hosts);
      const maxPcpus = Math.max(0, ...(s.hosts ?? []).map((h) => h?.pcpus ?? 0));
      s.vms?.forEach((vm, i) => {
        if (!vm) return;
        if (vm.host !== undefined && !hosts.ids.has(vm.host)) {
          if (hosts.complete) ctx.report([...path, 'vms', i, 'host'], `unknown host '${vm.host}' (hosts: ${hosts.names})`);
          return;
        }
        const pcpus = vm.host === undefined ? undefined : hosts.ids.get(vm.host)?.pcpus;
        checkPin(vm.sched?.pin, pcpus, vm.host, maxPcpus, [...path, 'vms', i, 'sched', 'pin'], ctx);
      });
    },
  },
  {
    doc:
      'a host’s pools have unique ids (not `default`) and take pCPUs it has, none twice; a VM’s `sched.pool` is a pool of its host ' +
      '(a VM naming a pool has a `host`), and a VM naming none needs pCPUs left for the pool `default`',
    check(s, path, ctx) {
      s.hosts?.forEach((h, i) => {
        const owner = new Map<number, string>();
        const ids = new Map<string, number>();
        h?.pools?.forEach((p, j) => {
          if (!p) return;
          const at: Path = [...path, 'hosts', i, 'pools', j];
          if (p.id === DEFAULT_POOL) ctx.report([...at, 'id'], `'${DEFAULT_POOL}' is the pool of the pCPUs no pool claims; choose another id`);
          else if (p.id !== undefined && ids.has(p.id))
            ctx.report([...at, 'id'], `duplicate pool id '${p.id}' (also hosts[${i}].pools[${ids.get(p.id)}])`);
          else if (p.id !== undefined) ids.set(p.id, j);
          p.pcpus?.forEach((c, k) => {
            if (c === undefined) return;
            if (h.pcpus !== undefined && c >= h.pcpus)
              ctx.report([...at, 'pcpus', k], `host ${h.id ?? i} has no pCPU ${c} (it has ${range(h.pcpus)})`);
            else if (owner.has(c)) ctx.report([...at, 'pcpus', k], `pCPU ${c} is already in pool '${owner.get(c)}'`);
            else owner.set(c, p.id ?? String(j));
          });
        });
      });
      const hosts = idsOf(s.hosts);
      s.vms?.forEach((vm, i) => {
        if (!vm) return;
        const pool = vm.sched?.pool;
        const host = vm.host === undefined ? undefined : hosts.ids.get(vm.host);
        if (pool !== undefined && vm.host === undefined) {
          ctx.report([...path, 'vms', i, 'sched', 'pool'], 'a VM placed by the scheduler (no `host`) cannot name a pool; give it a host');
          return;
        }
        if (!host) return;
        const problem = poolProblem(host, pool);
        if (problem) ctx.report(pool === undefined ? [...path, 'vms', i, 'host'] : [...path, 'vms', i, 'sched', 'pool'], problem);
      });
    },
  },
  {
    doc: 'actions are in virtual time order (equal times run in file order), none after `duration`',
    check(s, path, ctx) {
      let prev: { at: number; i: number } | undefined;
      s.actions?.forEach((a, i) => {
        if (a?.at === undefined) return;
        const where = [...path, 'actions', i, 'at'];
        if (s.duration !== undefined && a.at > s.duration) {
          ctx.report(where, `${formatTime(a.at)} is after the end of the run (duration ${formatTime(s.duration)})`);
        }
        // Compared with the entry just before it, so one misplaced action is one issue, not a cascade.
        if (prev && a.at < prev.at) {
          ctx.report(where, `${formatTime(a.at)} is before actions[${prev.i}] (at ${formatTime(prev.at)}); list actions in virtual time order`);
        }
        prev = { at: a.at, i };
      });
    },
  },
  {
    doc:
      'actions name existing VMs and hosts; `pause` a running VM, `unpause` a paused one, kill a host once; ' +
      'after a `set`, the VM’s parameters still obey the `vms[].sched` rules',
    check(s, path, ctx) {
      const hosts = idsOf(s.hosts);
      const vmIds = idsOf(s.vms);
      const maxPcpus = Math.max(0, ...(s.hosts ?? []).map((h) => h?.pcpus ?? 0));
      // The state the actions change, replayed in order. Once an action is too broken to replay,
      // the pause or host state it might have changed is unknown, and no longer checked.
      const vms = new Map<string, { vcpus?: number; host?: string; sched: Loose<SchedRaw>; paused?: number; migrating?: number }>();
      for (const [id, vm] of vmIds.ids) vms.set(id, { vcpus: vm.vcpus, host: vm.host, sched: { ...vm.sched } });
      const killed = new Map<string, number>();
      let pausesKnown = true;
      let killsKnown = true;
      const lookupVm = (id: string | undefined, where: Path) => {
        if (id === undefined) return undefined;
        const vm = vms.get(id);
        if (!vm && vmIds.complete) ctx.report(where, `unknown VM '${id}' (VMs: ${vmIds.names})`);
        return vm;
      };
      s.actions?.forEach((a, i) => {
        if (!a || a.kind === undefined || a.body === undefined) {
          if (!a || a.kind === undefined || a.kind === 'pause' || a.kind === 'unpause') pausesKnown = false;
          if (!a || a.kind === undefined || a.kind === 'killHost') killsKnown = false;
          return;
        }
        const at: Path = [...path, 'actions', i, a.kind];
        switch (a.kind) {
          case 'set': {
            const vm = lookupVm(a.body.vm, [...at, 'vm']);
            if (!vm) return;
            const { vm: _id, ...changes } = a.body;
            const written = new Set([...writtenOf(vm.sched), ...Object.keys(changes)]);
            vm.sched = { ...vm.sched, ...changes };
            recordWritten(vm.sched, written);
            const policies = vmPolicies(s, { id: a.body.vm, host: vm.host, sched: vm.sched });
            for (const p of [...schedProblems(vm.sched, vm.vcpus), ...periodProblems(vm.sched, policies, written)]) {
              ctx.report(at, `after this change, ${a.body.vm}'s ${p.message}`);
            }
            checkPin(changes.pin, vm.host === undefined ? undefined : hosts.ids.get(vm.host)?.pcpus, vm.host, maxPcpus, [...at, 'pin'], ctx);
            if (changes.pool !== undefined) {
              const host = vm.host === undefined ? undefined : hosts.ids.get(vm.host);
              if (vm.host === undefined) ctx.report([...at, 'pool'], `VM '${a.body.vm}' has no \`host\`, so no pools to move between`);
              else if (host) {
                const problem = poolProblem(host, changes.pool);
                if (problem) ctx.report([...at, 'pool'], problem);
              }
            }
            return;
          }
          case 'pause':
          case 'unpause': {
            const vm = lookupVm(a.body.vm, [...at, 'vm']);
            if (!vm) {
              pausesKnown = false;
              return;
            }
            if (pausesKnown && a.kind === 'pause' && vm.paused !== undefined) {
              ctx.report(at, `VM '${a.body.vm}' is already paused (by actions[${vm.paused}])`);
            } else if (pausesKnown && a.kind === 'unpause' && vm.paused === undefined) {
              ctx.report(at, `VM '${a.body.vm}' is not paused`);
            }
            vm.paused = a.kind === 'pause' ? i : undefined;
            return;
          }
          case 'killHost': {
            const id = a.body.host;
            if (id === undefined) {
              killsKnown = false;
            } else if (!hosts.ids.has(id)) {
              if (hosts.complete) ctx.report([...at, 'host'], `unknown host '${id}' (hosts: ${hosts.names})`);
            } else if (killed.has(id)) {
              if (killsKnown) ctx.report([...at, 'host'], `host '${id}' is already down (killed by actions[${killed.get(id)}])`);
            } else {
              killed.set(id, i);
            }
            return;
          }
          case 'swapScheduler':
            return;
          case 'migrate': {
            const vm = lookupVm(a.body.vm, [...at, 'vm']);
            const to = a.body.to;
            if (to !== undefined && !hosts.ids.has(to)) {
              if (hosts.complete) ctx.report([...at, 'to'], `unknown host '${to}' (hosts: ${hosts.names})`);
            } else if (vm && to !== undefined && vm.host === to) ctx.report([...at, 'to'], `VM '${a.body.vm}' is already on host '${to}'`);
            else if (vm && to !== undefined) {
              if (vm.migrating !== undefined)
                ctx.report(at, `VM '${a.body.vm}' is migrated by actions[${vm.migrating}] already (one migration per VM)`);
              vm.migrating = i;
            }
            return;
          }
        }
      });
    },
  },
  {
    doc: 'a `balancer` needs two hosts or more, and no `migrate` action (it migrates VMs itself)',
    check(s, path, ctx) {
      if (!s.balancer) return;
      if ((s.hosts?.length ?? 0) < 2) ctx.report([...path, 'balancer'], 'load balancing needs two hosts or more');
      s.actions?.forEach((a, i) => {
        if (a?.kind === 'migrate')
          ctx.report([...path, 'actions', i, 'migrate'], 'the scenario has a `balancer`, which migrates VMs itself: remove one of them');
      });
    },
  },
  {
    doc: 'network links name existing hosts, two different ones, each pair once',
    check(s, path, ctx) {
      const hosts = idsOf(s.hosts);
      const seen = new Map<string, number>();
      s.network?.links?.forEach((l, i) => {
        if (!l) return;
        const at: Path = [...path, 'network', 'links', i];
        for (const k of ['from', 'to'] as const) {
          const id = l[k];
          if (id !== undefined && !hosts.ids.has(id) && hosts.complete) ctx.report([...at, k], `unknown host '${id}' (hosts: ${hosts.names})`);
        }
        if (l.from !== undefined && l.from === l.to) ctx.report([...at, 'to'], `a link joins two different hosts, got '${l.to}' twice`);
        const key = `${l.from}>${l.to}`;
        if (seen.has(key)) ctx.report(at, `the link from '${l.from}' to '${l.to}' is already network.links[${seen.get(key)}]`);
        else seen.set(key, i);
      });
    },
  },
];

/** The whole format: the root of the table. */
TOP_RULES.push({
  doc: 'each VM’s scheduling keys against the policies that may run it (its pool’s or the top-level scheduler, pools a `set` moves it to, `swapScheduler` policies)',
  check: (s, path, ctx) => checkSchedKeys(s, path, ctx),
});

/** A key that belongs one level down: `policy` or a policy parameter at the top, instead of under `scheduler`. */
function topKeyHint(key: string): string | undefined {
  if (key === 'policy' || key === 'params') return `the scheduler's keys go under scheduler: did you mean scheduler.${key}?`;
  const owners = SCHEDULER.names.filter((n) => Object.hasOwn(SCHEDULER.variants[n].fields, key));
  if (owners.length > 0) return `${owners.join(' and ')} parameters go under scheduler.params: did you mean scheduler.params.${key}?`;
  if (Object.hasOwn(SCHED_FIELDS, key)) return `a VM's scheduling parameters go under vms[].sched: did you mean vms[].sched.${key}?`;
  return undefined;
}

export const SCENARIO = new ObjectType(TOP_FIELDS, TOP_RULES, undefined, topKeyHint);
export type ScenarioRaw = TopRaw;
