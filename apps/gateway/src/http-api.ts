// The gateway's HTTP JSON API (node's http module, no framework), the same operations as gRPC:
//   POST /v1/simulations              {scenario: SimSpec object | scenario text, images?: {path: base64}, seed?, scheduler?}
//                                     -> 201 {sim}
//   POST /v1/simulations/:id/start    -> 202 {sim, state}
//   POST /v1/simulations/:id/pause    -> 200 {sim, state}   (virtual time stands still)
//   POST /v1/simulations/:id/resume   -> 200 {sim, state}
//   GET  /v1/simulations              -> 200 {simulations: [{sim, name, state, virtualNs, durationNs, hosts, vms,
//                                        submittedAtMs, error}]}   (the caller's, oldest first; `vsim list`, the dashboard)
//   GET  /v1/simulations/:id          -> 200 {sim, state, error, hostNs, timing}
//   GET  /v1/simulations/:id/domains  -> 200 {domains: [{vm, id, host, memoryBytes, pool, scheduler, paused, shutdown,
//                                        vcpus: [{vcpu, pcpu, online, running, blocked, cpuNs, affinity}]}],
//                                        pools: [{host, pool, scheduler, pcpus}]}   (`vsim list --sim`, vcpu-list, cpupool-list)
//   GET  /v1/simulations/:id/live     -> 200 text/event-stream: a `frame` every 500 ms (dashboard/live-frames.ts), then `end`
//   GET  /dashboard                   -> the live dashboard page (dashboard/page.ts); /dashboard?token=T sets the
//                                        token cookie and redirects to /dashboard
//   GET  /v1/simulations/:id/results  -> 200 SimResult JSON (409 until done)
//   GET  /v1/simulations/:id/events   -> 200 application/x-ndjson: one event per line, every field (docs/events.md),
//                                        streamed until the simulation ends
//   POST /v1/simulations/:id/sched/params  {vm?, params: {weight: 512, ...}, policy?} -> 200 {sim}
//                                     (no vm: scheduler-wide, e.g. {tslice, ratelimit}; values in ns)
//   GET  /v1/simulations/:id/sched/params  -> 200 {hosts: [{host, policy, params, nowNs}], vms: [{vm, host, params}]}
//   POST /v1/simulations/:id/sched/swap    {policy, params?, service?} -> 200 {sim}   (hot swap; with
//                                     service: hand the simulation to that other scheduler service)
//   POST /v1/simulations/:id/gdb      {session, op: open|io|close, vm, vcpu?, data?, waitMs?, node?} -> 200 {data?, ended?,
//                                        error?, node}   (`vsim gdb`: relayed to the VM's cpu-node, gdb-relay.ts)
//   POST /v1/simulations/:id/migrate       {vm, host, bandwidth?, latencyNs?, stopPages?, maxRounds?} -> 202 {sim, vm, host}
//                                     (live migration by pre-copy, from the virtual time the VM's host has
//                                     reached; the link is the scenario's network unless overridden)
//   GET  /v1/gateway                  -> 200 the gateway's figures: simulations by state, held image
//                                        bytes, limits, expired/refused counts, refusedCalls
//   GET  /healthz                     -> 200 {status: "ok"}
// Errors are {error} with 400 (bad input), 401 (no or wrong bearer token), 404, 409 (wrong state),
// 413, 429 (no room: too many simulations queued, or too many image bytes held), 503 (shutting
// down) or 500. A started simulation is `queued` until the cluster has room (admission.ts). With credentials every /v1 request needs `Authorization: Bearer
// <token>` of an API principal, and reaches only that principal's simulations; with TLS files it
// is served over HTTPS.

