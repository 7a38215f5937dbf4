// The scheduling policies: each one's name, scheduler-wide parameters (with their bounds and
// defaults), the per-VM parameters it reads, and its `xl sched-*` command. This is the data half of
// the policy registry (libs/scheduler/src/registry.ts pairs each entry with its constructor, as
// Xen's REGISTER_SCHEDULER does); the scenario format, the run-time checks, the CLI's `sched-*`
// verbs and the generated reference are all derived from it.

import { MAX_VCPUS } from './limits';
import { ParamProblem, ParamSchema, ParamSpec, ValueOf, defaultsOf, formatNs, paramProblem } from './params';

const MS = 1_000_000;
const US = 1_000;

/** Xen's XEN_SYSCTL_SCHED_RATELIMIT_MIN/MAX (100 µs, 500 ms), xen/include/public/sysctl.h. */
const RATELIMIT_MIN_NS = 100 * US;
const RATELIMIT_MAX_NS = 500 * MS;

// ---------------------------------------------------------------------------------------------
// Per-VM parameters (`vms[].sched`, `xl sched-* -d VM`)

export const DEFAULT_WEIGHT = 256;

/** Every per-VM scheduling parameter a policy may read; `readers` says which policies do. */
export const VM_SCHED_PARAMS = {
  weight: {
    type: 'int',
    min: 1,
    max: 65535,
    default: DEFAULT_WEIGHT,
    doc: 'credit, credit2: relative share of CPU time (512 gets twice the time of 256)',
  },
  cap: {
    type: 'int',
    min: 0,
    max: 100 * MAX_VCPUS,
    default: 0,
    doc: 'credit, credit2: most CPU the VM may use, in percent of one pCPU (at most 100 × `vcpus`); 0 = no cap',
  },
  // slice, period and budget have no shared default: the policy running the VM supplies its own
  // (`vmDefaults` below), so an RTDS VM gets rt.c's 4 ms / 10 ms and a SEDF VM SEDF's 10 ms / 100 ms.
  slice: { type: 'time', min: 1, absent: 'SEDF’s `10ms`', doc: 'sedf: time guaranteed in each period' },
  period: { type: 'time', min: 1, absent: 'the running policy’s: RTDS `10ms`, SEDF `100ms`', doc: 'sedf, rtds: the period of `slice` and `budget`' },
  extra: { type: 'bool', default: true, doc: 'sedf: may also run in slack time, beyond its slice' },
  budget: { type: 'time', min: 1, absent: 'RTDS’s `4ms` (rt.c)', doc: 'rtds: time guaranteed in each period' },
  extratime: { type: 'bool', default: true, doc: 'rtds: may run beyond its budget when a pCPU would idle' },
} as const satisfies ParamSchema;

export type VmSchedKey = keyof typeof VM_SCHED_PARAMS;
/** Keys every policy reads (affinity, cpupool): their shape is not a scalar, the scenario format checks them. */
export const COMMON_VM_SCHED_KEYS = ['pin', 'pool'] as const;

// ---------------------------------------------------------------------------------------------
// The policies

/** One `xl sched-*` option: the parameter it sets, its letter, and the unit xl takes it in. */
export interface XlFlag {
  readonly key: string;
  /** The long option (`--tslice_ms`): the key unless xl's unit makes it ambiguous. */
  readonly option: string;
  readonly short: string;
  readonly scope: 'vm' | 'scheduler';
  /** Times: xl's unit; booleans: 0|1 as xl takes them. */
  readonly unit?: 'ms' | 'us';
  readonly description: string;
}

export interface XlCommand {
  readonly command: string;
  readonly summary: string;
  readonly flags: readonly XlFlag[];
  readonly example: string;
}

export interface PolicyDescriptor {
  readonly name: string;
  readonly doc: string;
  /** Scheduler-wide parameters (`scheduler.params`, `xl sched-* -s`). */
  readonly params: ParamSchema;
  /** Pairs [shorter, longer] of scheduler-wide parameters: the first may not exceed the second. */
  readonly paramOrder: readonly (readonly [string, string])[];
  /** The per-VM parameters it reads (besides pin and pool). */
  readonly vmParams: readonly VmSchedKey[];
  /** Pairs [shorter, longer] of per-VM parameters. */
  readonly vmParamOrder: readonly (readonly [VmSchedKey, VmSchedKey])[];
  /** What this policy uses for a per-VM parameter the VM leaves unset, where it differs by policy (else VM_SCHED_PARAMS' default). */
  readonly vmDefaults?: Readonly<Partial<Record<VmSchedKey, number | boolean>>>;
  readonly xl?: XlCommand;
}

