// The report as one self-contained HTML file: the page's style, Apache ECharts (read from
// node_modules when the report is written, never fetched), the report's data as JSON and the
// page script (assets/report.js), all inlined, so the file opens offline from file://.

import { readFileSync } from 'fs';
import { join } from 'path';
import type { ReportData } from './model';

let assets: { echarts: string; script: string } | undefined;

/** ECharts' minified build and the page script, read once per process. */
function loadAssets(): { echarts: string; script: string } {
  if (!assets) {
    const echartsMain = require.resolve('echarts/dist/echarts.min.js', { paths: [__dirname] });
    assets = { echarts: readFileSync(echartsMain, 'utf8'), script: readFileSync(join(__dirname, '../assets/report.js'), 'utf8') };
  }
  return assets;
}

/** ECharts' minified build (what the report inlines; the gateway's live dashboard serves it too). */
export function echartsScript(): string {
  return loadAssets().echarts;
}

/** Text safe inside a <script> element: no `</script`, no `<!--`, and JSON's U+2028/9 escaped. */
export function scriptSafe(text: string): string {
  return text
    .replace(/<\/(script)/gi, '<\\/$1')
    .replace(/<!--/g, '<\\!--')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1d1d1f; background: #fff; }
#report { max-width: 1280px; margin: 0 auto; padding: 12px 24px 48px; }
h1 { font-size: 22px; margin: 12px 0 4px; } h2 { font-size: 18px; margin: 28px 0 6px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 18px 0 4px; } .meta, .intro { color: #555; margin: 4px 0; }
.note { padding: 6px 10px; border-radius: 4px; background: #f4f4f4; } .note.ok { background: #eaf6ec; } .note.bad { background: #fde8e8; color: #8a1010; }
.chart { width: 100%; height: 320px; } .chart.gantt { height: 260px; } .chart.share { height: 300px; }
.toolbar { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; margin: 6px 0; }
.legend { display: flex; flex-wrap: wrap; gap: 10px; } .key { display: inline-flex; align-items: center; gap: 4px; }
.key i { display: inline-block; width: 14px; height: 10px; border-radius: 2px; }
.range { color: #555; font-variant-numeric: tabular-nums; margin-left: auto; }
table { border-collapse: collapse; margin: 8px 0; } th, td { border-bottom: 1px solid #e4e4e4; padding: 3px 10px; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
button, select { font: inherit; }
`;

/** The whole page. */
export function renderHtml(data: ReportData): string {
  const parts: string[] = [];
  writeHtml(data, (chunk) => parts.push(chunk));
  return parts.join('');
}

/** The page, written in parts through `write` (the inlined assets and the data are large). */
export function writeHtml(data: ReportData, write: (chunk: string) => void): void {
  const { echarts, script } = loadAssets();
  write(
    [
      '<!DOCTYPE html>',
      '<html lang="en"><head><meta charset="utf-8">',
      '<meta name="viewport" content="width=device-width, initial-scale=1">',
      `<title>${escapeHtml(data.title)}</title>`,
      `<style>${STYLE}</style>`,
      '</head><body><main id="report"></main>',
      '<script>',
    ].join('\n'),
  );
  write(safeAssets(echarts, script).echarts);
  write('</script>\n<script id="vsim-data" type="application/json">');
  write(scriptSafe(JSON.stringify(data)));
  write('</script>\n<script>');
  write(safeAssets(echarts, script).script);
  write('</script>\n</body></html>\n');
}

let safe: { echarts: string; script: string } | undefined;

/** The assets made script-safe once per process (they do not change). */
function safeAssets(echarts: string, script: string): { echarts: string; script: string } {
  if (!safe) safe = { echarts: scriptSafe(echarts), script: scriptSafe(script) };
  return safe;
}
