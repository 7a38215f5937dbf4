// Trace-driven VMs (docs/replay.md): a run is recorded (its event log), its demand extracted
// (extractTraces), and every VM replayed (`kind: replay`) without executing an instruction.
// - Under the SAME scheduler the replay reproduces the recording: the whole event log is equal,
//   so its hash too — and, stated separately, each vCPU's schedule (its `schedule` and `run`
//   events: time, pCPU, length) and runstate changes (`block`, `wake`, `halt`: time and value).
// - Under another scheduler (credit2) the schedule differs, and the replay still completes: every
//   VM that ended in the recording ends, after the same pCPU time.
// - A mixed cluster: instruction-level VMs run beside replayed ones.
// - A bad trace is refused before anything runs, naming the field.

import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { parseScenario, ScenarioError } from '@vsim/scenario';
import type { Event } from '@vsim/proto';
import { checkVmImage, extractTraces, runEmbedded, simSpecFromScenario } from '@vsim/control';
import { readFileSync } from 'fs';

const BIN = resolve(__dirname, '../../../guests/rv32/bin');
const DIR = mkdtempSync(join(tmpdir(), 'vsim-replay-'));

/** A Credit host with two CPU-bound Linux programs, a sleeper and a short kernel sharing two pCPUs. */
const VMS = [
  { id: 'cpu1', kind: 'linux', image: 'checksum.elf', args: ['1000'] },
  { id: 'cpu2', kind: 'linux', image: 'checksum.elf', args: ['1000'], sched: '{ weight: 512 }' },
  { id: 'sleeper', kind: 'kernel', image: 'sbi-sleeper.elf' },
  { id: 'hello', kind: 'kernel', image: 'sbi-hello.elf' },
];

function scenario(policy: string, vms: (id: string) => string): string {
  return `
name: replay-test
seed: 3
duration: 60ms
clock: 200MHz
trapPath: split
scheduler: { policy: ${policy} }
hosts:
  - { id: h0, pcpus: 2 }
vms:
${VMS.map((v) => `  - { id: ${v.id}, host: h0, memory: 8MiB, ${vms(v.id)}${v.sched ? `, sched: ${v.sched}` : ''} }`).join('\n')}
`;
}

const recorded = (id: string) => {
  const v = VMS.find((x) => x.id === id)!;
  return `kind: ${v.kind}, image: ${BIN}/${v.image}${v.args ? `, args: [${v.args.map((a) => `'${a}'`).join(', ')}]` : ''}`;
};

const check = (image: string, vm: Parameters<typeof checkVmImage>[1]) => checkVmImage(readFileSync(image), vm);

/** Per vCPU, what the schedule and its runstates were: the events compared, as lines. */
function schedule(events: readonly Event[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const e of events) {
    if (!e.vm || e.vcpu < 0 || !['schedule', 'run', 'block', 'wake', 'halt', 'fault'].includes(e.kind)) continue;
    const key = `${e.vm}/${e.vcpu}`;
    if (!out.has(key)) out.set(key, []);
    out.get(key)!.push(`${e.timeNs} ${e.source} ${e.kind} p${e.pcpu} ${e.value}`);
  }
  return out;
}

