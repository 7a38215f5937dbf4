// The normalised scenario: what parseScenario returns. Every default is filled in, every time is an
// integer number of virtual nanoseconds, every clock an integer number of Hz, every size an integer
// number of bytes, and every image an absolute path. The field table (format.ts) decodes into exactly
// these shapes — the compiler checks it where validate.ts assembles them.

import type { EngineName, IsaName, Policy, Technique, TrapPath, VmKind } from '@vsim/vocabulary';
import { CREDIT, CREDIT2_RUNQUEUES, ELF_MACHINES, ISAS, POLICIES, TECHNIQUES, TRAP_PATHS, VM_KINDS } from '@vsim/vocabulary';

// The words themselves (ISAs, techniques, kinds, policies) are @vsim/vocabulary's.
export { CREDIT2_RUNQUEUES, ELF_MACHINES, POLICIES, TECHNIQUES, TRAP_PATHS, VM_KINDS };
export type { Policy, Technique, TrapPath, VmKind };

/** ISAs the simulator implements: RISC-V rv32, and ring32, the non-virtualizable teaching ISA (architecture §6). */
export const HOST_ISAS = ISAS;
export type HostIsa = IsaName;
/** A VM's ISA: any host ISA (one not the host's runs by emulation). */
export const VM_ISAS = HOST_ISAS;
export type VmIsa = HostIsa;

/** Host instructions per guest instruction when a host emulates a VM of the other ISA, per engine. */
export type ExpansionSpec = Record<EngineName, number>;

export const CREDIT_ACCOUNTING = CREDIT.params.accounting.values;
export type Credit2Runqueue = (typeof CREDIT2_RUNQUEUES)[number];
export type CreditAccounting = (typeof CREDIT_ACCOUNTING)[number];

export type { EngineName };

/** A policy that takes no parameters. */
export type NoParams = Record<never, never>;

export interface RoundRobinParams {
  /** ns */
  timeslice: number;
}

export interface CreditParams {
  /** ns */
  tslice: number;
  /** ns; 0 = no rate limit */
  ratelimit: number;
  accounting: CreditAccounting;
  /** BOOST of waking vCPUs; absent: on */
  boost?: boolean;
  /** ns in [0, tslice]: when the accounting first runs; absent: tslice / 2 */
  acctPhase?: number;
}

export interface Credit2Params {
  /** ns; 0 = no rate limit */
  ratelimit: number;
  runqueue: Credit2Runqueue;
  /** pCPUs per core or socket; absent: 1 for core, the whole host for socket */
  groupSize?: number;
  maxCpusPerRunqueue: number;
}

export type SchedulerSpec =
  | { policy: 'round-robin'; params: RoundRobinParams }
  | { policy: 'credit'; params: CreditParams }
  | { policy: 'sedf'; params: NoParams }
  | { policy: 'rtds'; params: NoParams }
  | { policy: 'credit2'; params: Credit2Params };

/** The hypervisor's cost model, in cycles (format.ts COST_DEFAULTS; @vsim/hypervisor's HypervisorCosts). */
export interface CostsSpec {
  exit: number;
  sbiSimple: number;
  setTimer: number;
  consoleWrite: number;
  consolePerByte: number;
  syscall: number;
  allocator: number;
  emulate: number;
  translatedCall: number;
  translateBlock: number;
}

export interface HostSpec {
  id: string;
  pcpus: number;
  isa: HostIsa;
  /** Hz (the scenario's clock unless the host overrides it) */
  clock: number;
  /** ns: how far each pCPU of the host runs before the next one takes its turn (lockstep interleaving) */
  quantum: number;
  /** The host's cost model: the top-level `costs` with the host's own keys applied. */
  costs: CostsSpec;
  /** cpupools: disjoint sets of its pCPUs with their own scheduler (the rest: pool `default`). */
  pools: PoolSpec[];
  /** `costs.expansion`: what emulating a VM of the other ISA costs, per engine. */
  expansion: ExpansionSpec;
}

export interface PoolSpec {
  id: string;
  /** host pCPU ids */
  pcpus: number[];
  /** its scheduler (the top-level one unless the pool gives its own) */
  scheduler: SchedulerSpec;
}

