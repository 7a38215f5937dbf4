import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { COST_DEFAULTS, EXPANSION_DEFAULTS, loadScenario, parseScenario, Scenario, ScenarioError } from '@vsim/scenario';
import { brokenPromises, edited, imageDir, minimal, parse, rich, yaml } from './helpers';

const dir = imageDir();

describe('a minimal scenario gets every default', () => {
  let s: Scenario;
  beforeAll(() => {
    s = parse(minimal(), dir);
  });

  test('top level', () => {
    expect(s).toMatchObject({
      name: 'test', // from the file name test.yaml
      seed: 1,
      duration: 200_000_000,
      clock: 1_000_000_000,
      trapPath: 'split',
      scheduler: { policy: 'round-robin', params: { timeslice: 10_000_000 } },
      actions: [],
    });
    expect(s.file).toBe(join(process.cwd(), 'test.yaml'));
  });

  test('hosts', () => {
    expect(s.hosts).toEqual([
      {
        id: 'h0',
        pcpus: 2,
        isa: 'rv32',
        clock: 1_000_000_000,
        quantum: 10_000,
        costs: { ...COST_DEFAULTS },
        pools: [],
        expansion: { ...EXPANSION_DEFAULTS },
      },
    ]);
  });

  test('vms', () => {
    expect(s.vms).toEqual([
      {
        id: 'web',
        host: null,
        vcpus: 1,
        memory: 4 * 1024 * 1024,
        image: join(dir, 'guests', 'a.elf'),
        args: [],
        kind: 'kernel',
        engine: 'bt',
        technique: 'paravirt',
        isa: 'rv32',
        // slice, period and budget stay unset: the policy running the VM supplies its own defaults
        sched: { weight: 256, cap: 0, extra: true, extratime: true, pin: null },
      },
    ]);
  });

  test('it keeps every promise', () => {
    expect(brokenPromises(s)).toEqual([]);
  });

  test('the name is "scenario" when there is no file', () => {
    expect(parseScenario(yaml(minimal()), { baseDir: dir }).name).toBe('scenario');
    expect(parseScenario(yaml(minimal()), { baseDir: dir }).file).toBeNull();
  });

  test('scheduler params default per policy', () => {
    const credit = parse(
      edited(minimal(), (o) => (o.scheduler = { policy: 'credit' })),
      dir,
    );
    expect(credit.scheduler).toEqual({ policy: 'credit', params: { tslice: 30_000_000, ratelimit: 1_000_000, accounting: 'precise' } });
    const sedf = parse(
      edited(minimal(), (o) => (o.scheduler = { policy: 'sedf', params: null })),
      dir,
    );
    expect(sedf.scheduler).toEqual({ policy: 'sedf', params: {} });
  });

  test('empty values mean "use the default"', () => {
    const s2 = parseScenario('duration: 1ms\nseed:\nhosts: [{id: h0, pcpus: 1}]\nvms:\n  - {id: a, memory: 4KiB, image: guests/a.elf, host: }\n', {
      baseDir: dir,
    });
    expect(s2.seed).toBe(1);
    expect(s2.vms[0]!.host).toBeNull();
  });
});

