// Test support for @vsim/report: runs an example scenario in this process, once per test file.

import { resolve } from 'path';
import type { Event } from '@vsim/proto';
import { runEmbedded, simSpecFromScenario, SimResult } from '@vsim/control';
import { loadScenario } from '@vsim/scenario';

export const ROOT = resolve(__dirname, '../../..');

const runs = new Map<string, Promise<{ result: SimResult; events: readonly Event[] }>>();

/** examples/NAME.yaml run embedded: its results and canonical event log. */
export function runExample(name: string): Promise<{ result: SimResult; events: readonly Event[] }> {
  let r = runs.get(name);
  if (!r) {
    r = runEmbedded(simSpecFromScenario(loadScenario(`${ROOT}/examples/${name}.yaml`))).then(({ result, log }) => ({ result, events: log.all() }));
    runs.set(name, r);
  }
  return r;
}
