// The report page's script (inlined into the HTML by libs/report/src/html.ts, after ECharts and
// the data). It only lays out what the data says (libs/report/src/model.ts computed it): one
// pCPU Gantt and one share-over-time chart per host, then the runstates, the wake-up latency
// CDF, deadline misses, exits by cause and route, and the techniques side by side.
// Tests and curious users reach the charts through window.vsimReport.
/* global echarts */
'use strict';

(function main() {
  const data = JSON.parse(document.getElementById('vsim-data').textContent);
  const S = data.strings;
  const PALETTE = [
    '#4269d0',
    '#efb118',
    '#ff725c',
    '#6cc5b0',
    '#3ca951',
    '#ff8ab7',
    '#a463f2',
    '#97bbf5',
    '#9c6b4e',
    '#9498a0',
    '#1b9e77',
    '#d95f02',
    '#7570b3',
    '#e7298a',
    '#66a61e',
    '#e6ab02',
  ];
  const vmIndex = new Map(data.vms.map((v, i) => [v.id, i]));
  const colorOf = (vm) => PALETTE[(vmIndex.get(vm) ?? 0) % PALETTE.length];
  const charts = { gantt: {}, share: {}, runstates: null, latency: null, exits: null, techniques: null };

  /** ns as text: exact ns below 10 µs, else µs/ms/s with enough digits to read a Gantt. */
  function fmtNs(ns) {
    const a = Math.abs(ns);
    if (a < 1e4) return `${Math.round(ns)} ns`;
    if (a < 1e6) return `${(ns / 1e3).toFixed(a < 1e5 ? 2 : 1)} µs`;
    if (a < 1e9) return `${(ns / 1e6).toFixed(a < 1e7 ? 3 : 2)} ms`;
    return `${(ns / 1e9).toFixed(3)} s`;
  }
  const exact = (ns) => `${Math.round(ns).toLocaleString('en-US')} ns`;
  const el = (tag, attrs, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const k of kids) e.append(k);
    return e;
  };
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
  const root = document.getElementById('report');
  const section = (id, title, intro) => {
    const s = el('section', { id }, el('h2', { text: title }));
    if (intro) s.append(el('p', { class: 'intro', text: intro }));
    root.append(s);
    return s;
  };
  const chartDiv = (parent, cls) => {
    const d = el('div', { class: `chart ${cls || ''}` });
    parent.append(d);
    return echarts.init(d, null, { renderer: 'canvas' });
  };

  // ---- Header, notes, the bars-vs-results check ----------------------------------------------
  document.title = data.title;
  const head = el('header', {}, el('h1', { text: data.title }));
  head.append(
    el('p', {
      class: 'meta',
      text: `scenario ${data.name} · seed ${data.seed} · duration ${fmtNs(data.durationNs)} · scheduler ${data.scheduler} · event-log hash ${data.eventLogHash}`,
    }),
  );
  root.append(head);
  for (const n of data.notes) root.append(el('p', { class: 'note', text: n }));
  const bad = data.sums.filter((s) => !s.ok);
  root.append(
    el('p', {
      class: bad.length ? 'note bad' : 'note ok',
      id: 'sums',
      text: bad.length
        ? `Run segments do not add up to the CPU time in the results for ${bad.map((s) => `${s.vm} (${exact(s.barsNs)} vs ${exact(s.cpuNs)})`).join(', ')}.`
        : `Every VM's Gantt bars add up to its CPU time in the results, to the ns (${data.sums.reduce((a, s) => a + s.bars, 0)} run segments).`,
    }),
  );

  // ---- Per host: pCPU Gantt and share over time ----------------------------------------------
  for (const host of data.hosts) hostSection(host);

  function hostSection(host) {
    const s = section(
      `host-${host.id}`,
      `Host ${host.id}: ${host.pcpus} pCPU${host.pcpus > 1 ? 's' : ''}, ${host.policy}`,
      'Each bar is one run segment: a vCPU on a pCPU, as long as the CPU time the simulation charged it. Grey: idle. Ticks above a bar: traps (red) and hypercalls (blue); symbols above a row: the scheduler decisions (▲ tickle, ◆ boost, ➤ steal or migrate, ■ park/unpark, pin: deadline miss) and actions (hover for details). Zoom with the wheel or the slider, down to single microseconds.',
    );
    const vmsHere = data.vms.filter((v) => v.host === host.id);
    const legend = el('div', { class: 'legend' });
    for (const v of vmsHere)
      legend.append(el('span', { class: 'key' }, el('i', { style: `background:${colorOf(v.id)}` }), `${v.id} (${v.technique})`));
    legend.append(el('span', { class: 'key' }, el('i', { style: 'background:#e4e4e4' }), 'idle'));
    const range = el('span', { class: 'range', id: `range-${host.id}` });
    const reset = el('button', { type: 'button', text: 'whole run' });
    s.append(el('div', { class: 'toolbar' }, legend, range, reset));
    const gantt = chartDiv(s, 'gantt');
    gantt.getDom().style.height = `${Math.max(180, 90 + 46 * (host.pcpus + 1))}px`;
    gantt.resize();
    charts.gantt[host.id] = gantt;
    gantt.setOption(ganttOption(host));
    const showRange = () => {
      const [a, b] = visibleRange(host.id);
      range.textContent = `showing ${fmtNs(a)} – ${fmtNs(b)} (${fmtNs(b - a)})`;
    };
    gantt.on('datazoom', showRange);
    showRange();
    reset.addEventListener('click', () => zoom(host.id, 0, host.endNs));

    s.append(
      el('h3', { text: 'CPU share over time' }),
      el('p', {
        class: 'intro',
        text: `Solid: the share each VM got (pCPUs, per ${fmtNs(host.binNs)} bin). Dashed: what its weight, cap or budget entitles it to if every VM on the host wanted CPU all the time.`,
      }),
    );
    const share = chartDiv(s, 'share');
    charts.share[host.id] = share;
    share.setOption(shareOption(host, vmsHere));
  }

  function ganttOption(host) {
    const rows = ['scheduler', ...Array.from({ length: host.pcpus }, (_, i) => `pCPU ${i}`)];
    const segs = host.segments.map((r) => [r[0] + 1, r[1], r[1] + r[2], r[2], r[3], r[4], r[5], r[6]]);
    const idle = idleRows(host);
    const exits = host.exits.map((r) => [r[1] + 1, r[0], r[0], r[2], r[3], r[4], r[5], r[6]]);
    const marks = host.marks.map((r) => [r[0], r[1] + 1, r[2], r[3], r[4], r[5]]);
    const clip = (params, shape) =>
      echarts.graphic.clipRectByRect(shape, {
        x: params.coordSys.x,
        y: params.coordSys.y,
        width: params.coordSys.width,
        height: params.coordSys.height,
      });
    const barItem = (fill) => (params, api) => {
      const a = api.coord([api.value(1), api.value(0)]);
      const b = api.coord([api.value(2), api.value(0)]);
      const h = api.size([0, 1])[1] * 0.56;
      const shape = clip(params, { x: a[0], y: a[1] - h / 2, width: Math.max(b[0] - a[0], 0.6), height: h });
      return shape && { type: 'rect', shape, style: { fill: fill(api) } };
    };
    return {
      animation: false,
      grid: { left: 78, right: 24, top: 16, bottom: 62 },
      tooltip: { trigger: 'item', confine: true, formatter: (p) => ganttTip(p) },
      xAxis: {
        type: 'value',
        min: 0,
        max: host.endNs,
        axisLabel: { formatter: fmtNs, hideOverlap: true },
        splitLine: { show: true, lineStyle: { color: '#f0f0f0' } },
      },
      yAxis: { type: 'category', data: rows, inverse: true, axisTick: { show: false } },
      dataZoom: [
        { type: 'slider', xAxisIndex: 0, filterMode: 'weakFilter', minValueSpan: 1000, height: 22, bottom: 12, labelFormatter: (v) => fmtNs(v) },
        { type: 'inside', xAxisIndex: 0, filterMode: 'weakFilter', minValueSpan: 1000 },
      ],
      series: [
        { id: 'idle', name: 'idle', type: 'custom', renderItem: barItem(() => '#e4e4e4'), encode: { x: [1, 2], y: 0 }, data: idle, z: 1 },
        {
          id: 'segments',
          name: 'run segments',
          type: 'custom',
          renderItem: barItem((api) => colorOf(S[api.value(4)])),
          encode: { x: [1, 2], y: 0 },
          data: segs,
          z: 2,
        },
        {
          id: 'exits',
          name: 'exits',
          type: 'custom',
          encode: { x: [1, 2], y: 0 },
          data: exits,
          z: 3,
          renderItem: (params, api) => {
            const p = api.coord([api.value(1), api.value(0)]);
            const h = api.size([0, 1])[1] * 0.28;
            const c = params.coordSys;
            if (p[0] < c.x || p[0] > c.x + c.width) return null;
            return {
              type: 'line',
              shape: { x1: p[0], y1: p[1] - h - 9, x2: p[0], y2: p[1] - h + 1 },
              style: { stroke: S[api.value(5)] === 'trap' ? '#b2182b' : '#2166ac', lineWidth: 1 },
            };
          },
        },
        {
          id: 'marks',
          name: 'scheduler',
          type: 'scatter',
          data: marks,
          z: 4,
          encode: { x: 0, y: 1 },
          symbolOffset: [0, -13],
          symbol: (v) => markSymbol(S[v[2]]),
          symbolSize: 7,
          itemStyle: { color: (p) => markColor(S[p.value[2]]), opacity: 0.9 },
        },
      ],
    };
  }

  function markSymbol(kind) {
    if (kind === 'sched.tickle') return 'triangle';
    if (kind.startsWith('sched.boost')) return 'diamond';
    if (kind === 'sched.stolen_vcpu' || kind === 'sched.migrate' || kind === 'sched.load_balance') return 'arrow';
    if (kind.endsWith('park')) return 'rect';
    if (kind === 'sched.deadline_miss') return 'pin';
    return 'circle';
  }
  function markColor(kind) {
    if (kind === 'sched.deadline_miss' || kind === 'fault' || kind === 'kill-host') return '#d62728';
    if (kind.startsWith('sched.')) return '#222';
    return '#8c564b';
  }

  /** Idle stretches: each pCPU's time from 0 to the host's end not covered by a segment. */
  function idleRows(host) {
    const out = [];
    const by = Array.from({ length: host.pcpus }, () => []);
    for (const r of host.segments) by[r[0]]?.push([r[1], r[1] + r[2]]);
    by.forEach((list, p) => {
      list.sort((a, b) => a[0] - b[0]);
      let t = 0;
      for (const [a, b] of list) {
        if (a > t) out.push([p + 1, t, a]);
        t = Math.max(t, b);
      }
      if (t < host.endNs) out.push([p + 1, t, host.endNs]);
    });
    return out;
  }

  function ganttTip(p) {
    const v = p.value;
    if (p.seriesId === 'segments') {
      const bal = v[7] >= 0 ? ` · ${esc(S[v[7]])}` : '';
      const lat = v[6] >= 0 ? `<br>woken ${exact(v[6])} before` : '';
      return `<b>${esc(S[v[4]])}/${v[5]}</b> on pCPU ${v[0] - 1}<br>${exact(v[1])} → ${exact(v[1] + v[3])}<br>ran ${exact(v[3])}${bal}${lat}`;
    }
    if (p.seriesId === 'idle') return `pCPU ${v[0] - 1} idle<br>${exact(v[1])} → ${exact(v[2])} (${fmtNs(v[2] - v[1])})`;
    if (p.seriesId === 'exits')
      return `${esc(S[v[5]])} <b>${esc(S[v[6]])}</b> (${esc(S[v[7]])})<br>${esc(S[v[3]])}/${v[4]} on pCPU ${v[0] - 1} at ${exact(v[1])}`;
    const who = v[3] >= 0 ? ` ${esc(S[v[3]])}${v[4] >= 0 ? `/${v[4]}` : ''}` : '';
    return `<b>${esc(S[v[2]])}</b>${who} at ${exact(v[0])}${v[1] > 0 ? ` on pCPU ${v[1] - 1}` : ''}${S[v[5]] ? `<br>${esc(S[v[5]])}` : ''}`;
  }

  function shareOption(host, vms) {
    const series = [];
    for (const v of vms) {
      series.push({
        name: v.id,
        type: 'line',
        step: 'start',
        showSymbol: false,
        lineStyle: { width: 1.5 },
        color: colorOf(v.id),
        data: v.share.map((x, i) => [i * host.binNs, x]),
      });
      series.push({
        name: `${v.id} entitled`,
        type: 'line',
        step: 'end',
        showSymbol: false,
        lineStyle: { type: 'dashed', width: 1.5 },
        color: colorOf(v.id),
        data: v.entitlement,
      });
    }
    return {
      animation: false,
      grid: { left: 60, right: 24, top: 40, bottom: 62 },
      legend: { type: 'scroll', top: 4 },
      tooltip: { trigger: 'axis', valueFormatter: (x) => (typeof x === 'number' ? x.toFixed(3) : x) },
      xAxis: { type: 'value', min: 0, max: host.endNs, axisLabel: { formatter: fmtNs, hideOverlap: true } },
      yAxis: { type: 'value', name: 'pCPUs', min: 0 },
      dataZoom: [{ type: 'slider', height: 22, bottom: 12, labelFormatter: (x) => fmtNs(x) }, { type: 'inside' }],
      series,
    };
  }

  // ---- Runstates -----------------------------------------------------------------------------
  {
    const s = section(
      'runstates',
      'Runstates',
      'Per vCPU, where its time went (the runstates xenalyze reports): running on a pCPU, runnable but waiting for one, blocked (waiting for its timer or an event), offline (paused, not started, or after its VM ended).',
    );
    const rows = data.vms.flatMap((v) => v.runstates.map((r) => ({ label: `${v.id}/${r.vcpu}`, ...r })));
    if (rows.length === 0) s.append(el('p', { text: 'The results carry no scheduling metrics.' }));
    else {
      const c = chartDiv(s, 'runstates');
      c.getDom().style.height = `${Math.max(160, 60 + 30 * rows.length)}px`;
      c.resize();
      const states = [
        ['running', '#3ca951'],
        ['runnable', '#efb118'],
        ['blocked', '#9498a0'],
        ['offline', '#dddddd'],
      ];
      c.setOption({
        animation: false,
        grid: { left: 140, right: 30, top: 36, bottom: 30 },
        legend: { top: 4 },
        tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (x) => exact(x) },
        xAxis: { type: 'value', axisLabel: { formatter: fmtNs } },
        yAxis: { type: 'category', data: rows.map((r) => r.label), inverse: true },
        series: states.map(([k, color]) => ({ name: k, type: 'bar', stack: 'all', color, data: rows.map((r) => r[k]) })),
      });
      charts.runstates = c;
    }
  }

  // ---- Wake-up latency CDF -------------------------------------------------------------------
  {
    const s = section(
      'latency',
      'Wake-up latency',
      "From the moment a vCPU's wake-up timer fired to the scheduling decision that gave it a pCPU: the fraction of wake-ups served within a given latency.",
    );
    const withSamples = data.vms.filter((v) => v.latencies.length > 0);
    if (withSamples.length === 0) s.append(el('p', { text: 'No vCPU was woken by its timer in this run.' }));
    else {
      const c = chartDiv(s, 'cdf');
      c.setOption({
        animation: false,
        grid: { left: 60, right: 30, top: 40, bottom: 40 },
        legend: { type: 'scroll', top: 4 },
        tooltip: { trigger: 'item', formatter: (p) => `${esc(p.seriesName)}: ${(p.value[1] * 100).toFixed(1)} % within ${exact(p.value[0])}` },
        xAxis: { type: 'value', name: 'latency', axisLabel: { formatter: fmtNs, hideOverlap: true }, min: 0, max: (v) => Math.max(v.max, 1000) },
        yAxis: { type: 'value', min: 0, max: 1, axisLabel: { formatter: (x) => `${Math.round(x * 100)} %` } },
        series: withSamples.map((v) => ({
          name: v.id,
          type: 'line',
          step: 'end',
          showSymbol: false,
          color: colorOf(v.id),
          data: [[0, 0], ...v.latencies.map((x, i) => [x, (i + 1) / v.latencies.length])],
        })),
      });
      charts.latency = c;
      s.append(
        el('p', {
          class: 'intro',
          text: withSamples
            .map(
              (v) =>
                `${v.id}: ${v.latencies.length} wake-ups, median ${fmtNs(v.latencies[Math.ceil(v.latencies.length / 2) - 1])}, max ${fmtNs(v.latencies[v.latencies.length - 1])}`,
            )
            .join(' · '),
        }),
      );
    }
  }

  // ---- Deadline misses ----------------------------------------------------------------------
  {
    const s = section(
      'deadlines',
      'Deadline misses',
      'Reported by the real-time schedulers (RTDS, SEDF): a period that ended with its VM runnable and budget unspent.',
    );
    const t = el(
      'table',
      {},
      el('tr', {}, el('th', { text: 'VM' }), el('th', { text: 'misses' }), el('th', { text: 'first ones (time: unmet budget)' })),
    );
    for (const v of data.vms) {
      const first = v.deadlineMisses
        .slice(0, 8)
        .map((m) => `${fmtNs(m.timeNs)}: ${m.detail}`)
        .join('; ');
      t.append(
        el('tr', {}, el('td', { text: v.id }), el('td', { class: 'num', text: String(v.deadlineMissCount) }), el('td', { text: first || '—' })),
      );
    }
    s.append(t);
  }

  // ---- Traps and hypercalls by cause and route ------------------------------------------------
  {
    const s = section(
      'exits',
      'Traps and hypercalls by cause and route',
      'Per VM, how many exits each handler took, split by the route the dispatcher chose (interpreter routine or allocator) and how the hypervisor was reached (an exit, or a call from translated code).',
    );
    const withExits = data.vms.filter((v) => Object.keys(v.exitRoutes).length > 0);
    if (withExits.length === 0) s.append(el('p', { text: 'No trap or hypercall in this run.' }));
    else {
      const pick = el('select', { id: 'exits-vm' });
      for (const v of withExits) pick.append(el('option', { value: v.id, text: v.id }));
      s.append(el('label', {}, 'VM ', pick));
      const c = chartDiv(s, 'exits');
      charts.exits = c;
      const draw = () => {
        const v = withExits.find((x) => x.id === pick.value);
        const byCause = new Map();
        const routes = new Set();
        for (const [key, n] of Object.entries(v.exitRoutes)) {
          const [kind, cause, route] = key.split(' ');
          const k = `${kind} ${cause}`;
          routes.add(route);
          if (!byCause.has(k)) byCause.set(k, {});
          byCause.get(k)[route] = (byCause.get(k)[route] || 0) + n;
        }
        const causes = [...byCause.entries()]
          .map(([k, r]) => [k, Object.values(r).reduce((a, x) => a + x, 0)])
          .sort((a, b) => b[1] - a[1])
          .slice(0, 30)
          .map(([k]) => k);
        c.getDom().style.height = `${Math.max(160, 70 + 22 * causes.length)}px`;
        c.resize();
        c.setOption(
          {
            animation: false,
            grid: { left: 260, right: 30, top: 36, bottom: 30 },
            legend: { top: 4 },
            tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
            xAxis: { type: 'value', name: 'count' },
            yAxis: { type: 'category', data: causes, inverse: true },
            series: [...routes].sort().map((r) => ({ name: r, type: 'bar', stack: 'all', data: causes.map((k) => byCause.get(k)[r] || 0) })),
          },
          true,
        );
      };
      pick.addEventListener('change', draw);
      draw();
    }
  }

  // ---- Techniques side by side ----------------------------------------------------------------
  if (data.techniques.length > 0) {
    const s = section(
      'techniques',
      'Techniques against native',
      "The same guest under each technique, each VM with a pCPU of its own: its CPU time over the native run's (1 = no overhead).",
    );
    const c = chartDiv(s, 'techniques');
    c.setOption({
      animation: false,
      grid: { left: 160, right: 60, top: 20, bottom: 30 },
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (x) => `× ${x.toFixed(3)}` },
      xAxis: { type: 'value', name: '× native' },
      yAxis: { type: 'category', inverse: true, data: data.techniques.map((t) => `${t.vm} (${t.technique})`) },
      series: [
        {
          type: 'bar',
          label: { show: true, position: 'right', formatter: (p) => `× ${p.value.toFixed(2)}` },
          data: data.techniques.map((t) => ({ value: t.overhead, itemStyle: { color: colorOf(t.vm) } })),
        },
      ],
    });
    charts.techniques = c;
    const t = el('table', {}, el('tr', {}, ...['VM', 'technique', 'CPU time', '× native', 'exits'].map((h) => el('th', { text: h }))));
    for (const r of data.techniques) {
      t.append(
        el(
          'tr',
          {},
          el('td', { text: r.vm }),
          el('td', { text: r.technique }),
          el('td', { class: 'num', text: exact(r.cpuNs) }),
          el('td', { class: 'num', text: r.overhead.toFixed(3) }),
          el('td', { class: 'num', text: String(r.exits) }),
        ),
      );
    }
    s.append(t);
  }

  // ---- For tests and users: the charts and what they show --------------------------------------
  /** The Gantt's run-segment bars as drawn: {pcpu, startNs, ns, vm, vcpu}. */
  function ganttBars(hostId) {
    const opt = charts.gantt[hostId].getOption();
    const series = opt.series.find((x) => x.id === 'segments');
    return series.data.map((v) => ({ pcpu: v[0] - 1, startNs: v[1], ns: v[3], vm: S[v[4]], vcpu: v[5] }));
  }
  /** The time range the Gantt's x axis shows now, [start, end] ns. */
  function visibleRange(hostId) {
    const axis = charts.gantt[hostId].getModel().getComponent('xAxis', 0).axis;
    return axis.scale.getExtent();
  }
  function zoom(hostId, startNs, endNs) {
    charts.gantt[hostId].dispatchAction({ type: 'dataZoom', dataZoomIndex: 0, startValue: startNs, endValue: endNs });
  }
  window.addEventListener('resize', () => {
    for (const c of [
      ...Object.values(charts.gantt),
      ...Object.values(charts.share),
      charts.runstates,
      charts.latency,
      charts.exits,
      charts.techniques,
    ])
      c?.resize();
  });
  window.vsimReport = { data, charts, ganttBars, visibleRange, zoom, ready: true };
})();
