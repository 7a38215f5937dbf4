// The live dashboard's page (GET /dashboard): one HTML document with its style, the page script
// (apps/gateway/assets/dashboard.js) and Apache ECharts (from @vsim/report, which draws the report's
// Gantt with it) inlined — no CDN, nothing fetched but the gateway's own API. The page holds no
// data: it reads /v1/simulations and /v1/simulations/:id/live with the API token, which a browser
// hands over once as /dashboard?token=... and keeps as an HttpOnly, SameSite=Strict cookie
// (docs/security.md).

import { readFileSync } from 'fs';
import type { IncomingMessage } from 'http';
import { join } from 'path';
import { echartsScript, scriptSafe } from '@vsim/report';

/** The cookie the dashboard's token lives in (accepted like `Authorization: Bearer`). */
export const TOKEN_COOKIE = 'vsim_token';

let page: string | undefined;

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #1d1d1f; }
main { max-width: 1280px; margin: 0 auto; padding: 8px 20px 40px; }
h1 { font-size: 20px; margin: 10px 0; } h2 { font-size: 16px; margin: 18px 0 6px; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; } th, td { border-bottom: 1px solid #e4e4e4; padding: 3px 10px; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; } tr.sim { cursor: pointer; } tr.sim:hover { background: #f4f6fb; }
.bar { display: flex; gap: 10px; align-items: center; flex-wrap: wrap; margin: 6px 0; }
.progress { flex: 1; min-width: 200px; height: 10px; background: #eee; border-radius: 5px; overflow: hidden; }
.progress i { display: block; height: 100%; background: #4269d0; }
.chart { width: 100%; height: 240px; } .chart.small { height: 220px; }
.error { color: #8a1010; } button, input, select { font: inherit; }
`;

/** The whole page, built once per process. */
export function dashboardPage(): string {
  page ??= [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>vsim dashboard</title>',
    `<style>${STYLE}</style>`,
    '</head><body><main id="dashboard"><h1>vsim</h1><p>loading…</p></main>',
    `<script>${scriptSafe(echartsScript())}</script>`,
    `<script>${scriptSafe(readFileSync(join(__dirname, '../../assets/dashboard.js'), 'utf8'))}</script>`,
    '</body></html>',
    '',
  ].join('\n');
  return page;
}

/** The dashboard token from a Cookie header, if any. */
export function cookieToken(header: string | undefined): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === TOKEN_COOKIE && v.length > 0) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

/** Whether a browser's request comes from a page of this gateway: its Origin names the host it was sent to. */
export function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined || req.headers.host === undefined) return false;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/** Set-Cookie for the token: not readable by scripts, sent only by the gateway's own pages. */
export function tokenCookie(token: string, secure: boolean): string {
  return `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/${secure ? '; Secure' : ''}`;
}
