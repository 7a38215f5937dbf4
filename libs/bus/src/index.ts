// @vsim/bus: the messaging interface of vsim and its two implementations (architecture §8).
export type {
  Bus,
  BusErrorCode,
  BusObserver,
  BusOptions,
  MsgHandler,
  MsgMeta,
  RequestOptions,
  ServeHandler,
  SubscribeOptions,
  Subscription,
} from './bus';
export { BusError, DEFAULT_SERVICE_ERROR_CODE, SERVICE_ERROR_CODE_HEADER, SERVICE_ERROR_HEADER, isBusError, subjectMatches } from './bus';
export { InProcessBroker, InProcessBus } from './in-process';
export { NatsBus, RECONNECT_OPTIONS } from './nats';
export type { ConnectionEvent, NatsBusConnectOptions } from './nats';
export { EVENT_STREAM, ensureEventStream } from './stream';
// Test support: a throwaway nats-server (never used by production code).
export { NATS_SERVER_MISSING, findNatsServer, startNatsServer } from './nats-server';
export type { NatsServer, NatsServerOptions } from './nats-server';
export { DirectoryCheckpointStore, MemoryCheckpointStore, RevisionMismatchError, checkCheckpointKey } from './checkpoint-store';
export type { CheckpointStore, MetaRecord } from './checkpoint-store';
export { CHECKPOINT_BUCKET, JetStreamCheckpointStore, checkpointKeyToKv, kvKeyToCheckpoint } from './jetstream-checkpoint-store';
export type { JetStreamCheckpointStoreOptions } from './jetstream-checkpoint-store';
export { JetStreamStateStore, MemoryStateStore } from './state-store';
export type { StateStore } from './state-store';
