import { readFileSync } from 'node:fs';
import { describeScenarioFormat } from '@vsim/scenario';
import { README, referenceSection } from '../src/readme';

test('README.md holds the current format reference (regenerate: npx tsx libs/scenario/src/readme.ts)', () => {
  const section = referenceSection(readFileSync(README, 'utf8'));
  expect(section).toBeDefined();
  expect(section).toBe(describeScenarioFormat());
});

test('the reference covers every key of every section', () => {
  const doc = describeScenarioFormat();
  for (const heading of [
    'Top level',
    '`scheduler`',
    '`scheduler.params` for `policy: credit`',
    '`hosts[]`',
    '`vms[]`',
    '`vms[].sched`',
    '`actions[]`',
  ]) {
    expect(doc).toContain(`### ${heading}`);
  }
  for (const key of [
    'seed',
    'duration',
    'trapPath',
    'timeslice',
    'tslice',
    'ratelimit',
    'accounting',
    'pcpus',
    'quantum',
    'vcpus',
    'memory',
    'image',
    'args',
    'kind',
    'engine',
    'technique',
    'weight',
    'cap',
    'slice',
    'period',
    'extra',
    'budget',
    'extratime',
    'pin',
    'at',
  ]) {
    expect(doc).toMatch(new RegExp(`\\| \`${key}\` \\|`));
  }
  for (const action of ['set', 'pause', 'unpause', 'swapScheduler', 'killHost']) expect(doc).toContain(`| \`${action}\` |`);
});