const WEIGHT_FLAG: XlFlag = { key: 'weight', option: 'weight', short: 'w', scope: 'vm', description: 'relative weight (1-65535, default 256)' };
const CAP_FLAG: XlFlag = { key: 'cap', option: 'cap', short: 'c', scope: 'vm', description: 'cap in % of one pCPU (0: none)' };
const RATELIMIT_FLAG: XlFlag = {
  key: 'ratelimit',
  option: 'ratelimit_us',
  short: 'r',
  scope: 'scheduler',
  unit: 'us',
  description: 'scheduler-wide rate limit in µs (0: off; with -s)',
};

export const ROUND_ROBIN = {
  name: 'round-robin',
  doc: 'every runnable vCPU of a pCPU in turn, one time slice each',
  params: {
    timeslice: { type: 'time', min: 1, default: 10 * MS, doc: 'how long a vCPU runs before the next runnable vCPU of the pCPU takes its turn' },
  },
  paramOrder: [],
  vmParams: [],
  vmParamOrder: [],
} as const satisfies PolicyDescriptor;

export const CREDIT = {
  name: 'credit',
  doc: "Xen's Credit scheduler (xen/common/sched/credit.c): proportional share by weight, caps, BOOST",
  params: {
    tslice: { type: 'time', min: 1 * MS, max: 1000 * MS, default: 30 * MS, doc: 'time slice: how long a vCPU runs before the scheduler picks again' },
    ratelimit: {
      type: 'time',
      min: RATELIMIT_MIN_NS,
      max: RATELIMIT_MAX_NS,
      zeroTurnsOff: true,
      default: 1 * MS,
      doc: 'least time a vCPU runs before it can be preempted; 0 turns the limit off',
    },
    accounting: {
      type: 'enum',
      values: ['precise', 'tick'],
      default: 'precise',
      doc: '`precise`: credit is debited for exactly the time run; `tick`: sampled at each 10ms tick, as Xen does',
    },
    boost: {
      type: 'bool',
      doc: 'BOOST: a waking vCPU with credit left preempts (csched_unit_wake); `false` turns it off, for experiments',
      absent: '`true`, as Xen',
    },
    acctPhase: {
      type: 'time',
      min: 0,
      doc: 'when the accounting (csched_acct, which shares out credit) first runs, at most `tslice`; then every `tslice`',
      absent: 'half of `tslice`',
    },
  },
  paramOrder: [
    ['ratelimit', 'tslice'],
    ['acctPhase', 'tslice'],
  ],
  vmParams: ['weight', 'cap'],
  vmParamOrder: [],
  xl: {
    command: 'sched-credit',
    summary: 'Show or set Credit scheduler parameters',
    flags: [
      WEIGHT_FLAG,
      CAP_FLAG,
      { key: 'tslice', option: 'tslice_ms', short: 't', scope: 'scheduler', unit: 'ms', description: 'scheduler-wide time slice in ms (with -s)' },
      RATELIMIT_FLAG,
    ],
    example: 'vsim sched-credit --nats nats://127.0.0.1:4222 --sim $SIM -d web -w 512 -c 50',
  },
} as const satisfies PolicyDescriptor;

/** Credit2's run-queue arrangements (Xen's `credit2_runqueue`; `node` is `socket` here: no NUMA). */
export const CREDIT2_RUNQUEUES = ['cpu', 'core', 'socket', 'all'] as const;

export const CREDIT2 = {
  name: 'credit2',
  doc: "Xen's Credit2 scheduler (xen/common/sched/credit2.c): credit-ordered run queues shared by groups of pCPUs",
  params: {
    ratelimit: {
      type: 'time',
      min: 0,
      max: RATELIMIT_MAX_NS,
      default: 1 * MS,
      doc: 'least time a vCPU runs before it can be preempted; 0 turns the limit off (at most 500ms)',
    },
    runqueue: {
      type: 'enum',
      values: CREDIT2_RUNQUEUES,
      default: 'socket',
      doc: 'how pCPUs share run queues, as Xen’s `credit2_runqueue`: `cpu` one each, `core`/`socket` one per group of `groupSize` pCPUs, `all` one per host (at most `maxCpusPerRunqueue` pCPUs each)',
    },
    groupSize: {
      type: 'int',
      min: 1,
      max: 256,
      doc: 'pCPUs per core or socket (vsim has no topology)',
      absent: '1 for `core`, every pCPU of the host for `socket`',
    },
    maxCpusPerRunqueue: {
      type: 'int',
      min: 1,
      max: 256,
      default: 16,
      doc: 'Xen’s `sched_credit2_max_cpus_runqueue`: a larger group is split into even run queues',
    },
  },
  paramOrder: [],
  vmParams: ['weight', 'cap'],
  vmParamOrder: [],
  xl: {
    command: 'sched-credit2',
    summary: 'Show or set Credit2 scheduler parameters',
    flags: [WEIGHT_FLAG, CAP_FLAG, RATELIMIT_FLAG],
    example: 'vsim sched-credit2 --nats nats://127.0.0.1:4222 --sim $SIM -d web -w 512',
  },
} as const satisfies PolicyDescriptor;

