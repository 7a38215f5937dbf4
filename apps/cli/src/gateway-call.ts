// One session with a cluster's gateway for the commands that act on a running simulation (sched-*,
// vcpu-*, cpupool-*, list): the gateway found through NATS (--nats URL) or given (--gateway
// HOST:PORT), with the credentials gateway-access.ts reads, and unary calls that fail as CallError
// (one line for the user, and the exit status).

import { Metadata, ServiceError } from '@grpc/grpc-js';
import { GatewayClient } from '@vsim/proto';
import { usageError } from './args';
import { EXIT } from './command';
import { ACCESS_OPTIONS, AccessError, GatewayAccess, findGateway, gatewayAccess, gatewayClient } from './gateway-access';

/** Where the gateway is and who calls it: the options every such command takes. */
export const GATEWAY_OPTIONS = {
  nats: { type: 'string', valueName: 'URL', description: 'find the gateway through NATS at URL' },
  gateway: { type: 'string', valueName: 'HOST:PORT', description: "the gateway's gRPC address (instead of --nats)" },
  ...ACCESS_OPTIONS,
} as const;

export interface GatewayWhere {
  nats?: string;
  gateway?: string;
  credentials?: string;
  'token-file'?: string;
}

export type GatewayCall = <Req, Res>(method: keyof GatewayClient, req: Req) => Promise<Res>;

/** A refused or failed call: the line says why; exitCode is the command's status. */
export class CallError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** Connects to the gateway, runs `f`, closes. */
export async function withGateway<T>(command: string, o: GatewayWhere, f: (call: GatewayCall) => Promise<T>): Promise<T> {
  if ((o.nats === undefined) === (o.gateway === undefined)) throw usageError(command, 'give exactly one of --nats URL and --gateway HOST:PORT');
  let address = o.gateway;
  let access: GatewayAccess;
  try {
    access = gatewayAccess(o);
    if (o.nats !== undefined) address = await findGateway(o.nats, access);
  } catch (e) {
    if (e instanceof AccessError) throw new CallError(e.message, e.exitCode);
    throw e;
  }
  const client = gatewayClient(address!, access);
  try {
    return await f(
      <Req, Res>(method: keyof GatewayClient, req: Req) =>
        new Promise<Res>((resolve, reject) => {
          const m = client[method] as unknown as (
            r: Req,
            md: Metadata,
            opts: { deadline: number },
            cb: (e: ServiceError | null, r: Res) => void,
          ) => unknown;
          m.call(client, req, access.metadata(), { deadline: Date.now() + 30_000 }, (e, r) =>
            e ? reject(new CallError(`gateway ${address}: ${e.details || e.message}`, EXIT.failure)) : resolve(r),
          );
        }),
    );
  } finally {
    client.close();
  }
}

/** Runs a command's gateway session; a CallError becomes its `vsim: NAME: ...` line and exit status. */
export async function reportingCallErrors(name: string, stderr: { write(s: string): void }, f: () => Promise<number>): Promise<number> {
  try {
    return await f();
  } catch (e) {
    if (!(e instanceof CallError)) throw e;
    stderr.write(`vsim: ${name}: ${e.message}\n`);
    return e.exitCode;
  }
}
