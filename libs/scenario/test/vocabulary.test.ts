// The scenario format speaks @vsim/vocabulary's words: `kind: kernel` (the old `sbi` still parses,
// with one deprecation warning), and each policy's parameters with the bounds of the policy
// registry's schema, which the scheduler applies to run-time values too.

import { CREDIT, checkPolicyParams } from '@vsim/vocabulary';
import { parseScenario, ScenarioError, ScenarioIssue } from '@vsim/scenario';
import { edited, imageDir, minimal, yaml } from './helpers';

const dir = imageDir();

function lines(obj: unknown): { errors: string[]; warnings: string[]; kinds: string[] } {
  const warnings: string[] = [];
  const show = (i: ScenarioIssue) => `${i.path}: ${i.message}`;
  try {
    const s = parseScenario(yaml(obj), { baseDir: dir, onWarnings: (w) => warnings.push(...w.map(show)) });
    return { errors: [], warnings, kinds: s.vms.map((v) => v.kind) };
  } catch (e) {
    if (!(e instanceof ScenarioError)) throw e;
    return { errors: e.issues.map(show), warnings, kinds: [] };
  }
}

describe('VM kinds', () => {
  it('kind: kernel is the default; kind: sbi still means kernel, with a one-line deprecation warning', () => {
    expect(lines(minimal())).toEqual({ errors: [], warnings: [], kinds: ['kernel'] });
    expect(lines(edited(minimal(), (o) => (o.vms[0].kind = 'sbi')))).toEqual({
      errors: [],
      warnings: ['vms[0].kind: kind sbi is deprecated: write kind: kernel (the same thing, renamed)'],
      kinds: ['kernel'],
    });
    expect(lines(edited(minimal(), (o) => (o.vms[0].kind = 'kernal'))).errors).toEqual([
      "vms[0].kind: expected one of kernel, linux, replay, got 'kernal' (did you mean kernel?)",
    ]);
  });
});

describe("scheduler parameters have the registry's bounds", () => {
  it('a Credit tslice over 1s and a ratelimit under 100us are refused, as at run time', () => {
    const credit = (params: object) => edited(minimal(), (o) => (o.scheduler = { policy: 'credit', params }));
    expect(lines(credit({ tslice: '5s' })).errors).toEqual(['scheduler.params.tslice: must be 1ms–1s, got 5s']);
    expect(lines(credit({ ratelimit: '50us' })).errors).toEqual(['scheduler.params.ratelimit: must be 0 or 100us–500ms, got 50us']);
    expect(lines(credit({ ratelimit: 0, tslice: '1ms' })).errors).toEqual([]);
    // The same schema at run time (the scheduler's check, in ns).
    expect(checkPolicyParams(CREDIT, { tslice: 5e9 }).map((p) => p.message)).toEqual(['tslice must be 1ms–1s, got 5s']);
    expect(checkPolicyParams(CREDIT, { ratelimit: 0 })).toEqual([]);
  });
});
