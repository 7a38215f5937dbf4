// Liveness. Every service publishes a heartbeat every HEARTBEAT_MS on vsim-heartbeat.<role>.<id>
// (id: a cpu-node's node id, else its instance name), saying who it is, where its gRPC API is,
// when it started and whether it is draining (a graceful stop: it finishes its work, takes no new
// one). The gateway watches the services each running simulation uses (LivenessMonitor): one that
// stays silent for LOST_AFTER_MS while NATS is up, or that comes back as another process (it
// restarted: its state is gone), is lost, and the run fails at once naming it — rather than when a
// request to it times out (120 s for a run order). Silence alone is not proof: a service busy in a
// long computation (a cpu-node running a slice) cannot send its beat, so a silent service's gRPC
// port is probed — a dead process's port refuses at once, a busy one's kernel still accepts.

import { createConnection } from 'net';
import { NatsBus } from '@vsim/bus';
import { Logger } from './logger';

export const HEARTBEAT_MS = 500;
/** A watched service silent this long (while the watcher's own NATS connection is up) is lost. */
export const LOST_AFTER_MS = 2000;
const ROOT = 'vsim-heartbeat';

export interface Heartbeat {
  readonly service: string;
  readonly instance: string;
  /** host:port of its gRPC API: how the gateway knows it (GrpcEndpoints). */
  readonly grpc: string;
  readonly node?: string;
  /** When the process started (ms since the epoch): a different value is another process. */
  readonly started: number;
  readonly draining: boolean;
  /** Its state outlives it: a process restarted under the same instance name takes its work over. */
  readonly recoverable?: boolean;
}

