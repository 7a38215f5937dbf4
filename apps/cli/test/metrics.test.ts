// Prometheus metrics (docs/metrics.md) on a real `vsim up` cluster: every service's /metrics, at
// the URL vsim up printed, parses as the text exposition format (parse-prometheus-text-format, plus a
// line-by-line check of the grammar), and the counters of each service move when a simulation
// runs on the cluster: run orders, virtual time, events and traps (scheduler), run orders handled
// (cpu-nodes), trap requests handled (hypervisor, remote trap path), simulations by state (gateway),
// NATS latency histograms.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import parsePrometheusTextFormat, { MetricFamily } from 'parse-prometheus-text-format';
import { NATS_SERVER_MISSING, findNatsServer } from '@vsim/bus';
import { REPO_ROOT, UpCluster, runVsim, startVsimUp } from '@vsim/testkit';

const SERVICES = ['hypervisor', 'scheduler', 'cpu-node-1', 'cpu-node-2', 'gateway'];
/** One sample line: name, optional {labels}, value (a float, +Inf, -Inf, NaN), optional timestamp. */
const SAMPLE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? [-+]?([0-9.]+(e[-+]?\d+)?|Inf|NaN)( -?\d+)?$/;

interface Scrape {
  readonly families: Map<string, MetricFamily>;
  /** Each histogram series' `_count` sample: parse-prometheus-text-format merges a histogram's labelled series into one. */
  readonly counts: readonly { name: string; labels: Record<string, string>; value: number }[];
}

async function scrape(url: string): Promise<Scrape> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  for (const line of text.split('\n'))
    if (line !== '' && !/^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* /.test(line)) expect({ line, ok: SAMPLE.test(line) }).toEqual({ line, ok: true });
  const counts = [...text.matchAll(/^([a-z_]+)_count\{([^}]*)\} (\S+)$/gm)].map((m) => ({
    name: m[1],
    labels: Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]])),
    value: Number(m[3]),
  }));
  return { families: new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f])), counts };
}

/** The sum of a counter's (or gauge's) samples whose labels include `where`; for a histogram, of its counts. */
function total(s: Scrape, name: string, where: Record<string, string> = {}): number {
  const f = s.families.get(name);
  if (!f) return 0;
  const matches = (labels: Readonly<Record<string, string>> | undefined) => Object.entries(where).every(([k, v]) => labels?.[k] === v);
  if (f.type === 'HISTOGRAM') return s.counts.filter((c) => c.name === name && matches(c.labels)).reduce((n, c) => n + c.value, 0);
  return f.metrics.filter((m) => matches(m.labels)).reduce((n, m) => n + Number(m.value), 0);
}

const skip = findNatsServer() === undefined && process.env.CI !== 'true';

(skip ? describe.skip : describe)(`Prometheus /metrics of every service of vsim up${skip ? ` (skipped: ${NATS_SERVER_MISSING})` : ''}`, () => {
  let cluster: UpCluster;
  const dir = mkdtempSync(join(tmpdir(), 'vsim-metrics-test-'));

  beforeAll(async () => {
    cluster = await startVsimUp(['--cpu-nodes', '2']);
  }, 70_000);

  afterAll(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('vsim up prints a /metrics URL per service, each parses as the text format and names its service', async () => {
    expect(Object.keys(cluster.metrics).sort()).toEqual([...SERVICES].sort());
    for (const name of SERVICES) {
      expect(cluster.metrics[name]).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const { families } = await scrape(cluster.metrics[name]);
      const info = families.get('vsim_service_info')!;
      expect(info.metrics[0].labels).toEqual(expect.objectContaining({ service: name.replace(/-\d+$/, ''), instance: name }));
      expect(families.get('process_start_time_seconds')?.type).toBe('GAUGE');
      for (const f of families.values()) if (f.name.startsWith('vsim_') && f.type === 'COUNTER') expect(f.name).toMatch(/_total$/);
    }
  });

  it('the counters move when a simulation runs (remote trap path: every trap crosses NATS)', async () => {
    const before = new Map<string, Scrape>();
    for (const name of SERVICES) before.set(name, await scrape(cluster.metrics[name]));
    const scenario = join(dir, 'two-hosts-remote.yaml');
    const text = readFileSync(join(REPO_ROOT, 'examples/two-hosts.yaml'), 'utf8');
    writeFileSync(scenario, text.replace('trapPath: split', 'trapPath: remote').replaceAll('../guests/', `${REPO_ROOT}/guests/`));
    const run = await runVsim(['run', '--nats', cluster.natsUrl, scenario], 90_000, { VSIM_CREDENTIALS: cluster.credentials });
    expect(run.stderr).toMatch(/^vsim: simulation /);
    expect(run.status).toBe(0);
    const after = new Map<string, Scrape>();
    for (const name of SERVICES) after.set(name, await scrape(cluster.metrics[name]));
    const moved = (service: string, metric: string, where: Record<string, string> = {}) =>
      total(after.get(service)!, metric, where) - total(before.get(service)!, metric, where);

    expect(moved('scheduler', 'vsim_run_orders_sent_total', { outcome: 'ok' })).toBeGreaterThan(0);
    expect(moved('scheduler', 'vsim_run_orders_sent_total', { host: 'h0' })).toBeGreaterThan(0);
    expect(moved('scheduler', 'vsim_nats_request_duration_seconds', { subject_kind: 'run' })).toBe(moved('scheduler', 'vsim_run_orders_sent_total'));
    // h1 runs the whole 300 ms (virtual), whatever the wall time; h0's two guests are done in ~25 ms.
    expect(moved('scheduler', 'vsim_virtual_time_seconds_total', { host: 'h0' })).toBeGreaterThan(0.01);
    expect(moved('scheduler', 'vsim_virtual_time_seconds_total', { host: 'h0' })).toBeLessThan(0.1);
    expect(moved('scheduler', 'vsim_virtual_time_seconds_total', { host: 'h1' })).toBeCloseTo(0.3, 6);
    expect(moved('scheduler', 'vsim_events_published_total', { kind: 'schedule' })).toBeGreaterThan(0);
    expect(moved('scheduler', 'vsim_traps_total', { path: 'remote' })).toBeGreaterThan(0);
    expect(moved('scheduler', 'vsim_nats_messages_published_total', { subject_kind: 'events' })).toBeGreaterThan(0);
    const handled = moved('cpu-node-1', 'vsim_run_orders_handled_total') + moved('cpu-node-2', 'vsim_run_orders_handled_total');
    expect(handled).toBe(moved('scheduler', 'vsim_run_orders_sent_total'));
    const sent = moved('cpu-node-1', 'vsim_trap_requests_sent_total') + moved('cpu-node-2', 'vsim_trap_requests_sent_total');
    expect(sent).toBeGreaterThan(0);
    expect(moved('hypervisor', 'vsim_trap_requests_handled_total')).toBe(sent);
    expect(moved('hypervisor', 'vsim_nats_handler_duration_seconds', { subject_kind: 'trap' })).toBe(sent);
    expect(moved('gateway', 'vsim_simulations', { state: 'done' })).toBe(1);
  }, 120_000);
});
