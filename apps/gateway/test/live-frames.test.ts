// What the live view folds from an event stream (dashboard/live-frames.ts): each host's virtual
// time, the run segments since the last frame, each VM's CPU time (the sum of its run segments)
// and state, traps by cause since the last frame.

import { Event } from '@vsim/proto';
import { twoHostSpec } from '@vsim/testkit';
import { LiveFrames, MAX_SEGMENTS_PER_FRAME } from '../src/dashboard/live-frames';

const spec = twoHostSpec();
const [a, b] = spec.vms;
const ev = (p: Partial<Event> & Pick<Event, 'kind'>) => Event.fromPartial({ pcpu: -1, vcpu: -1, ...p });

describe('LiveFrames', () => {
  it('folds run segments, CPU time, states and traps, and starts each frame afresh', () => {
    const f = new LiveFrames('s1', spec);
    const host = a.host!;
    f.add([
      ev({ kind: 'run', host, vm: a.id, vcpu: 0, pcpu: 0, timeNs: 0, value: 3000 }),
      ev({ kind: 'trap', host, vm: a.id, cause: 'sbi.time.set_timer', timeNs: 2500 }),
      ev({ kind: 'trap', host, vm: a.id, cause: 'sbi.time.set_timer', timeNs: 2600 }),
      ev({ kind: 'hypercall', host, vm: a.id, cause: 'yield', timeNs: 2700 }),
      ev({ kind: 'block', host, vm: a.id, timeNs: 2900 }),
      ev({ kind: 'run', host, vm: a.id, vcpu: 0, pcpu: 1, timeNs: 5000, value: 1000 }),
    ]);
    const one = f.frame('running');
    expect(one.hosts.find((h) => h.host === host)!.nowNs).toBe(6000);
    expect(one.segments).toEqual([
      [host, 0, a.id, 0, 0, 3000],
      [host, 1, a.id, 0, 5000, 1000],
    ]);
    expect(one.vms.find((v) => v.vm === a.id)).toMatchObject({ cpuNs: 4000, state: 'blocked' });
    expect(one.vms.find((v) => v.vm === b.id)).toMatchObject({ cpuNs: 0, state: 'runnable' });
    expect(one.traps).toEqual({ 'trap sbi.time.set_timer': 2, 'hypercall yield': 1 });
    expect(one.wallMs).toBeGreaterThan(0);
    const two = f.frame('running');
    expect([two.segments, two.traps]).toEqual([[], {}]);
    f.add([
      ev({ kind: 'trap', host, vm: a.id, cause: 'x', timeNs: 7000 }),
      ev({ kind: 'run', host, vm: b.id, vcpu: 0, pcpu: 0, timeNs: 7000, value: 5 }),
    ]);
    f.startRates(); // the history's traps are no rate; its segments stay
    const three = f.frame('running');
    expect(three.traps).toEqual({});
    expect(three.segments).toHaveLength(1);
    expect(two.vms.find((v) => v.vm === a.id)!.cpuNs).toBe(4000); // cumulative
  });

  it('keeps the newest segments when a frame would hold too many', () => {
    const f = new LiveFrames('s1', spec);
    const n = MAX_SEGMENTS_PER_FRAME + 10;
    f.add(Array.from({ length: n }, (_, i) => ev({ kind: 'run', host: a.host!, vm: a.id, vcpu: 0, pcpu: 0, timeNs: i * 10, value: 10 })));
    const frame = f.frame('running');
    expect(frame.segments).toHaveLength(MAX_SEGMENTS_PER_FRAME);
    expect(frame.segments[frame.segments.length - 1][4]).toBe((n - 1) * 10);
    expect(frame.vms.find((v) => v.vm === a.id)!.cpuNs).toBe(n * 10);
  });
});
