// THE table of who may do what on the bus (architecture §12). Every identity of a deployment has a
// role; nats-server enforces each role's subject permissions (nats-config.ts renders them), so a
// message on a vsim subject can only have come from an identity allowed to publish there:
//
//   subject (libs/runtime/src/subjects.ts)   publishes                  subscribes (serves)
//   vsim.<sim>.run.<node>.<host>             scheduler                  cpu-node <node> only
//   vsim.<sim>.trap.<node>                   cpu-node <node> only       hypervisor
//   vsim.<sim>.events.<host>                 scheduler                  gateway
//   vsim.<sim>.gdb.<node>                    gateway (`vsim gdb`)       cpu-node <node> only
//   vsim.<sim>.checkpoint.<node>.<host>      scheduler                  cpu-node <node> only
//   vsim.<sim>.allocators                    scheduler                  hypervisor
//   vsim.<sim>.migrate.<node>                scheduler                  cpu-node <node> only
//   vsim.<sim>.migrate-in.<node>             any cpu-node (the source)  cpu-node <node> only
//   vsim.<sim>.vm-moved                      scheduler                  hypervisor
//   $SRV.{PING,INFO,STATS}[.<name>[.<id>]]   (requests) gateway, client  each service, for its own name
//                                            and supervisor ask INFO
//   _INBOX_<identity>.>                      (replies only)             that identity alone
//   vsim-heartbeat.<role>.<id>               that service (a cpu-node:  gateway (liveness)
//                                            its own node id only)
//   JetStream stream VSIM_EVENTS             scheduler (events, acked)  gateway (ordered consumers)
//   JetStream buckets vsim-checkpoints       gateway (creates them),    gateway, scheduler
//     (KV_ metadata, OBJ_ blobs)             scheduler (reads, writes)
//   KV bucket vsim-hypervisor                the hypervisor alone (its VM records: a restarted one
//                                            takes over from them)
//   KV bucket vsim-gateway                   the gateway alone (its simulations)
//
// Replies travel only as answers to requests the responder received (nats-server's
// allow_responses): a cpu-node can answer the run orders it was sent, the hypervisor the traps,
// nobody can publish into another identity's inbox. Clients of the gateway get nothing under
// vsim.>: the gateway relays their simulation's events over its authenticated APIs.
//
// JetStream: the event stream captures vsim.*.events.* (published by the scheduler, which may only
// look the stream up); the gateway creates it and reads it through consumers of its own. The
// checkpoint buckets (@vsim/bus jetstream-checkpoint-store.ts) are a key-value bucket and an object
// store: the gateway creates both at start; the scheduler (which writes checkpoints) and the
// gateway (which resumes and garbage-collects them) read and write them through the JetStream API
// subjects of those two streams only, and the bucket subjects $KV.<b>.> / $O.<b>.>. No other
// identity can read a checkpoint (VM memory) or move a simulation's `latest` revision.

/** What an identity is. A role's permissions are the same for every identity that has it, but for a cpu-node's node id. */
export type Role = 'hypervisor' | 'scheduler' | 'cpu-node' | 'gateway' | 'client' | 'supervisor';

export const ROLES: readonly Role[] = ['hypervisor', 'scheduler', 'cpu-node', 'gateway', 'client', 'supervisor'];

/** The name each service role registers under with the NATS service API. */
export const SERVICE_NAME: Readonly<Record<'hypervisor' | 'scheduler' | 'cpu-node' | 'gateway', string>> = {
  hypervisor: 'vsim-hypervisor',
  scheduler: 'vsim-scheduler',
  'cpu-node': 'vsim-cpu-node',
  gateway: 'vsim-gateway',
};

export interface SubjectPermissions {
  /** Subjects (wildcards allowed) the identity may publish to; [] = none. */
  readonly publish: readonly string[];
  /** Subjects it may subscribe to. */
  readonly subscribe: readonly string[];
  /** May answer the requests it receives (publish to their reply subjects, once each). */
  readonly allowResponses: boolean;
}

/** The inbox prefix of an identity: the only reply subjects it can subscribe to. */
export function inboxPrefixOf(identity: string): string {
  return `_INBOX_${identity}`;
}

/** Subject tokens: simulation, host and node ids, identity names. */
export const SUBJECT_TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

/** The $SRV subjects a service answers for its own name (registration, discovery, liveness). */
function serves(name: string): string[] {
  return ['$SRV.*', `$SRV.*.${name}`, `$SRV.*.${name}.*`];
}

/** Heartbeats (@vsim/service heartbeat.ts): vsim-heartbeat.<role>.<id>. */
function beats(role: string, id = '*'): string {
  return `vsim-heartbeat.${role}.${id}`;
}

/** The event stream's name (@vsim/bus stream.ts). */
const EVENTS = 'VSIM_EVENTS';

/** What the gateway asks of JetStream: set the event stream up and follow it. */
const GATEWAY_JS = [
  '$JS.API.INFO',
  `$JS.API.STREAM.INFO.${EVENTS}`,
  `$JS.API.STREAM.CREATE.${EVENTS}`,
  `$JS.API.CONSUMER.CREATE.${EVENTS}.>`,
  `$JS.API.CONSUMER.INFO.${EVENTS}.>`,
  `$JS.API.CONSUMER.DELETE.${EVENTS}.>`,
  `$JS.API.CONSUMER.MSG.NEXT.${EVENTS}.>`,
];