describe('trace-driven VMs (kind replay)', () => {
  let trace = '';
  let recording: Awaited<ReturnType<typeof runEmbedded>>;

  beforeAll(async () => {
    recording = await runEmbedded(simSpecFromScenario(parseScenario(scenario('credit', recorded))));
    trace = join(DIR, 'run.trace.json');
    writeFileSync(trace, JSON.stringify(extractTraces(recording.log.all(), { recordedHash: recording.result.eventLogHash })));
  });

  const replayed = (id: string) => `kind: replay, image: ${trace}, args: [${id}]`;

  it('under the same scheduler reproduces the recorded schedule, runstates and event log', async () => {
    const { result, log } = await runEmbedded(simSpecFromScenario(parseScenario(scenario('credit', replayed), { checkImage: check })));
    const want = schedule(recording.log.all());
    const got = schedule(log.all());
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [vcpu, lines] of want) expect({ vcpu, lines: got.get(vcpu) }).toEqual({ vcpu, lines });
    // The recording had all of it: CPU-bound vCPUs sharing pCPUs, a sleeper blocking and waking, VMs ending.
    expect(want.get('sleeper/0')!.filter((l) => l.includes(' block ')).length).toBeGreaterThan(3);
    expect(want.get('hello/0')!.some((l) => l.includes(' halt '))).toBe(true);
    expect(log.size).toBe(recording.log.size);
    expect(result.eventLogHash).toBe(recording.result.eventLogHash);
    // Nothing was executed.
    for (const v of result.vms) expect(v.instructions).toBe(0);
  });

  it('under another scheduler (credit2) gives a different schedule and still completes', async () => {
    const { result, log } = await runEmbedded(simSpecFromScenario(parseScenario(scenario('credit2', replayed))));
    expect(result.eventLogHash).not.toBe(recording.result.eventLogHash);
    const want = schedule(recording.log.all());
    const got = schedule(log.all());
    expect([...want].some(([k, lines]) => JSON.stringify(got.get(k)) !== JSON.stringify(lines))).toBe(true);
    // The VM that ended in the recording ends, having had the same pCPU time (its demand).
    const vm = (r: typeof result, id: string) => r.vms.find((v) => v.id === id)!;
    expect(vm(recording.result, 'hello').state).toBe('halted');
    expect(vm(result, 'hello').state).toBe('halted');
    expect(vm(result, 'hello').cpuNs).toBe(vm(recording.result, 'hello').cpuNs);
    expect(vm(result, 'hello').console).toBe(vm(recording.result, 'hello').console);
    // The sleeper never has more than its recorded demand: it computes, blocks and wakes as recorded.
    expect(vm(result, 'sleeper').cpuNs).toBeGreaterThan(0);
    expect(vm(result, 'sleeper').cpuNs).toBeLessThanOrEqual(vm(recording.result, 'sleeper').cpuNs);
    expect(vm(recording.result, 'sleeper').console.startsWith(vm(result, 'sleeper').console)).toBe(true);
    // The CPU-bound ones ran until the end.
    for (const id of ['cpu1', 'cpu2']) expect(result.vms.find((v) => v.id === id)!.cpuNs).toBeGreaterThan(10e6);
  });

  it('mixes instruction-level VMs with replayed ones', async () => {
    const mixed = (id: string) => (id === 'cpu1' || id === 'hello' ? recorded(id) : replayed(id));
    const { result } = await runEmbedded(simSpecFromScenario(parseScenario(scenario('credit', mixed), { checkImage: check })));
    const byId = new Map(result.vms.map((v) => [v.id, v]));
    expect(byId.get('cpu1')!.instructions).toBeGreaterThan(0);
    expect(byId.get('cpu2')!.instructions).toBe(0);
    expect(byId.get('hello')!.state).toBe('halted');
    expect(byId.get('sleeper')!.state).toBe(recording.result.vms.find((v) => v.id === 'sleeper')!.state);
    // Same VMs, same demand, same scheduler: the schedule is the recorded one.
    expect(result.eventLogHash).toBe(recording.result.eventLogHash);
  });

  it('refuses a bad trace before anything runs, naming the field', () => {
    const bad = join(DIR, 'bad.trace.json');
    const parse = (vm: string) =>
      parseScenario(
        scenario('credit', (id) => (id === 'hello' ? vm : replayed(id))),
        { checkImage: check },
      );
    const fails = (vm: string) => {
      try {
        parse(vm);
      } catch (e) {
        expect(e).toBeInstanceOf(ScenarioError);
        return (e as Error).message;
      }
      throw new Error('no error');
    };
    writeFileSync(bad, JSON.stringify({ format: 'vsim-demand-trace', version: 9, vms: [] }));
    expect(fails(`kind: replay, image: ${bad}, args: [hello]`)).toMatch(/vms\[3\]\.image.*version: this vsim reads version 1, got 9/);
    writeFileSync(
      bad,
      JSON.stringify({
        format: 'vsim-demand-trace',
        version: 1,
        vms: [{ vm: 'hello', host: 'h0', vcpus: [{ ops: [5, ['jump', '', '', 0, '', '']], end: 'ended' }] }],
      }),
    );
    expect(fails(`kind: replay, image: ${bad}`)).toMatch(/vms\[3\]\.image.*vms\[0\]\.vcpus\[0\]\.ops\[1\]\[0\] \(kind\): must be one of/);
    expect(fails(`kind: replay, image: ${trace}, args: [nosuch]`)).toMatch(/vms\[3\]\.image.*no VM 'nosuch'/);
    expect(fails(`kind: replay, image: ${trace}, args: [hello], vcpus: 2`)).toMatch(
      /vms\[3\]\.image.*has 1 vCPU\(s\); give the replayed VM vcpus: 1/,
    );
    expect(fails(`kind: replay, image: ${trace}, args: [hello, world]`)).toMatch(/vms\[3\]\.args.*one argument/);
  });
});