export const SEDF = {
  name: 'sedf',
  doc: "Xen's SEDF (Xen ≤ 4.5): earliest deadline first over each VM's slice per period, slack time to `extra` VMs",
  params: {},
  paramOrder: [],
  vmParams: ['slice', 'period', 'extra'],
  vmParamOrder: [['slice', 'period']],
  vmDefaults: { slice: 10 * MS, period: 100 * MS },
  // xl sched-sedf (Xen <= 4.5): -p PERIOD and -s SLICE in ms, -e EXTRA 0|1.
  xl: {
    command: 'sched-sedf',
    summary: 'Show or set SEDF scheduler parameters',
    flags: [
      { key: 'period', option: 'period', short: 'p', scope: 'vm', unit: 'ms', description: 'period in ms' },
      { key: 'slice', option: 'slice', short: 's', scope: 'vm', unit: 'ms', description: 'slice guaranteed per period, in ms' },
      { key: 'extra', option: 'extratime', short: 'e', scope: 'vm', description: 'may run in slack time (0|1)' },
    ],
    example: 'vsim sched-sedf --nats nats://127.0.0.1:4222 --sim $SIM -d rt -p 20 -s 5 -e 0',
  },
} as const satisfies PolicyDescriptor;

export const RTDS = {
  name: 'rtds',
  doc: "Xen's RTDS (xen/common/sched/rt.c): global EDF over each VM's budget per period",
  params: {},
  paramOrder: [],
  vmParams: ['budget', 'period', 'extratime'],
  vmParamOrder: [['budget', 'period']],
  // RTDS_DEFAULT_BUDGET / RTDS_DEFAULT_PERIOD (xen/common/sched/rt.c): MICROSECS(4000) / MICROSECS(10000).
  vmDefaults: { budget: 4 * MS, period: 10 * MS },
  // xl sched-rtds: -p PERIOD and -b BUDGET in µs, -e EXTRATIME 0|1.
  xl: {
    command: 'sched-rtds',
    summary: 'Show or set RTDS scheduler parameters',
    flags: [
      { key: 'period', option: 'period', short: 'p', scope: 'vm', unit: 'us', description: 'period in µs' },
      { key: 'budget', option: 'budget', short: 'b', scope: 'vm', unit: 'us', description: 'budget per period in µs' },
      { key: 'extratime', option: 'extratime', short: 'e', scope: 'vm', description: 'may run beyond its budget when a pCPU is idle (0|1)' },
    ],
    example: 'vsim sched-rtds --nats nats://127.0.0.1:4222 --sim $SIM -d rt -p 10000 -b 4000',
  },
} as const satisfies PolicyDescriptor;

/** Every policy, in the order the docs list them (the first is the default). */
export const POLICY_DESCRIPTORS = [ROUND_ROBIN, CREDIT, SEDF, RTDS, CREDIT2] as const;
export const POLICIES = [
  'round-robin',
  'credit',
  'sedf',
  'rtds',
  'credit2',
] as const satisfies readonly (typeof POLICY_DESCRIPTORS)[number]['name'][];
export type Policy = (typeof POLICIES)[number];

/** The scheduler-wide parameters of policy D, as its constructor takes them (optional ones may be absent). */
export type ParamsOf<D extends PolicyDescriptor> = {
  -readonly [K in keyof D['params']]: D['params'][K] extends ParamSpec ? ValueOf<D['params'][K]> : never;
};

export function policyDescriptor(name: string): PolicyDescriptor | undefined {
  return POLICY_DESCRIPTORS.find((d) => d.name === name);
}

/** The policies that read each per-VM key. */
export function readersOf(key: VmSchedKey): Policy[] {
  return POLICY_DESCRIPTORS.filter((d) => (d.vmParams as readonly string[]).includes(key)).map((d) => d.name);
}

