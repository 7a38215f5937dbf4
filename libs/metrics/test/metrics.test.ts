// @vsim/metrics on its own: subjects map to kinds and routes without the simulation id; the bus
// and scheduler observers move the right series; the listener serves the text format at /metrics
// only. (apps/cli/test/metrics.test.ts scrapes every service of a real cluster.)

import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { ServiceMetrics, routeOf, startMetricsServer } from '@vsim/metrics';
import { Event } from '@vsim/proto';

const sample = (text: string, name: string, labels: Record<string, string>) =>
  parsePrometheusTextFormat(text)
    .find((f) => f.name === name)
    ?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))?.value;

describe('routeOf', () => {
  it('names the kind and route of vsim subjects, never the simulation', () => {
    expect(routeOf('vsim.sim-1.run.n1.h0')).toEqual({ kind: 'run', node: 'n1', host: 'h0' });
    expect(routeOf('vsim.sim-1.trap.n2')).toEqual({ kind: 'trap', node: 'n2' });
    expect(routeOf('vsim.sim-1.events.h1')).toEqual({ kind: 'events', host: 'h1' });
    expect(routeOf('$SRV.PING')).toEqual({ kind: 'other' });
    expect(routeOf('vsim.sim-1.run.n1')).toEqual({ kind: 'other' });
  });
});

describe('ServiceMetrics', () => {
  it('counts run orders and trap requests by route and outcome, and times them', async () => {
    const m = new ServiceMetrics({ service: 'scheduler', instance: 's1', version: '0.1.0' });
    m.bus.requested!('vsim.a.run.n1.h0', 0.002, 'ok');
    m.bus.requested!('vsim.b.run.n1.h0', 0.003, 'ok');
    m.bus.requested!('vsim.b.run.n2.h1', 0.5, 'timeout');
    m.bus.served!('vsim.a.trap.n1', 0.0001, 'ok');
    m.bus.served!('vsim.a.run.n1.h0', 0.01, 'error');
    m.bus.published!('vsim.a.events.h0', 100);
    const text = await m.text();
    expect(sample(text, 'vsim_run_orders_sent_total', { node: 'n1', host: 'h0', outcome: 'ok' })).toBe('2');
    expect(sample(text, 'vsim_run_orders_sent_total', { node: 'n2', host: 'h1', outcome: 'timeout' })).toBe('1');
    expect(sample(text, 'vsim_trap_requests_handled_total', { node: 'n1', outcome: 'ok' })).toBe('1');
    expect(sample(text, 'vsim_run_orders_handled_total', { host: 'h0', outcome: 'error' })).toBe('1');
    expect(sample(text, 'vsim_nats_messages_published_total', { subject_kind: 'events' })).toBe('1');
    expect(text).toMatch(/^vsim_nats_request_duration_seconds_count\{subject_kind="run",outcome="ok"\} 2$/m);
    expect(text).toMatch(/^vsim_nats_request_duration_seconds_bucket\{le="0.0025",subject_kind="run",outcome="ok"\} 1$/m);
    expect(text).toMatch(/^vsim_service_info\{service="scheduler",instance="s1",version="0.1.0"\} 1$/m);
  });

  it('counts virtual time, events by kind and traps by route and path from the scheduler', async () => {
    const m = new ServiceMetrics({ service: 'scheduler', instance: 's1', version: '0.1.0' });
    const obs = m.scheduler();
    obs.ran!('h0', 1_000_000, 3_500_000);
    obs.ran!('h0', 3_500_000, 4_000_000);
    const ev = (kind: Event['kind'], route: Event['route'] = '', path: Event['path'] = '') => Event.fromPartial({ kind, route, path, host: 'h0' });
    obs.published!('h0', [
      ev('run'),
      ev('run'),
      ev('trap', 'interpreter', 'local'),
      ev('hypercall', 'allocator', 'remote'),
      ev('trap', 'interpreter', 'local'),
    ]);
    const text = await m.text();
    expect(Number(sample(text, 'vsim_virtual_time_seconds_total', { host: 'h0' }))).toBeCloseTo(0.003, 12);
    expect(sample(text, 'vsim_events_published_total', { kind: 'run' })).toBe('2');
    expect(sample(text, 'vsim_traps_total', { kind: 'trap', route: 'interpreter', path: 'local' })).toBe('2');
    expect(sample(text, 'vsim_traps_total', { kind: 'hypercall', route: 'allocator', path: 'remote' })).toBe('1');
  });

  it('reads a gauge when scraped', async () => {
    const m = new ServiceMetrics({ service: 'gateway', instance: 'g', version: '0.1.0' });
    let running = 1;
    m.gauge('vsim_simulations', 'by state', 'state', () => ({ running, queued: 3 }));
    expect(sample(await m.text(), 'vsim_simulations', { state: 'running' })).toBe('1');
    running = 2;
    expect(sample(await m.text(), 'vsim_simulations', { state: 'running' })).toBe('2');
  });

  it('is served at GET /metrics in the text format, and nothing else', async () => {
    const m = new ServiceMetrics({ service: 'hypervisor', instance: 'h', version: '0.1.0' });
    const server = await startMetricsServer(m, 0, '127.0.0.1');
    try {
      const res = await fetch(`http://${server.address}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(parsePrometheusTextFormat(await res.text()).map((f) => f.name)).toContain('process_start_time_seconds');
      expect((await fetch(`http://${server.address}/`)).status).toBe(404);
      expect((await fetch(`http://${server.address}/metrics`, { method: 'POST' })).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
