// The SimulationResult converter (proto-result.ts): a real run's results (cpupools, scheduling
// metrics, exits, a `set` action's parameters) survive SimResult -> message -> wire -> message ->
// SimResult, so `vsim run --json` prints the same document from a remote run as from an embedded one.

import { resolve } from 'path';
import { loadScenario } from '@vsim/scenario';
import { SimulationResult } from '@vsim/proto';
import { runEmbedded, simSpecFromScenario } from '../src';
import { simResultOf, simulationResultMessage } from '../src/proto-result';

const EXAMPLES = resolve(__dirname, '../../../examples');

/** As `vsim run --json` writes it: keys with undefined values dropped. */
const doc = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

describe('SimulationResult converter', () => {
  it('round-trips the cpupools example: hosts with pools, per-VM metrics, exits and parameters', async () => {
    const { result } = await runEmbedded(simSpecFromScenario(loadScenario(resolve(EXAMPLES, 'cpupools.yaml'))));
    expect(result.hosts.some((h) => (h.pools ?? []).length > 0)).toBe(true);
    expect(result.vms.some((v) => v.sched !== undefined && Object.keys(v.exits).length > 0)).toBe(true);
    const m = SimulationResult.decode(SimulationResult.encode(simulationResultMessage('sim-1', result, 1.5)).finish());
    expect(m.eventLogHash).toBe(result.eventLogHash);
    expect(doc(simResultOf(m))).toEqual(doc({ ...result, wallSeconds: 1.5 }));
  }, 120_000);

  it('names the field at fault in a message it cannot read', () => {
    const base = simulationResultMessage('s', {
      name: 'x',
      seed: 1,
      durationNs: 1,
      trapPath: 'split',
      scheduler: { policy: 'credit', params: {} },
      hosts: [],
      vms: [],
      events: 0,
      eventLogHash: '',
    });
    expect(() => simResultOf({ ...base, trapPath: 'sideways' })).toThrow('result.trap_path: expected one of split, remote, got "sideways"');
    expect(() => simResultOf({ ...base, scheduler: undefined })).toThrow('result.scheduler: names no policy');
  });
});
