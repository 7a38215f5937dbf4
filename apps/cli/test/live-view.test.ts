// The live view of a running simulation on a real `vsim up` cluster (issue 13 item 3): the
// gateway's dashboard in headless Chromium (Debian's chromium, driven by playwright-core) and
// `vsim top` in a pipe. A two-host Credit simulation long enough to watch runs on the cluster; the
// dashboard, opened with the API token once (/dashboard?token=...), lists it, follows it live (its
// virtual time advances), pauses and resumes it, and changes a VM's Credit weight from the page,
// which the gateway's sched/params then report; `vsim top` prints a row per VM per refresh with
// the host's virtual time advancing. Screenshots go to artifacts/dashboard/ (gitignored).

import { ChildProcess, execFileSync, spawn } from 'child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { BrowserContext, Page } from 'playwright-core';
import { NATS_SERVER_MISSING, findNatsServer } from '@vsim/bus';
import { REPO_ROOT, UpCluster, runVsim, startVsimUp } from '@vsim/testkit';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(REPO_ROOT, 'artifacts/dashboard');
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function hasChromium(): boolean {
  try {
    execFileSync(CHROMIUM, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const hasNats = findNatsServer() !== undefined || process.env.CI === 'true';
const hasBrowser = hasChromium();
if (!hasBrowser && process.env.CI === 'true') throw new Error(`${CHROMIUM} not found (apt-get install -y chromium)`);

async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

(hasNats ? describe : describe.skip)(`the live view of a running simulation on vsim up${hasNats ? '' : ` (skipped: ${NATS_SERVER_MISSING})`}`, () => {
  let cluster: UpCluster;
  let run: ChildProcess;
  let sim = '';
  const dir = mkdtempSync(join(tmpdir(), 'vsim-live-test-'));
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${cluster.httpUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${cluster.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  beforeAll(async () => {
    cluster = await startVsimUp(['--cpu-nodes', '2']);
    // examples/two-hosts.yaml for 4 s of virtual time: longer in wall time than the test needs (about
    // 20 s on 2 cores since shared translations made it ~3x faster; 1 s ended before the browser
    // tests), short enough to end on its own before afterAll stops the cluster (a draining service
    // finishes its simulations).
    const scenario = join(dir, 'two-hosts-long.yaml');
    const text = readFileSync(join(REPO_ROOT, 'examples/two-hosts.yaml'), 'utf8');
    writeFileSync(scenario, text.replace('duration: 300ms', 'duration: 4s').replaceAll('../guests/', `${REPO_ROOT}/guests/`));
    run = spawn(process.execPath, [join(REPO_ROOT, 'apps/cli/bin/vsim.js'), 'run', '--nats', cluster.natsUrl, scenario], {
      cwd: REPO_ROOT,
      stdio: 'ignore',
      env: { ...process.env, VSIM_CREDENTIALS: cluster.credentials },
    });
    sim = await until(
      'the simulation to run',
      async () => (await api('GET', '/v1/simulations')).body.simulations.find((s: any) => s.state === 'running')?.sim,
      60_000,
    );
  }, 130_000);

  afterAll(async () => {
    run?.kill('SIGKILL');
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('vsim top prints a row per VM per refresh, the virtual time advancing (plain lines in a pipe)', async () => {
    const r = await runVsim(['top', '--http', cluster.httpUrl, '--sim', sim, '--iterations', '4'], 60_000, { VSIM_CREDENTIALS: cluster.credentials });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const frames = r.stdout.trimEnd().split('\n\n');
    expect(frames).toHaveLength(4);
    const h1 = frames.map((f) => {
      const [header, columns, ...rows] = f.split('\n');
      expect(header).toMatch(new RegExp(`^vsim top - ${sim} two-hosts running  h0 [\\d.]+/4000\\.000 ms  h1 [\\d.]+/4000\\.000 ms  traps/s \\d+$`));
      expect(columns).toMatch(/^VM\s+HOST\s+STATE\s+VCPUS\s+CPU\(ms\)\s+CPU\(%\)\s+SHARE\(%\)$/);
      expect(rows.map((l) => l.split(/\s+/)[0])).toEqual(['web', 'db', 'pinned', 'batch']);
      for (const l of rows) expect(l).toMatch(/^\S+\s+h[01]\s+\S+\s+1\s+[\d.]+\s+[\d.]+\s+[\d.]+$/);
      return Number(/ h1 ([\d.]+)\//.exec(header)![1]);
    });
    expect(h1[3]).toBeGreaterThan(h1[0]);
    // Without a token the stream is refused, as the API is.
    const anon = await runVsim(['top', '--http', cluster.httpUrl, '--sim', sim, '--iterations', '1'], 30_000, { VSIM_CREDENTIALS: '' });
    expect(anon.status).toBe(69);
    expect(anon.stderr).toMatch(/HTTP 401/);
  }, 90_000);

  (hasBrowser ? describe : describe.skip)(
    `the dashboard in headless Chromium${hasBrowser ? '' : ` (skipped: ${CHROMIUM} not found; apt-get install -y chromium)`}`,
    () => {
      let ctx: BrowserContext;
      let profile: string;
      let page: Page;
      const problems: string[] = [];
      const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
      const dash = <T>(f: (d: any) => T) => page.evaluate(f as any, undefined) as Promise<T>;

      beforeAll(async () => {
        const { chromium } = await import('playwright-core');
        profile = mkdtempSync(join(tmpdir(), 'vsim-chromium-'));
        mkdirSync(ARTIFACTS, { recursive: true });
        ctx = await chromium.launchPersistentContext(profile, {
          executablePath: CHROMIUM,
          headless: true,
          args: FLAGS,
          viewport: { width: 1280, height: 900 },
        });
        page = await ctx.newPage();
        page.on('console', (m) => m.type() === 'error' && problems.push(`console.error: ${m.text()}`));
        page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
        page.on('request', (r) => !r.url().startsWith(cluster.httpUrl) && problems.push(`fetched ${r.url()}`));
      }, 30_000);

      afterAll(async () => {
        await ctx?.close();
        rmSync(profile, { recursive: true, force: true });
      });

      it('without the token the page loads but lists nothing (401); with it once, the cookie carries it', async () => {
        await page.goto(`${cluster.httpUrl}/dashboard`);
        await page.waitForSelector('#error:not(:empty)');
        expect(await page.textContent('#error')).toMatch(/bearer token is required/);
        problems.length = 0; // the 401 is the expected console error
        const res = await page.goto(`${cluster.httpUrl}/dashboard?token=${encodeURIComponent(cluster.token)}`);
        expect(new URL(res!.url()).search).toBe(''); // redirected: the token left the address bar
        const cookie = (await ctx.cookies(cluster.httpUrl)).find((c) => c.name === 'vsim_token')!;
        expect([cookie.httpOnly, cookie.sameSite]).toEqual([true, 'Strict']);
        // The cookie reads, but changes with it only come from the gateway's own page (Origin).
        const withCookie = (origin?: string) =>
          fetch(`${cluster.httpUrl}/v1/simulations/${sim}/pause`, {
            method: 'POST',
            headers: { cookie: `vsim_token=${cookie.value}`, ...(origin ? { origin } : {}) },
          });
        expect((await withCookie()).status).toBe(403);
        expect((await withCookie('http://elsewhere.example')).status).toBe(403);
        expect((await fetch(`${cluster.httpUrl}/v1/simulations/${sim}`, { headers: { cookie: `vsim_token=${cookie.value}` } })).status).toBe(200);
        await page.waitForSelector(`tr.sim[data-sim="${sim}"]`);
        expect(await page.textContent(`tr.sim[data-sim="${sim}"]`)).toContain('two-hosts');
      }, 30_000);

      it('follows the running simulation live: frames arrive, virtual time advances, Gantt bars appear', async () => {
        await page.click(`tr.sim[data-sim="${sim}"]`);
        await page.waitForFunction(() => (globalThis as any).vsimDashboard.frames >= 2, null, { timeout: 30_000 });
        const first = await dash(() => Math.max(...(globalThis as any).vsimDashboard.last.hosts.map((h: any) => h.nowNs)));
        await page.waitForFunction((t) => Math.max(...(globalThis as any).vsimDashboard.last.hosts.map((h: any) => h.nowNs)) > t, first, {
          timeout: 30_000,
        });
        await page.waitForFunction(() => Object.values((globalThis as any).vsimDashboard.segments).some((s: any) => s.length > 0), null, {
          timeout: 30_000,
        });
        expect(await page.textContent('#vtime')).toMatch(/of 4\.000 s/);
        expect(await page.$$('#hosts .chart')).toHaveLength(2);
        await shot('following');
        expect(problems).toEqual([]);
      }, 60_000);

      it('pauses and resumes it from the page', async () => {
        await page.click('#pause');
        await until('paused', async () => ((await api('GET', `/v1/simulations/${sim}`)).body.state === 'paused' ? true : undefined));
        await page.waitForFunction(() => (globalThis as any).document.getElementById('state')!.textContent === 'paused', null, { timeout: 10_000 });
        await shot('paused');
        await page.click('#resume');
        await until('running', async () => ((await api('GET', `/v1/simulations/${sim}`)).body.state === 'running' ? true : undefined));
      }, 30_000);

      it("changes a VM's Credit weight from the page (sched-credit -d batch -w 512), and shows it", async () => {
        const before = (await api('GET', `/v1/simulations/${sim}/sched/params`)).body.vms.find((v: any) => v.vm === 'batch');
        expect(before.params.weight).not.toBe(512);
        await page.selectOption('#param-vm', 'batch');
        await page.fill('#param-weight', '512');
        await page.click('#param-apply');
        await until('the weight', async () =>
          (await api('GET', `/v1/simulations/${sim}/sched/params`)).body.vms.find((v: any) => v.vm === 'batch').params.weight === 512
            ? true
            : undefined,
        );
        await page.waitForFunction(
          () => /"weight":512/.test((globalThis as any).document.querySelector('#params tr[data-vm="batch"] td.params')?.textContent ?? ''),
          null,
          { timeout: 10_000 },
        );
        await shot('weight-changed');
        expect(problems).toEqual([]);
      }, 30_000);
    },
  );
});
