// The live dashboard's script (inlined by apps/gateway/src/dashboard/page.ts after ECharts). It
// lists the caller's simulations (GET /v1/simulations) and follows one over server-sent events
// (GET /v1/simulations/:id/live): virtual-time progress, a scrolling pCPU Gantt per host (run
// segments, coloured by VM as in the report), each VM's share of its host, traps per second by
// cause; and drives it: pause, resume, and `sched-*` parameters (POST .../sched/params). The API
// token travels as the cookie /dashboard?token= set. Tests read window.vsimDashboard.
/* global echarts */
'use strict';

(function main() {
  // The report's palette (libs/report/assets/report.js), so a VM has the same colour in both.
  const PALETTE = ['#4269d0', '#efb118', '#ff725c', '#6cc5b0', '#3ca951', '#ff8ab7', '#a463f2', '#97bbf5', '#9c6b4e', '#9498a0'];
  const root = document.getElementById('dashboard');
  const state = { sims: [], sim: null, frames: 0, last: null, segments: {}, vmColor: new Map(), params: null, error: '' };
  window.vsimDashboard = state;
  const charts = { gantt: {}, share: null, traps: null };
  let source = null;

  const el = (tag, attrs = {}, ...children) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c);
    return e;
  };
  const fmtNs = (ns) => (ns >= 1e9 ? `${(ns / 1e9).toFixed(3)} s` : ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : `${(ns / 1e3).toFixed(1)} µs`);
  const colorOf = (vm) => {
    if (!state.vmColor.has(vm)) state.vmColor.set(vm, PALETTE[state.vmColor.size % PALETTE.length]);
    return state.vmColor.get(vm);
  };

  async function api(method, path, body) {
    const res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(data.error || `${method} ${path}: HTTP ${res.status}`);
    return data;
  }

  function showError(e) {
    state.error = e ? String(e.message || e) : '';
    const box = document.getElementById('error');
    if (box) box.textContent = state.error;
  }

  // ---- The list of simulations.
  async function refreshList() {
    try {
      state.sims = (await api('GET', '/v1/simulations')).simulations;
      showError(null);
    } catch (e) {
      showError(e);
    }
    const body = document.getElementById('sims');
    if (!body) return;
    body.replaceChildren(
      ...state.sims.map((s) =>
        el(
          'tr',
          { class: 'sim', 'data-sim': s.sim, onclick: () => follow(s.sim) },
          el('td', {}, s.sim),
          el('td', {}, s.name),
          el('td', {}, s.state),
          el('td', { class: 'num' }, `${fmtNs(s.virtualNs)} / ${fmtNs(s.durationNs)}`),
          el('td', { class: 'num' }, String(s.hosts)),
          el('td', { class: 'num' }, String(s.vms)),
        ),
      ),
    );
  }

  function layout() {
    root.replaceChildren(
      el('h1', {}, 'vsim — live dashboard'),
      el('p', { id: 'error', class: 'error' }),
      el('h2', {}, 'Simulations'),
      el(
        'table',
        {},
        el('thead', {}, el('tr', {}, ...['simulation', 'name', 'state', 'virtual time', 'hosts', 'VMs'].map((h) => el('th', {}, h)))),
        el('tbody', { id: 'sims' }),
      ),
      el('section', { id: 'live' }),
    );
  }

  // ---- Following one simulation.
  function follow(id) {
    if (source) source.close();
    state.sim = id;
    state.frames = 0;
    state.last = null;
    state.segments = {};
    charts.gantt = {};
    history.replaceState(null, '', `#sim=${id}`);
    const live = document.getElementById('live');
    live.replaceChildren(
      el('h2', {}, `Simulation ${id}`),
      el(
        'div',
        { class: 'bar' },
        el('span', { id: 'state' }, ''),
        el('div', { class: 'progress' }, el('i', { id: 'progress', style: 'width:0%' })),
        el('span', { id: 'vtime' }, ''),
        el('button', { id: 'pause', onclick: () => act('pause') }, 'Pause'),
        el('button', { id: 'resume', onclick: () => act('resume') }, 'Resume'),
      ),
      el('div', { id: 'hosts' }),
      el('h2', {}, 'Share of its host per VM'),
      el('div', { id: 'share', class: 'chart small' }),
      el('h2', {}, 'Traps and hypercalls per second (wall clock), by cause'),
      el('div', { id: 'traps', class: 'chart small' }),
      el('h2', {}, 'Scheduling parameters (sched-*)'),
      el(
        'div',
        { class: 'bar' },
        el('label', {}, 'VM ', el('select', { id: 'param-vm' })),
        el('label', {}, 'weight ', el('input', { id: 'param-weight', type: 'number', min: '1', max: '65535', size: '6' })),
        el('label', {}, 'cap % ', el('input', { id: 'param-cap', type: 'number', min: '0', size: '4' })),
        el('label', {}, 'more (JSON, ns) ', el('input', { id: 'param-json', placeholder: '{"budget": 2000000}', size: '24' })),
        el('button', { id: 'param-apply', onclick: () => applyParams() }, 'Apply'),
      ),
      el('table', {}, el('thead', {}, el('tr', {}, ...['VM', 'host', 'parameters'].map((h) => el('th', {}, h)))), el('tbody', { id: 'params' })),
    );
    charts.share = echarts.init(document.getElementById('share'));
    charts.traps = echarts.init(document.getElementById('traps'));
    void loadParams();
    source = new EventSource(`/v1/simulations/${encodeURIComponent(id)}/live`);
    source.addEventListener('frame', (m) => onFrame(JSON.parse(m.data)));
    source.addEventListener('end', (m) => {
      const end = JSON.parse(m.data);
      document.getElementById('state').textContent = end.state + (end.error ? `: ${end.error}` : '');
      source.close();
      void refreshList();
    });
    source.onerror = () => showError(new Error('the live stream was interrupted'));
  }

  function onFrame(f) {
    state.frames++;
    state.last = f;
    document.getElementById('state').textContent = f.state;
    const slowest = Math.min(...f.hosts.map((h) => h.nowNs));
    const fastest = Math.max(...f.hosts.map((h) => h.nowNs));
    document.getElementById('progress').style.width = `${Math.min(100, (100 * fastest) / f.durationNs).toFixed(1)}%`;
    document.getElementById('vtime').textContent = `${fmtNs(fastest)} of ${fmtNs(f.durationNs)} (slowest host ${fmtNs(slowest)})`;
    const select = document.getElementById('param-vm');
    if (select.options.length === 0) {
      for (const v of f.vms) select.append(el('option', { value: v.vm }, v.vm));
      select.append(el('option', { value: '' }, '(scheduler-wide: tslice, ratelimit, ...)'));
    }
    for (const s of f.segments) (state.segments[s[0]] ??= []).push(s);
    for (const h of f.hosts) drawGantt(h);
    drawShare(f);
    drawTraps(f);
  }

  /** The last WINDOW of virtual time of one host: a bar per run segment, a row per pCPU. */
  function drawGantt(h) {
    let chart = charts.gantt[h.host];
    if (!chart) {
      const div = el('div', { class: 'chart', id: `gantt-${h.host}` });
      document.getElementById('hosts').append(el('h2', {}, `Host ${h.host}: pCPU Gantt`), div);
      chart = charts.gantt[h.host] = echarts.init(div);
    }
    const span = Math.max(1e6, Math.min(state.last.durationNs, 20e6));
    const from = Math.max(0, h.nowNs - span);
    const segs = (state.segments[h.host] ??= []).filter((s) => s[4] + s[5] >= from);
    state.segments[h.host] = segs;
    chart.setOption({
      animation: false,
      grid: { left: 70, right: 20, top: 10, bottom: 30 },
      tooltip: { formatter: (p) => `${p.value[3]} vCPU ${p.value[4]} on pCPU ${p.value[0]}: ${fmtNs(p.value[5])} from ${fmtNs(p.value[1])}` },
      xAxis: { type: 'value', min: from, max: Math.max(from + span, h.nowNs), axisLabel: { formatter: fmtNs } },
      yAxis: { type: 'category', data: Array.from({ length: h.pcpus }, (_, i) => `pCPU ${i}`), inverse: true },
      series: [
        {
          type: 'custom',
          encode: { x: [1, 2], y: 0 },
          data: segs.map((s) => [s[1], s[4], s[4] + s[5], s[2], s[3], s[5]]),
          renderItem: (params, api) => {
            const a = api.coord([api.value(1), api.value(0)]);
            const b = api.coord([api.value(2), api.value(0)]);
            const hgt = api.size([0, 1])[1] * 0.6;
            const shape = echarts.graphic.clipRectByRect(
              { x: a[0], y: a[1] - hgt / 2, width: Math.max(b[0] - a[0], 0.6), height: hgt },
              { x: params.coordSys.x, y: params.coordSys.y, width: params.coordSys.width, height: params.coordSys.height },
            );
            return shape && { type: 'rect', shape, style: { fill: colorOf(api.value(3)) } };
          },
        },
      ],
    });
  }

  function drawShare(f) {
    const capacity = new Map(f.hosts.map((h) => [h.host, h.nowNs * h.pcpus]));
    const vms = f.vms.map((v) => ({ ...v, share: capacity.get(v.host) ? (100 * v.cpuNs) / capacity.get(v.host) : 0 }));
    charts.share.setOption({
      animation: false,
      grid: { left: 70, right: 20, top: 10, bottom: 30 },
      xAxis: { type: 'category', data: vms.map((v) => v.vm) },
      yAxis: { type: 'value', max: 100, axisLabel: { formatter: '{value} %' } },
      series: [{ type: 'bar', data: vms.map((v) => ({ value: Number(v.share.toFixed(2)), itemStyle: { color: colorOf(v.vm) } })) }],
    });
  }

  function drawTraps(f) {
    const causes = Object.entries(f.traps).sort((a, b) => b[1] - a[1]);
    charts.traps.setOption({
      animation: false,
      title: {
        show: causes.length === 0,
        text: 'none since the last refresh',
        left: 'center',
        top: 'middle',
        textStyle: { color: '#888', fontSize: 13 },
      },
      grid: { left: 220, right: 20, top: 10, bottom: 30 },
      yAxis: { type: 'category', data: causes.map((c) => c[0]), inverse: true },
      xAxis: { type: 'value' },
      series: [{ type: 'bar', data: causes.map((c) => Math.round((c[1] * 1000) / f.wallMs)) }],
    });
  }

  async function act(what) {
    try {
      await api('POST', `/v1/simulations/${state.sim}/${what}`);
      showError(null);
    } catch (e) {
      showError(e);
    }
  }

  async function loadParams() {
    try {
      state.params = await api('GET', `/v1/simulations/${state.sim}/sched/params`);
    } catch (e) {
      state.params = null; // not running yet, or done
      return;
    }
    document
      .getElementById('params')
      .replaceChildren(
        ...state.params.vms.map((v) =>
          el('tr', { 'data-vm': v.vm }, el('td', {}, v.vm), el('td', {}, v.host), el('td', { class: 'params' }, JSON.stringify(v.params))),
        ),
      );
  }

  async function applyParams() {
    const vm = document.getElementById('param-vm').value;
    let params;
    try {
      params = JSON.parse(document.getElementById('param-json').value || '{}');
    } catch (e) {
      return showError(new Error(`more: not JSON (${e.message})`));
    }
    const weight = document.getElementById('param-weight').value;
    const cap = document.getElementById('param-cap').value;
    if (weight !== '') params.weight = Number(weight);
    if (cap !== '') params.cap = Number(cap);
    try {
      await api('POST', `/v1/simulations/${state.sim}/sched/params`, { vm, params });
      showError(null);
    } catch (e) {
      showError(e);
    }
    await loadParams();
  }

  layout();
  void refreshList().then(() => {
    const m = /^#sim=([A-Za-z0-9_-]+)$/.exec(location.hash);
    if (m) follow(m[1]);
  });
  setInterval(() => void refreshList(), 2000);
  setInterval(() => state.sim && void loadParams(), 2000);
})();
