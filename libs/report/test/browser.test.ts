// The HTML report in a real browser: Debian's chromium, headless, driven by playwright-core (no
// browser download). For examples/quickstart.yaml and a Credit scenario (examples/smp-kernel.yaml)
// the page opens from file:// with no console error, its Gantt holds one bar per run segment of
// the event log and each VM's bars add up to its CPU time in the results within 1 ns, and zooming
// (the mouse wheel, then down to a few microseconds) changes the range the time axis shows.
// Screenshots go to artifacts/report/ (gitignored).

import { execFileSync } from 'child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { BrowserContext, Page } from 'playwright-core';
import { buildReportData, renderHtml } from '@vsim/report';
import { ROOT, runExample } from './kit';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'artifacts/report');
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

const available = hasChromium();
if (!available && process.env.CI === 'true') throw new Error(`${CHROMIUM} not found (apt-get install -y chromium)`);

interface PageReport {
  ganttBars(host: string): { pcpu: number; startNs: number; ns: number; vm: string; vcpu: number }[];
  visibleRange(host: string): [number, number];
  zoom(host: string, startNs: number, endNs: number): void;
}

(available ? describe : describe.skip)(
  `the HTML report in headless Chromium${available ? '' : ` (skipped: ${CHROMIUM} not found; apt-get install -y chromium)`}`,
  () => {
    let ctx: BrowserContext;
    let profile: string;
    const work = mkdtempSync(join(tmpdir(), 'vsim-report-'));

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
    });

    afterAll(async () => {
      await ctx?.close();
      rmSync(profile, { recursive: true, force: true });
      rmSync(work, { recursive: true, force: true });
    });

    async function open(example: string): Promise<{ page: Page; problems: string[] }> {
      const { result, events } = await runExample(example);
      const file = join(work, `${example}.html`);
      writeFileSync(file, renderHtml(buildReportData(result, events)));
      const page = await ctx.newPage();
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console.error: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('request', (r) => {
        if (!r.url().startsWith('file://')) problems.push(`fetched ${r.url()}`);
      });
      await page.goto(`file://${file}`);
      await page.waitForFunction(() => (globalThis as unknown as { vsimReport?: { ready: boolean } }).vsimReport?.ready === true, null, {
        timeout: 30_000,
      });
      return { page, problems };
    }

    for (const example of ['quickstart', 'smp-kernel']) {
      it(`examples/${example}.yaml: renders, one bar per run segment, bars sum to CPU time, zoom changes the range`, async () => {
        const { result, events } = await runExample(example);
        const { page, problems } = await open(example);
        await page.screenshot({ path: join(ARTIFACTS, `${example}.png`), fullPage: true });
        for (const h of result.hosts) {
          const bars = await page.evaluate((host) => (globalThis as unknown as { vsimReport: PageReport }).vsimReport.ganttBars(host), h.id);
          const runs = events.filter((e) => e.host === h.id && e.kind === 'run');
          expect(bars.length).toBe(runs.length);
          expect(bars.map((b) => [b.pcpu, b.startNs, b.ns, b.vm, b.vcpu])).toEqual(runs.map((r) => [r.pcpu, r.timeNs, r.value, r.vm, r.vcpu]));
          for (const vm of result.vms.filter((v) => v.host === h.id)) {
            const sum = bars.filter((b) => b.vm === vm.id).reduce((a, b) => a + b.ns, 0);
            expect(Math.abs(sum - vm.cpuNs)).toBeLessThanOrEqual(1);
          }

          const range = () => page.evaluate((host) => (globalThis as unknown as { vsimReport: PageReport }).vsimReport.visibleRange(host), h.id);
          const whole = await range();
          expect(whole).toEqual([0, h.endNs]);
          // The mouse wheel over the chart zooms in around the pointer.
          const box = (await page.locator(`#host-${h.id} .chart.gantt`).boundingBox())!;
          await page.locator(`#host-${h.id} .chart.gantt`).scrollIntoViewIfNeeded();
          const box2 = (await page.locator(`#host-${h.id} .chart.gantt`).boundingBox()) ?? box;
          await page.mouse.move(box2.x + box2.width / 2, box2.y + box2.height / 2);
          for (let i = 0; i < 5; i++) await page.mouse.wheel(0, -240);
          await page.waitForFunction(
            ([host, end]) => {
              const r = (globalThis as unknown as { vsimReport: PageReport }).vsimReport.visibleRange(host as string);
              return r[1] - r[0] < (end as number);
            },
            [h.id, h.endNs] as const,
            { timeout: 10_000 },
          );
          const wheeled = await range();
          expect(wheeled[1] - wheeled[0]).toBeLessThan(h.endNs);
          // Down to microseconds: 3 µs around the first segment's start.
          const at = runs[0].timeNs;
          await page.evaluate(
            ([host, a]) => (globalThis as unknown as { vsimReport: PageReport }).vsimReport.zoom(host as string, a as number, (a as number) + 3000),
            [h.id, at] as const,
          );
          const micro = await range();
          expect(micro[0]).toBeGreaterThanOrEqual(at - 1);
          expect(micro[1] - micro[0]).toBeLessThanOrEqual(3001);
          expect(await page.locator(`#range-${h.id}`).textContent()).toMatch(/µs|ns\)/);
          await page.locator(`#host-${h.id}`).screenshot({ path: join(ARTIFACTS, `${example}-${h.id}-zoomed.png`) });
        }
        expect(problems).toEqual([]);
        await page.close();
      });
    }
  },
);
