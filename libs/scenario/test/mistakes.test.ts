// Scenario mistakes that used to pass silently (issue 14 item 8): each gets a line — an error where
// the value cannot mean what was meant, a warning where it is merely without effect, and a hint
// naming the right place for a key written one level off.

import { parseScenario, ScenarioError, ScenarioIssue } from '@vsim/scenario';
import { edited, imageDir, minimal, yaml } from './helpers';

const dir = imageDir();

/** The errors (as `path: message`) and warnings of a scenario object. */
function lines(obj: unknown): { errors: string[]; warnings: string[] } {
  const warnings: string[] = [];
  const show = (i: ScenarioIssue) => `${i.path}: ${i.message}`;
  try {
    parseScenario(yaml(obj), { baseDir: dir, onWarnings: (w) => warnings.push(...w.map(show)) });
    return { errors: [], warnings };
  } catch (e) {
    if (!(e instanceof ScenarioError)) throw e;
    return { errors: e.issues.map(show), warnings };
  }
}

describe('times need a unit', () => {
  it('a bare duration is an error with the unit to add; with a space the unit reads as written', () => {
    expect(lines(edited(minimal(), (o) => (o.duration = 200))).errors).toEqual([
      'duration: 200 has no unit: write 200ms (or 200ns, 200us, 200s); a time needs one',
    ]);
    expect(lines(edited(minimal(), (o) => (o.actions = [{ at: 5, pause: { vm: 'web' } }]))).errors).toEqual([
      'actions[0].at: 5 has no unit: write 5ms (or 5ns, 5us, 5s); a time needs one',
    ]);
    expect(lines(edited(minimal(), (o) => (o.duration = '200 ms')))).toEqual({ errors: [], warnings: [] });
    expect(lines(edited(minimal(), (o) => (o.actions = [{ at: 0, pause: { vm: 'web' } }])))).toEqual({ errors: [], warnings: [] });
  });
});

describe('keys without effect under the VM’s policies are warnings', () => {
  const withSched = (scheduler: object, sched: object, actions: object[] = []) =>
    edited(minimal(), (o) => ((o.scheduler = scheduler), (o.vms[0].sched = sched), (o.actions = actions)));

  it('cap under round robin; SEDF period and slice under Credit', () => {
    expect(lines(withSched({ policy: 'round-robin' }, { cap: 10 }))).toEqual({
      errors: [],
      warnings: ['vms[0].sched.cap: has no effect: web runs under round-robin, and only credit and credit2 read cap'],
    });
    expect(lines(withSched({ policy: 'credit' }, { period: '20ms', slice: '5ms', weight: 512 })).warnings).toEqual([
      'vms[0].sched.period: has no effect: web runs under credit, and only sedf and rtds read period',
      'vms[0].sched.slice: has no effect: web runs under credit, and only sedf reads slice',
    ]);
  });

  it('a key some policy of the run reads is used: a swapScheduler to it, or the VM’s pool', () => {
    expect(lines(withSched({ policy: 'round-robin' }, { weight: 512 }, [{ at: '10ms', swapScheduler: { policy: 'credit' } }]))).toEqual({
      errors: [],
      warnings: [],
    });
    const pooled = edited(minimal(), (o) => {
      o.hosts = [{ id: 'h0', pcpus: 2, pools: [{ id: 'rt', pcpus: [1], scheduler: { policy: 'rtds' } }] }];
      o.vms[0] = { ...o.vms[0], host: 'h0', sched: { pool: 'rt', budget: '2ms', period: '5ms', weight: 9 } };
    });
    expect(lines(pooled)).toEqual({
      errors: [],
      warnings: ['vms[0].sched.weight: has no effect: web runs under rtds, and only credit and credit2 read weight'],
    });
  });
});

describe('keys one level off get a hint naming the right place', () => {
  it('a VM’s weight beside its id, a scheduler parameter beside policy, the policy at the top', () => {
    const o = edited(minimal(), (x) => {
      x.policy = 'credit';
      x.tslice = '5ms';
      x.scheduler = { policy: 'credit', tslice: '5ms' };
      x.vms[0].weight = 512;
    });
    expect(lines(o).errors.sort()).toEqual(
      [
        "policy: unknown key; the scheduler's keys go under scheduler: did you mean scheduler.policy?",
        'tslice: unknown key; credit parameters go under scheduler.params: did you mean scheduler.params.tslice?',
        'scheduler.tslice: unknown key; parameters go under params: did you mean params.tslice?',
        'vms[0].weight: unknown key; scheduling parameters go under sched: did you mean sched.weight?',
      ].sort(),
    );
  });
});
