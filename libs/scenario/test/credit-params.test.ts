// Credit's BOOST and accounting phase are scenario parameters (issue 14 item 13): the policy has
// both, and a scenario can now set them; an accounting phase may not come after the first slice.

import { edited, imageDir, issuesOf, minimal, parse } from './helpers';

const dir = imageDir();
const credit = (params: object) => edited(minimal(), (o) => (o.scheduler = { policy: 'credit', params }));

test('boost and acctPhase are read, in their units', () => {
  const s = parse(credit({ boost: false, acctPhase: '5ms' }), dir);
  expect(s.scheduler.params).toMatchObject({ boost: false, acctPhase: 5e6 });
});

test('left out, they stay absent (the policy defaults: BOOST on, accounting at tslice / 2)', () => {
  const p = parse(credit({}), dir).scheduler.params as Record<string, unknown>;
  expect(p.boost).toBeUndefined();
  expect(p.acctPhase).toBeUndefined();
});

test.each([
  [{ acctPhase: '40ms' }, 'scheduler.params.acctPhase', 'tslice'],
  [{ tslice: '10ms', acctPhase: '12ms' }, 'scheduler.params.acctPhase', 'tslice'],
  [{ boost: 'yes' }, 'scheduler.params.boost', 'true or false'],
])('refuses %j at %s', (params, path, fragment) => {
  const issues = issuesOf(credit(params), dir);
  expect(issues.find((i) => i.path === path)?.message).toContain(fragment);
});
