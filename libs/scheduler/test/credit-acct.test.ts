// Where Credit debits the time run (issue 14 item 13): credit.c calls burn_credits only at the
// pCPU's tick (csched_unit_acct) and at csched_schedule, so csched_acct shares credit out with a
// running vCPU's credit as last debited, not charged up to the accounting instant. The policy is
// driven by hand here, as the host loop drives it: charge() after each run segment, then schedule().
// Also: BOOST and the accounting phase reach the policy from scenario parameters (makePolicy).

import { CreditPolicy, makePolicy } from '@vsim/scheduler';

const MS = 1_000_000;
const A = { vm: 'a', vcpu: 0, key: 'a/0' };

/** One VM alone on one pCPU: tslice 30 ms (ticks every 10 ms), accounting at 15, 45, ... ms. */
function alone(): CreditPolicy {
  const p = new CreditPolicy(1, { tslice: 30 * MS, acctPhase: 15 * MS, ratelimit: 0 });
  p.add(A, {}, 0);
  expect(p.schedule(0).run[0]).toEqual(expect.objectContaining({ key: 'a/0' }));
  p.charge(A, 10 * MS, 10 * MS);
  p.schedule(10 * MS); // the tick at 10 ms debits 10 ms (100 credits)
  return p;
}

const credit = (p: CreditPolicy) => p.inspect('a/0')!.credit;

describe('Credit debits where credit.c calls burn_credits', () => {
  it('csched_acct sees the credit as of the last tick: the 5 ms run since are not debited first', () => {
    const charged = alone();
    const notCharged = alone();
    charged.charge(A, 5 * MS, 15 * MS); // the segment 10-15 ms ends at the accounting instant
    charged.schedule(15 * MS);
    notCharged.schedule(15 * MS);
    expect(credit(charged)).toBe(credit(notCharged));
    // The next tick (20 ms) debits all 10 ms run since the last one: 5 ms before accounting, 5 after.
    const before = credit(charged);
    charged.charge(A, 5 * MS, 20 * MS);
    charged.schedule(20 * MS);
    expect(credit(charged)).toBe(before - 100);
  });

  it('a schedule debits the outgoing vCPU at once (csched_schedule), before it picks', () => {
    const p = new CreditPolicy(1, { tslice: 30 * MS, acctPhase: 15 * MS, ratelimit: 0 });
    p.add(A, {}, 0);
    p.schedule(0);
    const before = credit(p);
    p.charge(A, 3 * MS, 3 * MS);
    p.sleep(A, 3 * MS); // it blocks: SCHEDULE_SOFTIRQ on its pCPU
    expect(p.schedule(3 * MS).run[0]).toBeNull();
    expect(credit(p)).toBe(before - 30);
  });
});

describe('BOOST and the accounting phase from scenario parameters', () => {
  it('makePolicy passes boost and acctPhase to the Credit policy', () => {
    const p = makePolicy({ policy: 'credit', params: { tslice: 30 * MS, boost: false, acctPhase: 5 * MS } }, 2) as CreditPolicy;
    expect(p.boost).toBe(false);
    expect(p.acctPhase).toBe(5 * MS);
    const d = makePolicy({ policy: 'credit', params: {} }, 2) as CreditPolicy;
    expect(d.boost).toBe(true);
    expect(d.acctPhase).toBe(15 * MS);
  });

  it('refuses an accounting phase later than tslice', () => {
    expect(() => makePolicy({ policy: 'credit', params: { tslice: 10 * MS, acctPhase: 12 * MS } }, 1)).toThrow(/acctPhase/);
  });
});
