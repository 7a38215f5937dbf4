// @vsim/proto: the contracts of vsim, generated from ../proto by `npm run proto` (buf + ts-proto).
// Each generated file is re-exported here whole; test/index-exports.test.ts fails when one is
// missing. After adding proto/vsim/v1/foo.proto and running `npm run proto`, add:
//   export * from './gen/vsim/v1/foo';

import type { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';

// vsim.v1
export * from './gen/vsim/v1/common';
export * from './gen/vsim/v1/runtime';
export * from './gen/vsim/v1/control';
export * from './gen/vsim/v1/metrics';
export * from './gen/vsim/v1/listing';
export * from './gen/vsim/v1/snapshot';
export * from './gen/vsim/v1/checkpoint';
export * from './gen/vsim/v1/migration';

// grpc.health.v1: standard gRPC health checking, which every vsim gRPC service exposes.
export * from './gen/grpc/health/v1/health';
export { HealthStatus } from './health';

// Hand-written contracts every service shares: the subjects of the data plane (which message each
// carries) and the canonical event log (the total order and the hash of architecture §2).
export { checkSimId, nodeOfTrapSubject, subjects } from './subjects';
export { EventLog, EventStamper, compareEvents, eventJson, eventLine } from './event-log';
// The runtime's event (kind, route and path as @vsim/vocabulary strings) shadows the generated
// message of the same name, which stays available as EventMessage for the wire (./event).
export { Event, EventDecodeError, trapRouteEnum, trapRouteName } from './event';
export { Event as EventMessage } from './gen/vsim/v1/runtime';

/** What every generated message codec (e.g. `VirtualTime`) provides; for code generic over messages. */
export interface MessageType<T> {
  encode(message: T, writer?: BinaryWriter): BinaryWriter;
  decode(input: BinaryReader | Uint8Array, length?: number): T;
}

/** `type.encode(message).finish()`: the bytes to put on the bus. */
export function encode<T>(type: MessageType<T>, message: T): Uint8Array {
  return type.encode(message).finish();
}