/** The checkpoint buckets' name (@vsim/bus CHECKPOINT_BUCKET): streams KV_<name> and OBJ_<name>. */
export const CHECKPOINT_BUCKET = 'vsim-checkpoints';

/**
 * What nats.js's KV and object-store clients ask of JetStream to read and write the checkpoint
 * buckets: stream lookups, direct and stored message gets (KV get, object info), purges (an object's
 * chunks on delete), ordered consumers (keys, object lists and reads) with their flow-control
 * replies, and the bucket subjects themselves. `create` adds the streams' creation (the gateway).
 */
function checkpointBuckets(create: boolean): string[] {
  return bucketGrants([`KV_${CHECKPOINT_BUCKET}`, `OBJ_${CHECKPOINT_BUCKET}`], [`$KV.${CHECKPOINT_BUCKET}.>`, `$O.${CHECKPOINT_BUCKET}.>`], create);
}

/**
 * The state buckets of replaceable services (@vsim/bus state-store.ts): each its owner's alone, so
 * that a restarted or stand-in instance takes over from it (the hypervisor's VM records, the
 * gateway's simulations).
 */
export const STATE_BUCKET = { hypervisor: 'vsim-hypervisor', gateway: 'vsim-gateway' } as const;

function stateBucket(bucket: string): string[] {
  return bucketGrants([`KV_${bucket}`], [`$KV.${bucket}.>`], true);
}

function bucketGrants(streams: readonly string[], bucketSubjects: readonly string[], create: boolean): string[] {
  const out = [...bucketSubjects, '$JS.API.INFO'];
  for (const s of streams) {
    out.push(
      `$JS.API.STREAM.INFO.${s}`,
      `$JS.API.STREAM.MSG.GET.${s}`,
      `$JS.API.STREAM.PURGE.${s}`,
      `$JS.API.DIRECT.GET.${s}`,
      `$JS.API.DIRECT.GET.${s}.>`,
      `$JS.API.CONSUMER.CREATE.${s}`,
      `$JS.API.CONSUMER.CREATE.${s}.>`,
      `$JS.API.CONSUMER.INFO.${s}.>`,
      `$JS.API.CONSUMER.DELETE.${s}.>`,
      `$JS.API.CONSUMER.MSG.NEXT.${s}.>`,
      `$JS.FC.${s}.>`,
    );
    if (create) out.push(`$JS.API.STREAM.CREATE.${s}`);
  }
  return out;
}

/** Asking who is registered under these names (discover(), @vsim/service). */
function finds(...names: string[]): string[] {
  return names.map((n) => `$SRV.INFO.${n}`);
}

export function permissionsOf(role: Role, identity: string, node?: string): SubjectPermissions {
  if (!SUBJECT_TOKEN.test(identity)) throw new RangeError(`identity ${JSON.stringify(identity)} must be 1-64 characters of [A-Za-z0-9_-]`);
  const inbox = `${inboxPrefixOf(identity)}.>`;
  switch (role) {
    case 'hypervisor':
      return {
        publish: [beats('hypervisor'), ...stateBucket(STATE_BUCKET.hypervisor)],
        subscribe: ['vsim.*.trap.*', 'vsim.*.allocators', 'vsim.*.vm-moved', inbox, ...serves(SERVICE_NAME.hypervisor)],
        allowResponses: true,
      };
    case 'scheduler':
      return {
        publish: [
          'vsim.*.run.*.*',
          'vsim.*.checkpoint.*.*',
          'vsim.*.allocators',
          'vsim.*.events.*',
          'vsim.*.migrate.*',
          'vsim.*.vm-moved',
          beats('scheduler'),
          `$JS.API.STREAM.INFO.${EVENTS}`,
          ...checkpointBuckets(false),
        ],
        subscribe: [inbox, ...serves(SERVICE_NAME.scheduler)],
        allowResponses: true,
      };
    case 'cpu-node': {
      if (node === undefined || !SUBJECT_TOKEN.test(node))
        throw new RangeError(`cpu-node ${identity}: node id ${JSON.stringify(node)} must be 1-64 characters of [A-Za-z0-9_-]`);
      return {
        publish: [`vsim.*.trap.${node}`, 'vsim.*.migrate-in.*', beats('cpu-node', node)],
        subscribe: [
          `vsim.*.run.${node}.*`,
          `vsim.*.gdb.${node}`,
          `vsim.*.checkpoint.${node}.*`,
          `vsim.*.migrate.${node}`,
          `vsim.*.migrate-in.${node}`,
          inbox,
          ...serves(SERVICE_NAME['cpu-node']),
        ],
        allowResponses: true,
      };
    }
    case 'gateway':
      return {
        publish: [
          ...finds(SERVICE_NAME.hypervisor, SERVICE_NAME.scheduler, SERVICE_NAME['cpu-node'], SERVICE_NAME.gateway),
          beats('gateway'),
          'vsim.*.gdb.*',
          ...GATEWAY_JS,
          ...checkpointBuckets(true),
          ...stateBucket(STATE_BUCKET.gateway),
        ],
        subscribe: ['vsim.*.events.>', 'vsim-heartbeat.>', inbox, ...serves(SERVICE_NAME.gateway)],
        allowResponses: true,
      };
    case 'client':
      return { publish: finds(SERVICE_NAME.gateway), subscribe: [inbox], allowResponses: false };
    case 'supervisor':
      return { publish: ['$SRV.INFO.*'], subscribe: [inbox], allowResponses: false };
  }
}