describe('a rich scenario', () => {
  let s: Scenario;
  beforeAll(() => {
    s = parse(rich(), dir);
  });

  test('is normalised', () => {
    expect(s.name).toBe('rich');
    expect(s.seed).toBe(42);
    expect(s.scheduler).toEqual({ policy: 'credit', params: { tslice: 30_000_000, ratelimit: 1_000_000, accounting: 'tick' } });
    expect(s.hosts.map((h) => h.clock)).toEqual([1e9, 2e9]);
    expect(s.vms[0]!.sched).toMatchObject({ weight: 512, cap: 150, pin: [[0, 1], [1]] });
    expect(s.vms[1]).toMatchObject({
      host: 'h1',
      kind: 'linux',
      args: ['-n', '3'],
      engine: 'direct',
      technique: 'trap-and-emulate',
      memory: 8 << 20,
    });
    expect(s.vms[2]).toMatchObject({ host: null, memory: 65536, sched: { slice: 5e6, period: 20e6, budget: 2e6, extra: false, extratime: false } });
    expect(brokenPromises(s)).toEqual([]);
  });

  test('actions are a discriminated union in virtual time', () => {
    expect(s.actions).toEqual([
      { kind: 'set', at: 50e6, vm: 'web', params: { weight: 1024 } },
      { kind: 'pause', at: 100e6, vm: 'db' },
      { kind: 'swapScheduler', at: 120e6, scheduler: { policy: 'round-robin', params: { timeslice: 5e6 } } },
      { kind: 'unpause', at: 150e6, vm: 'db' },
      { kind: 'killHost', at: 150e6, host: 'h1' },
    ]);
  });

  test('parsing is deterministic', () => {
    expect(parse(rich(), dir)).toEqual(s);
  });
});

describe('values', () => {
  test('plain numbers are Hz and bytes; a time needs a unit, except 0', () => {
    const s = parse(
      edited(minimal(), (o) => {
        o.duration = '1000ns';
        o.clock = 50_000_000;
        o.vms[0].memory = 8192;
        o.actions = [{ at: 0, pause: { vm: 'web' } }];
      }),
      dir,
    );
    expect(s.duration).toBe(1000);
    expect(s.clock).toBe(5e7);
    expect(s.vms[0]!.memory).toBe(8192);
    expect(s.actions[0]!.at).toBe(0);
  });

  test('an action may happen exactly at the end of the run', () => {
    const s = parse(
      edited(minimal(), (o) => (o.actions = [{ at: '200ms', pause: { vm: 'web' } }])),
      dir,
    );
    expect(s.actions[0]!.at).toBe(s.duration);
  });

  test('numbers in args are taken as text', () => {
    const s = parse(
      edited(minimal(), (o) => Object.assign(o.vms[0], { kind: 'linux', args: [10, 'x'] })),
      dir,
    );
    expect(s.vms[0]!.args).toEqual(['10', 'x']);
  });

  test('images are resolved against baseDir, then against the file, then the working directory', () => {
    const file = join(dir, 'scenario.yaml');
    writeFileSync(file, yaml(minimal()));
    const s = loadScenario(file);
    expect(s.vms[0]!.image).toBe(join(dir, 'guests', 'a.elf'));
    expect(s.name).toBe('scenario');
    expect(s.file).toBe(file);
    const abs = edited(minimal(), (o) => (o.vms[0].image = join(dir, 'guests', 'b.elf')));
    expect(parseScenario(yaml(abs)).vms[0]!.image).toBe(join(dir, 'guests', 'b.elf'));
  });

  test('checkImage can veto an image', () => {
    const seen: string[] = [];
    const check = (image: string, vm: { id: string; memory: number }) => {
      seen.push(`${vm.id}:${vm.memory}`);
      return vm.memory < 1 << 20 ? `needs 1MiB, the VM has ${vm.memory} bytes` : undefined;
    };
    const text = yaml(edited(minimal(), (o) => (o.vms[0].memory = '64KiB')));
    expect(() => parseScenario(text, { baseDir: dir, checkImage: check })).toThrow('vms[0].image: needs 1MiB, the VM has 65536 bytes');
    expect(seen).toEqual(['web:65536']);
    expect(parseScenario(yaml(minimal()), { baseDir: dir, checkImage: check }).vms).toHaveLength(1);
  });

  test('a file that cannot be read is a ScenarioError', () => {
    const missing = join(dir, 'nope.yaml');
    expect(() => loadScenario(missing)).toThrow(ScenarioError);
    expect(() => loadScenario(missing)).toThrow(`${missing}: cannot read the scenario: file not found`);
    expect(() => loadScenario(dir)).toThrow('is a directory');
  });
});
