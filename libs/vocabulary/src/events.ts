// The words of the event log (docs/events.md): what an event records (its kind), which part of the
// hypervisor handled a trap (its route) and the path the exit took. These strings are what the JSON
// outputs, the metrics labels, the traces and the event-log hash carry; on the wire they travel as
// the enums of vsim.v1.Event (libs/proto/src/event-kinds.ts maps both ways), so producers spell
// them through these types and a typo does not compile.

/** A scheduling policy's trace points (after Xen's TRACE points), logged as `sched.<point>`. */
export const SCHED_TRACE_POINTS = [
  'tickle',
  'account',
  'boost_start',
  'boost_end',
  'park',
  'unpark',
  'stolen_vcpu',
  'credit_reset',
  'load_balance',
  'migrate',
  'replenish',
  'depleted',
  'deadline_miss',
  'cpupool_migrate',
  'affinity',
  'affinity_broken',
] as const;
export type SchedTracePoint = (typeof SCHED_TRACE_POINTS)[number];

/** Every event kind, in the order of docs/events.md's table. */
export const EVENT_KINDS = [
  'schedule',
  'run',
  'wake',
  'block',
  'trap',
  'hypercall',
  'console',
  'ipi',
  'hart-start',
  'hart-stop',
  'halt',
  'fault',
  'pause',
  'unpause',
  'set',
  'set-scheduler',
  'set-refused',
  'swap-scheduler',
  'kill-host',
  // Live migration (pre-copy) and the load balancer's decisions (docs/migration in architecture §4).
  'migrate-start',
  'migrate-round',
  'migrate-stop',
  'migrate-resume',
  'migrate-abandoned',
  'balance',
  ...SCHED_TRACE_POINTS.map((p) => `sched.${p}` as const),
] as const;
export type EventKindName = (typeof EVENT_KINDS)[number];

/** The event kind of a policy's trace point. */
export function schedTraceKind(point: SchedTracePoint): EventKindName {
  return `sched.${point}`;
}

/** Which part of the hypervisor handled a trap or hypercall. */
export const TRAP_ROUTES = ['interpreter', 'allocator'] as const;
export type TrapRouteName = (typeof TRAP_ROUTES)[number];

/**
 * The path one trap or hypercall took: inside the cpu-node, through the hypervisor service, or a call
 * from binary-translated code (no exit). Not a scenario's `trapPath` (TRAP_PATHS), which chooses them.
 */
export const EVENT_PATHS = ['local', 'remote', 'translated'] as const;
export type EventPathName = (typeof EVENT_PATHS)[number];