/** Per-VM scheduling parameters; each policy reads the ones it knows. */
export interface VmSchedSpec {
  /** credit, credit2: relative share, 1..65535 */
  weight: number;
  /** credit: percent of one pCPU, 0 = uncapped, at most 100 × vcpus */
  cap: number;
  /** sedf: ns of guaranteed time per period; absent: SEDF's default (the policy's descriptor, @vsim/vocabulary) */
  slice?: number;
  /** sedf, rtds: ns; absent: the running policy's default (rtds 10 ms, sedf 100 ms) */
  period?: number;
  /** sedf: may use slack time */
  extra: boolean;
  /** rtds: ns of guaranteed time per period; absent: RTDS's default (rt.c's 4 ms) */
  budget?: number;
  /** rtds: may run beyond its budget on idle pCPUs */
  extratime: boolean;
  /** hard affinity: for each vCPU, the pCPU ids (on the VM's host) it may run on; null = any */
  pin: number[][] | null;
  /** the cpupool of its host it runs in; absent = `default` */
  pool?: string;
}

/** The parameters a `set` action changes (at least one). */
export type VmSchedUpdate = { [K in keyof VmSchedSpec]?: NonNullable<VmSchedSpec[K]> };

export interface VmSpec {
  id: string;
  /** the host it starts on; null = the scheduler places it */
  host: string | null;
  vcpus: number;
  /** bytes, a multiple of 4 KiB */
  memory: number;
  /** absolute path of the guest image (not parsed here) */
  image: string;
  /** program arguments (kind linux only; [] otherwise) */
  args: string[];
  kind: VmKind;
  engine: EngineName;
  technique: Technique;
  /** the guest's ISA: as given, else from the image's ELF e_machine (rv32 when it is not an ELF of either) */
  isa: VmIsa;
  sched: VmSchedSpec;
}

export type Action =
  | { kind: 'set'; at: number; vm: string; params: VmSchedUpdate }
  | { kind: 'pause'; at: number; vm: string }
  | { kind: 'unpause'; at: number; vm: string }
  | { kind: 'swapScheduler'; at: number; scheduler: SchedulerSpec }
  | { kind: 'killHost'; at: number; host: string }
  /** live migration by pre-copy to host `to`; `stopPages`/`maxRounds` absent: the scheduler's defaults (50, 30) */
  | { kind: 'migrate'; at: number; vm: string; to: string; stopPages?: number; maxRounds?: number };

/** Load balancing: every `period` ns, a VM moves when loads differ by more than `threshold` percent. */
export interface BalancerSpec {
  period: number;
  threshold: number;
  stopPages?: number;
  maxRounds?: number;
}

/** One network link, or the default between any two hosts. */
export interface NetworkLinkSpec {
  /** bytes per second of virtual time */
  bandwidth: number;
  /** ns */
  latency: number;
}

/** The network live migrations cross: a default link and per-pair overrides (from → to). */
export interface NetworkSpec extends NetworkLinkSpec {
  links: ({ from: string; to: string } & NetworkLinkSpec)[];
}

export type ActionKind = Action['kind'];

export interface Scenario {
  name: string;
  /** absolute path of the scenario file, when it came from one */
  file: string | null;
  seed: number;
  /** ns of virtual time */
  duration: number;
  /** Hz: the default pCPU clock (each host's own is in hosts[].clock) */
  clock: number;
  trapPath: TrapPath;
  scheduler: SchedulerSpec;
  /** The top-level cost model (each host's effective one is in hosts[].costs). */
  costs: CostsSpec;
  /** `costs.expansion`: host instructions per guest instruction when emulating another ISA, per engine. */
  expansion: ExpansionSpec;
  hosts: HostSpec[];
  vms: VmSpec[];
  network: NetworkSpec;
  /** where a VM without `host` starts */
  placement: 'least-loaded' | 'first-fit';
  /** load balancing by live migration; null = none */
  balancer: BalancerSpec | null;
  /** in virtual time order (ties keep file order) */
  actions: Action[];
  /** Checkpoints every `interval` ns of virtual time; null: none asked for. */
  checkpoint: { interval: number } | null;
}
