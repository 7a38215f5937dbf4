// `vsim top`'s rows for a frame of the live stream: CPU(%) over the virtual time the VM's host
// advanced since the last frame, SHARE(%) over the host's capacity so far.

import { TopFrame, renderFrame } from '../src/top/render';

const frame = (nowNs: number, cpuNs: number): TopFrame => ({
  sim: 's1',
  name: 'demo',
  state: 'running',
  durationNs: 1e9,
  hosts: [{ host: 'h0', pcpus: 2, nowNs }],
  vms: [
    { vm: 'web', host: 'h0', vcpus: 1, cpuNs, state: 'running' },
    { vm: 'idle', host: 'h0', vcpus: 2, cpuNs: 0, state: 'blocked' },
  ],
  traps: { 'trap sbi.time.set_timer': 10, 'hypercall yield': 5 },
  wallMs: 500,
});

describe('vsim top rows', () => {
  it('a header, the columns, one row per VM', () => {
    const lines = renderFrame(frame(10e6, 5e6), frame(5e6, 1e6));
    expect(lines[0]).toBe('vsim top - s1 demo running  h0 10.000/1000.000 ms  traps/s 30');
    expect(lines[1].split(/\s+/)).toEqual(['VM', 'HOST', 'STATE', 'VCPUS', 'CPU(ms)', 'CPU(%)', 'SHARE(%)']);
    // web: 4 ms of CPU in the 5 ms its host advanced (80 %); 5 ms of 2 pCPUs x 10 ms so far (25 %).
    expect(lines[2].split(/\s+/)).toEqual(['web', 'h0', 'running', '1', '5.000', '80.0', '25.0']);
    expect(lines[3].split(/\s+/)).toEqual(['idle', 'h0', 'blocked', '2', '0.000', '0.0', '0.0']);
  });

  it('the first frame counts from zero', () => {
    expect(renderFrame(frame(10e6, 5e6), undefined)[2].split(/\s+/)[5]).toBe('50.0');
  });
});