import { readFileSync } from 'fs';
import { IncomingMessage, Server, ServerResponse, createServer } from 'http';
import { createServer as createHttpsServer } from 'https';
import { AddressInfo } from 'net';
import { Event } from '@vsim/proto';
import {
  ControlStatus,
  isControlError,
  migrationOverridesOfPlain,
  schedulerMessage,
  schedulerSpecOf,
  schedulerUpdateMessage,
  vmSchedMessage,
  vmSchedParamsOf,
} from '@vsim/control';
import { TlsFiles, TokenSet, bearerToken } from '@vsim/security';
import { eventJson } from '@vsim/proto';
import { Logger } from '@vsim/service';
import { Gateway } from './gateway';
import { listDomains, simulationSummary } from './listing';
import { relayGdb } from './gdb-relay';
import { streamLive } from './dashboard/live-route';
import { cookieToken, dashboardPage, sameOrigin, tokenCookie } from './dashboard/page';

/** Largest request body accepted (scenario + base64 images). */
export const MAX_BODY_BYTES = 64 << 20;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A body converted to its typed message: a value of the wrong shape is a 400 naming the field. */
function edge<T>(convert: () => T): T {
  try {
    return convert();
  } catch (err) {
    if (err instanceof RangeError) throw new HttpError(400, err.message);
    throw err;
  }
}

export interface HttpHandle {
  readonly server: Server;
  readonly port: number;
  readonly address: string;
  close(): Promise<void>;
}

export interface HttpSecurity {
  /** The API principals' tokens. */
  readonly accept: TokenSet;
  /** Serve HTTPS with these files. */
  readonly tls?: TlsFiles;
  /** A request without an accepted token (refused with 401 before anything else). */
  readonly onRefused: (r: { method: string; url: string; reason: 'no token' | 'wrong token'; peer: string }) => void;
}

export async function startHttpServer(gw: Gateway, log: Logger, port = 0, host = '127.0.0.1', security?: HttpSecurity): Promise<HttpHandle> {
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    let caller = '';
    if ((req.url ?? '').split('?')[0].replace(/\/+$/, '') === '/dashboard') return serveDashboard(req, res, security);
    if (security && (req.url ?? '').startsWith('/v1')) {
      // The dashboard's browser sends the token as a cookie (EventSource cannot set headers).
      const bearer = bearerToken(req.headers.authorization);
      const token = bearer ?? cookieToken(req.headers.cookie);
      if (bearer === undefined && token !== undefined && !['GET', 'HEAD'].includes(req.method ?? '') && !sameOrigin(req)) {
        // Besides SameSite=Strict: a change made with the cookie must come from the gateway's own page.
        req.resume();
        return send(res, 403, { error: 'a change authenticated by the dashboard cookie must come from the dashboard (Origin)' });
      }
      const who = security.accept.verify(token);
      if (who === undefined) {
        const reason = token === undefined ? 'no token' : 'wrong token';
        security.onRefused({ method: req.method ?? '', url: req.url ?? '', reason, peer: req.socket.remoteAddress ?? '' });
        res.setHeader('www-authenticate', 'Bearer');
        req.resume(); // discard the body
        return send(res, 401, {
          error: reason === 'no token' ? 'a bearer token is required (Authorization: Bearer <token>)' : 'the bearer token is not accepted',
        });
      }
      caller = who;
    }
    handle(gw, req, res, caller).catch((err: unknown) => {
      const code = err instanceof HttpError ? err.status : isControlError(err) ? httpStatusOf(err.code) : 500;
      if (code >= 500) log.error({ err, method: req.method, url: req.url }, 'HTTP request failed');
      if (!res.headersSent) send(res, code, { error: (err as Error).message });
      else res.end();
    });
  };
  const tls = security?.tls;
  if (tls && (!tls.cert || !tls.key)) throw new Error('serving HTTPS needs tls.cert and tls.key');
  const server: Server = tls ? createHttpsServer({ cert: readFileSync(tls.cert!), key: readFileSync(tls.key!) }, onRequest) : createServer(onRequest);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    server,
    port: bound,
    address: `${host}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

/** GET /dashboard: the page; with ?token=T (checked), the token cookie and a redirect that drops it from the URL. */
function serveDashboard(req: IncomingMessage, res: ServerResponse, security: HttpSecurity | undefined): void {
  req.resume();
  if (req.method !== 'GET') return send(res, 405, { error: 'GET /dashboard' });
  const token = new URL(req.url ?? '/', 'http://gateway').searchParams.get('token');
  if (token !== null && security) {
    if (security.accept.verify(token) === undefined) {
      security.onRefused({ method: 'GET', url: '/dashboard', reason: 'wrong token', peer: req.socket.remoteAddress ?? '' });
      return send(res, 401, { error: 'the token is not accepted' });
    }
    res.writeHead(303, { location: '/dashboard', 'set-cookie': tokenCookie(token, security.tls !== undefined) }).end();
    return;
  }
  const html = dashboardPage();
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html), 'cache-control': 'no-store' });
  res.end(html);
}

function httpStatusOf(code: number): number {
  switch (code) {
    case ControlStatus.INVALID_ARGUMENT:
      return 400;
    case ControlStatus.NOT_FOUND:
      return 404;
    case ControlStatus.FAILED_PRECONDITION:
    case ControlStatus.ALREADY_EXISTS:
      return 409;
    case ControlStatus.UNAVAILABLE:
      return 503;
    case ControlStatus.RESOURCE_EXHAUSTED:
      return 429;
    case ControlStatus.UNIMPLEMENTED:
      return 501;
    default:
      return 500;
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `request body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new HttpError(400, `body is not JSON: ${(err as Error).message}`);
  }
}

