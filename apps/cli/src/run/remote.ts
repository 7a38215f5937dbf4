// `vsim run --nats URL`: the run on a cluster. Finds the gateway through NATS (vsim-gateway),
// submits the scenario text and the images it names (read here, keyed exactly as the scenario
// writes their paths), starts it, polls Status for progress and fetches Results.

import { readFileSync } from 'fs';
import { dirname, resolve } from 'path';
import { Metadata, ServiceError, status as grpcStatus } from '@grpc/grpc-js';
import { GatewayClient } from '@vsim/proto';
import { SimResult, simResultOf } from '@vsim/control';
import { parse as parseYaml } from 'yaml';
import { AccessError, EX_UNAVAILABLE, GatewayAccess, findGateway, gatewayAccess, gatewayClient } from '../gateway-access';

/** A failure of the remote run: one line per problem for the user, and the exit status. */
export class RemoteError extends Error {
  override readonly name = 'RemoteError';
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export { EX_UNAVAILABLE };
/** sysexits EX_TEMPFAIL: the cluster has no room now; try again later. */
export const EX_TEMPFAIL = 75;
const USAGE = 2;

/** The image paths a scenario names, as written (vms[].image). Unparseable text: none (the gateway says why). */
export function imagePaths(text: string): string[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch {
    return [];
  }
  const vms = (doc as { vms?: unknown })?.vms;
  if (!Array.isArray(vms)) return [];
  const out = new Set<string>();
  for (const vm of vms) {
    const image = (vm as { image?: unknown })?.image;
    if (typeof image === 'string' && image !== '') out.add(image);
  }
  return [...out];
}

function call<Req, Res>(
  access: GatewayAccess,
  f: (req: Req, md: Metadata, opts: { deadline: number }, cb: (e: ServiceError | null, r: Res) => void) => unknown,
  req: Req,
  timeoutMs = 30_000,
): Promise<Res> {
  return new Promise((res, rej) => f(req, access.metadata(), { deadline: Date.now() + timeoutMs }, (e, r) => (e ? rej(e) : res(r))));
}

export interface RemoteRunOptions {
  readonly natsUrl: string;
  readonly file: string;
  /** --credentials FILE / --token-file FILE (gateway-access.ts). */
  readonly credentials?: string;
  readonly tokenFile?: string;
  readonly seed?: number;
  /** The scheduler service instance to run on (default: vsim's own). */
  readonly scheduler?: string;
  /** The simulation id, as soon as the gateway gave it (for the sched-* commands). */
  readonly onSubmitted?: (sim: string) => void;
  /** Each host's virtual time, at every poll. */
  readonly onProgress?: (host: string, ns: number, done: boolean) => void;
  readonly pollMs?: number;
  /**
   * Reattach to simulation `attach` (e.g. after the client that submitted it died) instead of
   * submitting `file`: follow it to its end and fetch its results, as the submitter would have.
   */
  readonly attach?: string;
}

export async function runRemote(opts: RemoteRunOptions): Promise<SimResult & { wallSeconds: number }> {
  let text = '';
  try {
    if (opts.attach === undefined) text = readFileSync(opts.file, 'utf8');
  } catch (e) {
    throw new RemoteError(`${opts.file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (e as Error).message}`, USAGE);
  }
  const images: Record<string, Buffer> = {};
  const base = dirname(resolve(opts.file));
  for (const p of opts.attach === undefined ? imagePaths(text) : []) {
    try {
      images[p] = readFileSync(resolve(base, p));
    } catch {
      // not sent: the gateway names the VM whose image is missing
    }
  }
  let access: GatewayAccess;
  let address: string;
  try {
    access = gatewayAccess({ credentials: opts.credentials, 'token-file': opts.tokenFile });
    address = await findGateway(opts.natsUrl, access);
  } catch (e) {
    if (e instanceof AccessError) throw new RemoteError(e.message, e.exitCode);
    throw e;
  }
  let gateway: GatewayClient | undefined;
  try {
    gateway = gatewayClient(address, access);
    const gw = gateway;
    let sim = opts.attach ?? '';
    if (opts.attach === undefined) sim = await submitAndStart(access, gw, text, images, address, opts);
    for (;;) {
      const s = await call(access, gw.status.bind(gw), { sim }).catch((e: ServiceError) => {
        throw new RemoteError(`simulation ${sim}: ${e.details ?? e.message}`, e.code === grpcStatus.NOT_FOUND ? USAGE : EX_UNAVAILABLE);
      });
      for (const [h, ns] of Object.entries(s.hostNs)) opts.onProgress?.(h, Number(ns), s.hostsDone.includes(h));
      if (s.state === 'failed') throw new RemoteError(`simulation ${sim} failed on the cluster: ${s.error}`, 70);
      if (s.state === 'done') break;
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 50));
    }
    return simResultOf(await call(access, gw.results.bind(gw), { sim }));
  } finally {
    gateway?.close();
  }
}

/** Submits the scenario and starts it; resolves with the simulation id. */
async function submitAndStart(
  access: GatewayAccess,
  gw: GatewayClient,
  text: string,
  images: Record<string, Buffer>,
  address: string,
  opts: RemoteRunOptions,
): Promise<string> {
  let sim: string;
  try {
    ({ sim } = await call(access, gw.submit.bind(gw), { scenarioYaml: text, images, seed: opts.seed, scheduler: opts.scheduler }));
  } catch (e) {
    const err = e as ServiceError;
    if (err.code === grpcStatus.INVALID_ARGUMENT) {
      // One line per issue, as the embedded run prints them (gRPC details join lines with " | ").
      const [head, ...issues] = (err.details ?? '').split(' | ');
      const lines = head === 'invalid scenario:' && issues.length > 0 ? issues : [`rejected by the gateway: ${err.details}`];
      throw new RemoteError(lines.map((l) => `${opts.file}: ${l}`).join('\n'), USAGE);
    }
    throw new RemoteError(`gateway ${address}: ${err.details ?? err.message}`, EX_UNAVAILABLE);
  }
  opts.onSubmitted?.(sim);
  try {
    await call(access, gw.start.bind(gw), { sim });
  } catch (e) {
    const err = e as ServiceError;
    // No room on the cluster (RESOURCE_EXHAUSTED): the gateway's message names the limit.
    const code = err.code === grpcStatus.RESOURCE_EXHAUSTED ? EX_TEMPFAIL : err.code === grpcStatus.UNAVAILABLE ? EX_UNAVAILABLE : 70;
    throw new RemoteError(`simulation ${sim} not started: ${err.details ?? err.message}`, code);
  }
  return sim;
}