/** What policy `d` uses for per-VM parameter `key` when the VM leaves it unset (undefined: nothing). */
export function vmParamDefault(d: PolicyDescriptor, key: VmSchedKey): number | boolean | undefined {
  return d.vmDefaults?.[key] ?? (VM_SCHED_PARAMS[key] as { default?: number | boolean }).default;
}

/** Unknown policy → a message listing the known ones. */
export function unknownPolicy(name: string): string {
  return `unknown scheduling policy '${name}' (${POLICIES.join(', ')})`;
}

// ---------------------------------------------------------------------------------------------
// Checks: the run-time calls refuse exactly what the scenario validator refuses.

/** Problems with scheduler-wide parameters for policy `d` (a partial update is checked against `base`, the values it changes). */
export function checkPolicyParams(
  d: PolicyDescriptor,
  params: Readonly<Record<string, unknown>>,
  base: Readonly<Record<string, unknown>> = {},
): ParamProblem[] {
  const out: ParamProblem[] = [];
  const own = Object.keys(d.params);
  for (const [k, v] of Object.entries(params)) {
    if (!Object.hasOwn(d.params, k)) {
      const owners = POLICY_DESCRIPTORS.filter((o) => Object.hasOwn(o.params, k)).map((o) => o.name);
      const takes = own.length ? `it takes ${own.join(', ')}` : 'it takes no scheduler-wide parameters';
      out.push({ key: k, message: `${k} is not a parameter of ${d.name}${owners.length ? ` (it is one of ${owners.join(', ')})` : ''}; ${takes}` });
      continue;
    }
    const why = paramProblem(d.params[k]!, v);
    if (why) out.push({ key: k, message: `${k} ${why}` });
  }
  out.push(...orderProblems(d.paramOrder, { ...defaultsOf(d.params), ...base, ...params }, out));
  return out;
}

/** Problems with per-VM parameters for policy `d` on a VM of `vcpus` vCPUs (pin and pool are left to the caller). */
export function checkVmParams(
  d: PolicyDescriptor,
  params: Readonly<Record<string, unknown>>,
  vcpus: number,
  base: Readonly<Record<string, unknown>> = {},
): ParamProblem[] {
  const out: ParamProblem[] = [];
  for (const [k, v] of Object.entries(params)) {
    if ((COMMON_VM_SCHED_KEYS as readonly string[]).includes(k)) continue;
    if (!Object.hasOwn(VM_SCHED_PARAMS, k)) {
      out.push({ key: k, message: `${k} is not a scheduling parameter (${[...Object.keys(VM_SCHED_PARAMS), ...COMMON_VM_SCHED_KEYS].join(', ')})` });
      continue;
    }
    if (!(d.vmParams as readonly string[]).includes(k)) {
      const readers = readersOf(k as VmSchedKey);
      out.push({
        key: k,
        message: `${k} is a parameter of ${readers.join(' and ')}, not ${d.name} (${d.name} reads ${d.vmParams.join(', ') || 'none'})`,
      });
      continue;
    }
    const why = paramProblem(VM_SCHED_PARAMS[k as VmSchedKey], v);
    if (why) out.push({ key: k, message: `${k} ${why}` });
  }
  const cap = params.cap;
  if (typeof cap === 'number' && cap > 100 * vcpus && !out.some((p) => p.key === 'cap')) {
    out.push({ key: 'cap', message: `cap ${cap} is more than 100 × vcpus (${100 * vcpus} for ${vcpus} vCPU${vcpus === 1 ? '' : 's'})` });
  }
  const defaults = Object.fromEntries(d.vmParams.map((k) => [k, vmParamDefault(d, k)]));
  out.push(...orderProblems(d.vmParamOrder, { ...defaults, ...base, ...params }, out));
  return out;
}

/** `values` holds the defaults under what was given. */
function orderProblems(
  order: readonly (readonly [string, string])[],
  values: Readonly<Record<string, unknown>>,
  already: readonly ParamProblem[],
): ParamProblem[] {
  const out: ParamProblem[] = [];
  for (const [shorter, longer] of order) {
    const a = values[shorter];
    const b = values[longer];
    if (typeof a !== 'number' || typeof b !== 'number' || already.some((p) => p.key === shorter || p.key === longer)) continue;
    if (a > b) out.push({ key: shorter, message: `${shorter} (${formatNs(a)}) is longer than ${longer} (${formatNs(b)})` });
  }
  return out;
}