/** The subject a service heartbeats on (the permission table grants each role its own). */
export function heartbeatSubject(role: string, id: string): string {
  return `${ROOT}.${role}.${id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

export const ALL_HEARTBEATS = `${ROOT}.>`;

/** Publishes `beat()` every HEARTBEAT_MS while NATS is up; returns a function that stops it. */
export function startHeartbeat(bus: NatsBus, subject: string, beat: () => Heartbeat): () => void {
  const send = () => {
    if (!bus.isConnected()) return; // a beat buffered during an outage would arrive stale
    try {
      bus.publish(subject, new TextEncoder().encode(JSON.stringify(beat())));
    } catch {
      // closing
    }
  };
  send();
  const timer = setInterval(send, HEARTBEAT_MS);
  timer.unref();
  return () => clearInterval(timer);
}

interface Seen {
  readonly beat: Heartbeat;
  readonly at: number;
}

export interface WatchedService {
  /** How the error names it, e.g. "cpu-node n2". */
  readonly label: string;
  readonly grpc: string;
  /**
   * A recoverable service (Heartbeat.recoverable): any process heartbeating as this service and
   * instance stands for it — a restart at another address is its replacement, not a loss — and it
   * is lost only after `withinMs` without one.
   */
  readonly replaceable?: { readonly service: string; readonly instance: string; readonly withinMs: number };
}

/** What the watcher learnt about a lost service. */
export interface Lost {
  readonly label: string;
  readonly grpc: string;
  /** One line: why it counts as lost. */
  readonly reason: string;
  /** How long after its last heartbeat (or the watch's start) it was declared lost. */
  readonly silentMs: number;
}

/** The last heartbeat of every service, and watches over the ones a run uses. */
export class LivenessMonitor {
  private readonly seen = new Map<string, Seen>();
  /** The last heartbeat by service and instance (`service/instance`), whichever process sent it. */
  private readonly byInstance = new Map<string, Seen>();
  private upSince = Date.now();
  private sub: { unsubscribe(): void } | undefined;
  private offConnection: (() => void) | undefined;

  constructor(
    private readonly bus: NatsBus,
    private readonly log?: Logger,
    readonly lostAfterMs = LOST_AFTER_MS,
  ) {}

  start(): void {
    this.sub = this.bus.subscribe(ALL_HEARTBEATS, (data) => {
      let beat: Heartbeat;
      try {
        beat = JSON.parse(new TextDecoder().decode(data)) as Heartbeat;
      } catch {
        return;
      }
      if (typeof beat.grpc === 'string') this.seen.set(beat.grpc, { beat, at: Date.now() });
      if (typeof beat.service === 'string' && typeof beat.instance === 'string')
        this.byInstance.set(`${beat.service}/${beat.instance}`, { beat, at: Date.now() });
    });
    // Nobody's heartbeats arrive while our own connection is down: count silence from its return.
    this.offConnection = this.bus.onConnection((e) => {
      if (e.type === 'reconnect') this.upSince = Date.now();
    });
  }

  stop(): void {
    this.sub?.unsubscribe();
    this.offConnection?.();
  }

  /** The last heartbeat from the service at `grpc`, if any. */
  last(grpc: string): Heartbeat | undefined {
    return this.seen.get(grpc)?.beat;
  }

  /** The last heartbeat of any process of `service` under `instance` (a restarted one included). */
  lastOf(service: string, instance: string): Heartbeat | undefined {
    return this.byInstance.get(`${service}/${instance}`)?.beat;
  }

  /**
   * Watches `services` (more may be added) from now: `onLost` is called once, for the first that
   * is lost. Returns the watch, to add services to and to stop.
   */
  watch(services: readonly WatchedService[], onLost: (lost: Lost) => void): { add(s: WatchedService): void; stop(): void } {
    const since = Date.now();
    const watched = new Map<
      string,
      { label: string; started?: number; aliveAt?: number; probing?: boolean; deadAfterMs?: number; replaceable?: WatchedService['replaceable'] }
    >();
    const add = (s: WatchedService) => {
      if (!watched.has(s.grpc)) watched.set(s.grpc, { label: s.label, started: this.seen.get(s.grpc)?.beat.started, replaceable: s.replaceable });
    };
    services.forEach(add);
    const check = () => {
      if (!this.bus.isConnected()) return;
      const now = Date.now();
      for (const [grpc, w] of watched) {
        const s = this.seen.get(grpc);
        let reason: string | undefined;
        if (w.replaceable) {
          const r = w.replaceable;
          const last = this.byInstance.get(`${r.service}/${r.instance}`);
          const silent = now - Math.max(last?.at ?? since, this.upSince);
          if (silent <= r.withinMs) continue;
          reason = `${w.label} is lost: no heartbeat from any process of ${r.service} ${r.instance} for ${(silent / 1000).toFixed(1)} s (not replaced)`;
          clearInterval(timer);
          this.log?.warn({ service: w.label, grpc, silentMs: silent }, 'service lost');
          onLost({ label: w.label, grpc, reason, silentMs: silent });
          return;
        }
        const silentMs = now - Math.max(s?.at ?? since, this.upSince);
        if (s && w.started !== undefined && s.beat.started !== w.started)
          reason = `${w.label} restarted (a new process at ${grpc}: its state is gone)`;
        else if (silentMs > this.lostAfterMs && now - (w.aliveAt ?? 0) > this.lostAfterMs) {
          if (!w.probing) {
            w.probing = true;
            const from = Math.max(s?.at ?? since, this.upSince);
            void accepts(grpc).then((up) => {
              w.probing = false;
              if (up) w.aliveAt = Date.now();
              else w.deadAfterMs = Date.now() - from;
            });
          }
          if (w.deadAfterMs !== undefined)
            reason = `${w.label} is lost: no heartbeat from ${grpc} for ${(w.deadAfterMs / 1000).toFixed(1)} s and its port refuses connections`;
        }
        w.started ??= s?.beat.started;
        if (reason === undefined) continue;
        clearInterval(timer);
        this.log?.warn({ service: w.label, grpc, silentMs }, 'service lost');
        onLost({ label: w.label, grpc, reason, silentMs });
        return;
      }
    };
    const timer = setInterval(check, 100);
    timer.unref();
    return { add, stop: () => clearInterval(timer) };
  }
}

/** Whether something accepts a TCP connection at `address` (host:port) within 1 s. */
function accepts(address: string): Promise<boolean> {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(i + 1));
  return new Promise((resolve) => {
    const s = createConnection({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}