async function readObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const body = await readJson(req);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'body must be a JSON object');
  return body as Record<string, unknown>;
}

async function handle(gw: Gateway, req: IncomingMessage, res: ServerResponse, caller: string): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://gateway');
  const path = url.pathname.replace(/\/+$/, '');
  const m =
    /^\/v1\/simulations(?:\/([A-Za-z0-9_-]+)(?:\/(start|pause|resume|results|events|domains|live|gdb|sched\/params|sched\/swap|migrate))?)?$/.exec(
      path,
    );
  if (path === '/healthz' && req.method === 'GET') return send(res, 200, { status: 'ok' });
  if (path === '/v1/gateway' && req.method === 'GET') return send(res, 200, gw.stats());
  if (!m) throw new HttpError(404, `no route for ${req.method} ${url.pathname}`);
  const [, id, action] = m;
  if (id !== undefined) gw.authorize(id, caller);
  const route = `${req.method} ${id === undefined ? '' : ':id'}${action ? `/${action}` : ''}`;
  switch (route) {
    case 'POST ': {
      const body = await readJson(req);
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'body must be a JSON object');
      const { scenario, images = {}, seed, scheduler = '' } = body as { scenario?: unknown; images?: unknown; seed?: unknown; scheduler?: unknown };
      if (scenario === undefined) throw new HttpError(400, 'body.scenario is required');
      const text = typeof scenario === 'string' ? scenario : JSON.stringify(scenario);
      if (typeof images !== 'object' || images === null || Array.isArray(images))
        throw new HttpError(400, 'body.images must be an object of base64 strings');
      const bytes: Record<string, Uint8Array> = {};
      for (const [p, b64] of Object.entries(images)) {
        if (typeof b64 !== 'string' || !/^[A-Za-z0-9+/=\s]*$/.test(b64)) throw new HttpError(400, `body.images[${JSON.stringify(p)}] must be base64`);
        bytes[p] = Buffer.from(b64, 'base64');
      }
      if (seed !== undefined && !(typeof seed === 'number' && Number.isSafeInteger(seed) && seed >= 0))
        throw new HttpError(400, 'body.seed must be a non-negative integer');
      if (typeof scheduler !== 'string') throw new HttpError(400, 'body.scheduler must be a scheduler service instance name');
      return send(res, 201, { sim: gw.submit(text, bytes, seed as number | undefined, scheduler, caller) });
    }
    case 'GET ':
      return send(res, 200, { simulations: gw.simulationsOf(caller).map(simulationSummary) });
    case 'GET :id/domains':
      return send(res, 200, await listDomains(gw.get(id)));
    case 'GET :id/live':
      return streamLive(gw, id, res);
    case 'POST :id/start':
      await gw.start(id);
      return send(res, 202, { sim: id, state: gw.status(id).state });
    case 'POST :id/pause':
      await gw.pause(id);
      return send(res, 200, { sim: id, state: gw.status(id).state });
    case 'POST :id/resume':
      await gw.resume(id);
      return send(res, 200, { sim: id, state: gw.status(id).state });
    case 'POST :id/gdb':
      return send(res, 200, await relayGdb(gw.dataPlane, gw.get(id), await readObject(req)));
    case 'POST :id/sched/params': {
      const body = await readObject(req);
      const { vm = '', params, policy = '' } = body as { vm?: unknown; params?: unknown; policy?: unknown };
      if (typeof vm !== 'string') throw new HttpError(400, 'body.vm must be a string');
      if (typeof policy !== 'string') throw new HttpError(400, 'body.policy must be a string');
      if (typeof params !== 'object' || params === null || Array.isArray(params)) throw new HttpError(400, 'body.params must be an object');
      const typed = edge(() =>
        vm === ''
          ? { scheduler: schedulerUpdateMessage(params as Record<string, unknown>, policy, 'body.params'), vmParams: undefined }
          : { vmParams: vmSchedMessage(params as Record<string, unknown>), scheduler: undefined },
      );
      await gw.setSchedParams({ sim: id, vm, policy, ...typed });
      return send(res, 200, { sim: id });
    }
    case 'GET :id/sched/params': {
      const p = await gw.getSchedParams(id);
      return send(res, 200, {
        hosts: p.hosts.map((h) => ({
          host: h.host,
          policy: h.policy,
          params: h.scheduler ? schedulerSpecOf(h.scheduler).params : {},
          nowNs: h.nowNs,
        })),
        vms: p.vms.map((v) => ({ vm: v.vm, host: v.host, params: vmSchedParamsOf(v.params) })),
      });
    }
    case 'POST :id/sched/swap': {
      const body = await readObject(req);
      const { policy, params = {}, service = '' } = body as { policy?: unknown; params?: unknown; service?: unknown };
      if (typeof service !== 'string') throw new HttpError(400, 'body.service must be the instance name of a registered scheduler');
      if (typeof policy !== 'string' || policy === '') throw new HttpError(400, 'body.policy must be a policy name');
      if (typeof params !== 'object' || params === null || Array.isArray(params)) throw new HttpError(400, 'body.params must be an object');
      const scheduler = edge(() => schedulerMessage({ policy, params: params as Record<string, unknown> }, 'body'));
      await gw.swapScheduler({ sim: id, scheduler, service });
      return send(res, 200, { sim: id });
    }
    case 'POST :id/migrate': {
      const body = await readObject(req);
      const { vm, host, ...params } = body as { vm?: unknown; host?: unknown };
      if (typeof vm !== 'string' || vm === '') throw new HttpError(400, 'body.vm must be the id of a VM');
      if (typeof host !== 'string' || host === '') throw new HttpError(400, 'body.host must be the id of the destination host');
      await gw.migrateVm({ sim: id, vm, host, params: edge(() => migrationOverridesOfPlain(params, 'body')) });
      return send(res, 202, { sim: id, vm, host });
    }
    case 'GET :id': {
      const sim = gw.get(id);
      return send(res, 200, { ...gw.status(id), timing: sim.timing, assignment: sim.assignment ?? null });
    }
    case 'GET :id/results':
      return send(res, 200, gw.resultDocument(id));
    case 'GET :id/events': {
      gw.get(id); // 404 before the stream starts
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      const stop = gw.watch(id, {
        events: (events) => res.write(events.map((e: Event) => eventJson(e)).join('\n') + '\n'),
        end: (state, error) => res.end(state === 'failed' ? JSON.stringify({ error }) + '\n' : undefined),
      });
      res.on('close', () => stop());
      return;
    }
    default:
      throw new HttpError(id !== undefined && ['GET', 'POST'].includes(req.method ?? '') ? 405 : 404, `no route for ${req.method} ${url.pathname}`);
  }
}
