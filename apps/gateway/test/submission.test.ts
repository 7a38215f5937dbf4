// parseSubmission: a SimSpec as JSON or a scenario file (YAML), images by the path the scenario
// names them with, errors that name what is wrong.

import { readFileSync } from 'fs';
import { twoHostSpec } from '@vsim/testkit';
import { SubmissionError, parseSubmission } from '../src/submission';

const spec = twoHostSpec();
const images = Object.fromEntries(spec.vms.map((v) => [v.image, readFileSync(v.image)]));

const YAML = `
name: yaml-two
seed: 3
duration: 20ms
clock: 1GHz
scheduler: { policy: round-robin, params: { timeslice: 1ms } }
hosts:
  - { id: h0, pcpus: 2 }
vms:
  - { id: hello, host: h0, memory: 16MiB, kind: linux, image: bin/hello.elf, args: [x] }
  - { id: rec, memory: 16MiB, kind: linux, image: guests/recursion.elf, args: ['1'] }
`;

describe('parseSubmission', () => {
  it('takes a SimSpec as JSON, with its images, and a seed override', () => {
    const s = parseSubmission(JSON.stringify(spec), images, 9);
    expect(s.spec).toEqual({ ...JSON.parse(JSON.stringify(spec)), seed: 9 });
    expect(s.images.size).toBe(spec.vms.length);
  });

  it('takes a YAML scenario and maps it to a SimSpec; relative image paths match the submitted keys', () => {
    const bytes = readFileSync(spec.vms[0].image);
    const s = parseSubmission(YAML, { 'bin/hello.elf': bytes, './guests/recursion.elf': bytes });
    expect(s.spec).toMatchObject({
      name: 'yaml-two',
      seed: 3,
      durationNs: 20e6,
      trapPath: 'split',
      scheduler: { policy: 'round-robin', params: { timeslice: 1e6 } },
      hosts: [{ id: 'h0', pcpus: 2, clockHz: 1e9 }],
    });
    expect(s.spec.vms.map((v) => [v.id, v.host, v.memoryBytes, v.args, v.image])).toEqual([
      ['hello', 'h0', 16 << 20, ['x'], 'bin/hello.elf'],
      ['rec', undefined, 16 << 20, ['1'], './guests/recursion.elf'],
    ]);
    expect([...s.images.values()].every((b) => b === bytes)).toBe(true);
  });

  it('says which images are missing', () => {
    expect(() => parseSubmission(YAML, { 'bin/hello.elf': Buffer.from('x') })).toThrow(
      'invalid scenario:\nvms[1].image: file not found: guests/recursion.elf',
    );
    expect(() => parseSubmission(JSON.stringify(spec), {})).toThrow(/images missing from the submission .*: hello: \/.*hello\.elf, sum:/);
    // Never a file of the gateway's own machine: a path climbing out of the scenario's directory
    // (as examples/*.yaml write `../guests/...`) names submitted bytes, or is missing.
    expect(() => parseSubmission(YAML.replace('bin/hello.elf', '../../etc/hostname'), { 'guests/recursion.elf': Buffer.from('x') })).toThrow(
      SubmissionError,
    );
    const elf = readFileSync(spec.vms[0].image);
    const up = parseSubmission(YAML.replace('bin/hello.elf', '../../etc/hostname'), { '../../etc/hostname': elf, 'guests/recursion.elf': elf });
    expect(up.spec.vms[0].image).toBe('../../etc/hostname');
    expect(Buffer.from(up.images.get('../../etc/hostname')!)).toEqual(elf);
  });

  it("takes absolute image paths as the client names them (its files, as in an embedded run), never the gateway's", () => {
    const elf = readFileSync(spec.vms[0].image);
    const abs = YAML.replace('bin/hello.elf', '/etc/hostname');
    const s = parseSubmission(abs, { '/etc/hostname': elf, 'guests/recursion.elf': elf });
    expect(s.spec.vms[0].image).toBe('/etc/hostname');
    expect(Buffer.from(s.images.get('/etc/hostname')!)).toEqual(elf);
    // Not submitted: missing, even though the gateway's machine has /etc/hostname.
    expect(() => parseSubmission(abs, { 'guests/recursion.elf': elf })).toThrow('invalid scenario:\nvms[0].image: file not found: /etc/hostname');
  });

  it('checks each image against its VM before anything runs: a Linux program in a kernel VM is named, with the kind to use', () => {
    const elf = readFileSync(spec.vms[0].image);
    const kernel = YAML.replace('kind: linux, image: bin/hello.elf, args: [x]', 'image: bin/hello.elf');
    expect(() => parseSubmission(kernel, { 'bin/hello.elf': elf, 'guests/recursion.elf': elf })).toThrow(
      /^invalid scenario:\nvms\[0\]\.image: a Linux user program \(loaded at 0x10000\), but the VM is a guest kernel \(kind: kernel, RAM from 0x80000000\): give it kind: linux$/,
    );
    expect(() => parseSubmission(YAML, { 'bin/hello.elf': Buffer.from('x'), 'guests/recursion.elf': elf })).toThrow(
      /vms\[0\]\.image: not a valid rv32 executable/,
    );
  });

  it('carries timed actions into the SimSpec', () => {
    const withActions = `${YAML}actions:\n  - at: 5ms\n    pause: { vm: hello }\n`;
    const elf = readFileSync(spec.vms[0].image);
    const bytes = { 'bin/hello.elf': elf, 'guests/recursion.elf': elf };
    expect(parseSubmission(withActions, bytes).spec.actions).toEqual([{ kind: 'pause', at: 5e6, vm: 'hello' }]);
  });

  it('names the bad path of a SimSpec or a scenario', () => {
    expect(() => parseSubmission(JSON.stringify({ ...spec, hosts: [{ id: 'h0', pcpus: 0 }] }), images)).toThrow(
      'scenario.hosts[0].pcpus: must be an integer >= 1',
    );
    expect(() => parseSubmission(JSON.stringify({ ...spec, vms: [{ ...spec.vms[0], engine: 'warp' }] }), images)).toThrow(
      'scenario.vms[0].engine: unknown engine "warp"',
    );
    expect(() => parseSubmission('name: x\nduration: forever\n', {})).toThrow(SubmissionError);
  });
});
