// vsim-gateway: the public API. Clients submit simulations over gRPC (vsim.v1.Gateway) or HTTP
// JSON; the gateway finds the hypervisor, scheduler and cpu-nodes on NATS and runs each simulation
// with the Coordinator. See README.md.

import { GatewayService } from '@vsim/proto';
import { STATE_BUCKET, tlsChannelCredentials } from '@vsim/security';
import { runService } from '@vsim/service';
import { DRAIN_LIMIT_MS, PLACEMENT_POLICIES, placementPolicyOf } from '@vsim/control';
import { DirectoryCheckpointStore, JetStreamCheckpointStore, JetStreamStateStore, StateStore, ensureEventStream } from '@vsim/bus';
import { resolve } from 'node:path';
import { version } from '../package.json';
import { DEFAULT_LIMITS } from './admission';
import { Gateway } from './gateway';
import { gatewayServer } from './grpc-api';
import { startHttpServer } from './http-api';

void runService({
  service: 'gateway',
  name: 'vsim-gateway',
  description: 'vsim gateway: submit, run and collect simulations (gRPC and HTTP JSON)',
  version,
  role: 'gateway',
  flags: [
    {
      name: 'checkpoint-dir',
      value: 'DIR',
      description:
        'checkpoint store (a local directory shared by the scheduler, cpu-nodes and gateway of one machine): where the checkpoints of a simulation to resume are read from (Submit resume_sim)',
    },
    { name: 'http-port', value: 'N', description: 'HTTP JSON API port (default 0: any free port, advertised through NATS)', default: '0' },
    { name: 'http-host', value: 'ADDR', description: 'address the HTTP API binds and advertises (default: --grpc-host)', default: (c) => c.grpcHost },
    {
      name: 'max-running',
      value: 'N',
      description: `simulations running at once in the cluster; more wait in a queue (default ${DEFAULT_LIMITS.maxRunning})`,
    },
    { name: 'max-queued', value: 'N', description: `started simulations waiting for room; more are refused (default ${DEFAULT_LIMITS.maxQueued})` },
    {
      name: 'submission-ttl-s',
      value: 'S',
      description: `a submission never started is forgotten after S seconds (default ${DEFAULT_LIMITS.submissionTtlMs / 1000})`,
    },
    {
      name: 'max-held-mib',
      value: 'M',
      description: `image MiB held for simulations not run yet; more submissions are refused (default ${DEFAULT_LIMITS.maxHeldBytes / (1 << 20)})`,
    },
    {
      name: 'placement',
      value: 'POLICY',
      description: `how hosts are placed on cpu-nodes: ${PLACEMENT_POLICIES.join(' or ')} (default least-loaded; docs/architecture.md)`,
    },
    { name: 'node-capacity', value: 'N', description: 'first-fit: pCPUs a cpu-node takes before the next one is used (default: unbounded)' },
  ],
  build: async ({ bus, log, flags, extra, identity, shellCounters, metrics }) => {
    const httpPort = Number(extra['http-port']);
    if (!/^\d+$/.test(extra['http-port']) || httpPort > 65535) throw new Error(`--http-port must be an integer in 0..65535`);
    if (identity && !identity.controlToken)
      throw new Error(`${identity.file}: the gateway's identity needs a controlToken (its control calls to the services present it)`);
    const positive = (flag: string): number | undefined => {
      const v = extra[flag];
      if (v === undefined) return undefined;
      if (!/^[1-9]\d{0,9}$/.test(v)) throw new Error(`--${flag} must be a positive integer, got ${JSON.stringify(v)}`);
      return Number(v);
    };
    const ttl = positive('submission-ttl-s');
    const held = positive('max-held-mib');
    const placement = { policy: placementPolicyOf(extra.placement ?? 'least-loaded'), capacityPcpus: positive('node-capacity') };
    // Events go through a JetStream stream when the server has JetStream (vsim up, compose): no event
    // is lost while NATS restarts, none stored twice (message ids), and a client can reattach.
    const stream = await ensureEventStream(bus.nc).catch((err: unknown) => {
      log.warn({ err }, 'could not set up the event stream: events travel as plain messages');
      return false;
    });
    if (!stream) log.info('NATS has no JetStream: events travel as plain messages (lost if NATS restarts mid-run)');
    // With JetStream, running simulations are recorded in the KV bucket vsim-gateway: this gateway's
    // restart (same --instance) takes them over and its clients reattach by id. It also creates
    // the checkpoint buckets the scheduler writes into.
    let state: StateStore | undefined;
    if (stream) {
      state = await JetStreamStateStore.open(bus.nc, STATE_BUCKET.gateway).catch((err: unknown) => {
        log.warn({ err }, 'no state bucket: simulations here are lost if this process dies');
        return undefined;
      });
      await JetStreamCheckpointStore.open(bus.nc).catch((err: unknown) => log.warn({ err }, 'could not set up the checkpoint buckets'));
    }
    const gw = new Gateway(bus, log, {
      state,
      instance: flags.instance,
      control: identity && { token: identity.controlToken, credentials: tlsChannelCredentials(identity.tls) },
      limits: {
        maxRunning: positive('max-running'),
        maxQueued: positive('max-queued'),
        submissionTtlMs: ttl && ttl * 1000,
        maxHeldBytes: held && held * (1 << 20),
      },
      counters: () => shellCounters,
      checkpointStore: extra['checkpoint-dir'] === undefined ? undefined : new DirectoryCheckpointStore(resolve(extra['checkpoint-dir'])),
      placement,
    });
    metrics.gauge('vsim_simulations', 'Simulations on this gateway, by state (created, queued, running, paused, done, failed)', 'state', () => {
      const s = gw.stats();
      return { created: s.created, queued: s.queued, running: s.running, paused: s.paused, done: s.done, failed: s.failed };
    });
    const http = await startHttpServer(
      gw,
      log,
      httpPort,
      extra['http-host'],
      identity && {
        accept: identity.acceptApi,
        tls: identity.tls,
        onRefused: (r) => {
          shellCounters.refusedCalls++;
          log.warn(r, 'HTTP request refused: not authenticated');
        },
      },
    );
    const taken = await gw.recover();
    if (taken.length > 0) log.warn({ simulations: taken }, 'took over the simulations of the previous process');
    return {
      grpc: [{ definition: GatewayService, implementation: gatewayServer(gw, log), callers: 'api' }],
      metadata: { http: http.address },
      ready: { http: http.address, httpPort: http.port, eventStream: stream },
      // SIGTERM: start nothing new, let the running simulations end and their clients fetch the
      // outcome (the APIs stay up meanwhile), then stop.
      finishWork: async () => {
        await gw.close(DRAIN_LIMIT_MS);
        await gw.deliverResults();
        return true;
      },
      afterStop: () => http.close(),
    };
  },
});
