// The Prometheus metrics of one vsim service process (docs/metrics.md lists them): prom-client
// metrics on a registry of the process's own, fed by the observers the bus and the scheduler call
// (BusObserver, SchedulerObserver) and by gauges the service reads when scraped. Names follow
// Prometheus conventions: the `vsim_` prefix, base units (`_seconds`, `_bytes`), `_total` counters.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BusObserver } from '@vsim/bus';
import type { Event } from '@vsim/proto';
import type { SchedulerObserver } from '@vsim/scheduler';
import { routeOf } from './subjects';

/** Latency buckets, in seconds: a loopback request/reply is ~160 µs, a busy run order up to seconds. */
export const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface ServiceIdentity {
  /** Short service name: gateway, scheduler, hypervisor, cpu-node. */
  readonly service: string;
  readonly instance: string;
  readonly version: string;
}

export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly requestSeconds: Histogram<'subject_kind' | 'outcome'>;
  private readonly handlerSeconds: Histogram<'subject_kind' | 'outcome'>;
  private readonly published: Counter<'subject_kind'>;
  private readonly runOrdersSent: Counter<'node' | 'host' | 'outcome'>;
  private readonly runOrdersHandled: Counter<'host' | 'outcome'>;
  private readonly trapRequestsSent: Counter<'outcome'>;
  private readonly trapRequestsHandled: Counter<'node' | 'outcome'>;
  private schedulerCounters?: {
    readonly virtualSeconds: Counter<'host'>;
    readonly events: Counter<'kind'>;
    readonly traps: Counter<'kind' | 'route' | 'path'>;
  };

  constructor(id: ServiceIdentity) {
    const registers = [this.registry];
    // The process's own figures (process_cpu_seconds_total, process_start_time_seconds — whose
    // changes count restarts —, resident memory, event-loop lag) under their standard names.
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'vsim_service_info',
      help: 'Always 1: which vsim service, instance and version this process is',
      labelNames: ['service', 'instance', 'version'],
      registers,
    })
      .labels(id.service, id.instance, id.version)
      .set(1);
    this.requestSeconds = new Histogram({
      name: 'vsim_nats_request_duration_seconds',
      help: 'NATS requests this process sent, from send to reply (or failure), by subject kind (run, trap, other) and outcome',
      labelNames: ['subject_kind', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.handlerSeconds = new Histogram({
      name: 'vsim_nats_handler_duration_seconds',
      help: 'NATS requests this process served, from receipt to reply, by subject kind and outcome',
      labelNames: ['subject_kind', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.published = new Counter({
      name: 'vsim_nats_messages_published_total',
      help: 'Messages this process published on NATS, by subject kind',
      labelNames: ['subject_kind'],
      registers,
    });
    this.runOrdersSent = new Counter({
      name: 'vsim_run_orders_sent_total',
      help: 'Run orders sent to cpu-nodes (one host-loop iteration each), by route (node, host) and outcome',
      labelNames: ['node', 'host', 'outcome'],
      registers,
    });
    this.runOrdersHandled = new Counter({
      name: 'vsim_run_orders_handled_total',
      help: 'Run orders this cpu-node ran, by host and outcome',
      labelNames: ['host', 'outcome'],
      registers,
    });
    this.trapRequestsSent = new Counter({
      name: 'vsim_trap_requests_sent_total',
      help: 'Traps this cpu-node sent to the hypervisor service (the remote path), by outcome',
      labelNames: ['outcome'],
      registers,
    });
    this.trapRequestsHandled = new Counter({
      name: 'vsim_trap_requests_handled_total',
      help: 'Trap requests this hypervisor answered, by the cpu-node that sent them and outcome',
      labelNames: ['node', 'outcome'],
      registers,
    });
  }

  /** Feeds the NATS metrics; give it to NatsBus.connect (`observer`). */
  readonly bus: BusObserver = {
    requested: (subject, seconds, outcome) => {
      const r = routeOf(subject);
      this.requestSeconds.labels(r.kind, outcome).observe(seconds);
      if (r.kind === 'run') this.runOrdersSent.labels(r.node!, r.host!, outcome).inc();
      else if (r.kind === 'trap') this.trapRequestsSent.labels(outcome).inc();
    },
    served: (subject, seconds, outcome) => {
      const r = routeOf(subject);
      this.handlerSeconds.labels(r.kind, outcome).observe(seconds);
      if (r.kind === 'run') this.runOrdersHandled.labels(r.host!, outcome).inc();
      else if (r.kind === 'trap') this.trapRequestsHandled.labels(r.node!, outcome).inc();
    },
    published: (subject) => this.published.labels(routeOf(subject).kind).inc(),
  };

  /** Feeds the scheduler's metrics (virtual time, events, traps); give it to the scheduler's control. */
  scheduler(): SchedulerObserver {
    const registers = [this.registry];
    const c = (this.schedulerCounters ??= {
      virtualSeconds: new Counter({
        name: 'vsim_virtual_time_seconds_total',
        help: 'Virtual time the host loops advanced, by host; its rate is virtual seconds per wall-clock second',
        labelNames: ['host'],
        registers,
      }),
      events: new Counter({
        name: 'vsim_events_published_total',
        help: 'Events of the event log published, by kind (docs/events.md)',
        labelNames: ['kind'],
        registers,
      }),
      traps: new Counter({
        name: 'vsim_traps_total',
        help: 'Traps and hypercalls in the published events, by kind (trap, hypercall), route (interpreter, allocator) and path (local, remote)',
        labelNames: ['kind', 'route', 'path'],
        registers,
      }),
    });
    return {
      ran: (host, fromNs, toNs) => c.virtualSeconds.labels(host).inc(Math.max(0, toNs - fromNs) / 1e9),
      published: (_host, events: readonly Event[]) => {
        // Counted per batch first: one label lookup per kind, not per event.
        const kinds = new Map<string, number>();
        const traps = new Map<string, number>();
        for (const e of events) {
          kinds.set(e.kind, (kinds.get(e.kind) ?? 0) + 1);
          if (e.kind === 'trap' || e.kind === 'hypercall') {
            const key = `${e.kind}\0${e.route}\0${e.path}`;
            traps.set(key, (traps.get(key) ?? 0) + 1);
          }
        }
        for (const [kind, n] of kinds) c.events.labels(kind).inc(n);
        for (const [key, n] of traps) c.traps.labels(...(key.split('\0') as [string, string, string])).inc(n);
      },
    };
  }

  /** A gauge read at each scrape, e.g. the gateway's simulations by state. */
  gauge(name: string, help: string, labelName: string, read: () => Readonly<Record<string, number>>): void {
    new Gauge({
      name,
      help,
      labelNames: [labelName],
      registers: [this.registry],
      collect() {
        for (const [label, value] of Object.entries(read())) this.labels(label).set(value);
      },
    });
  }

  /** The exposition text (what GET /metrics answers). */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
