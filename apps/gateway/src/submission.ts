// What a client submits, turned into the SimSpec the Coordinator runs.
//
// >>> parseSubmission is THE ONE PLACE that decides the submission format. <<<
// Today it accepts two forms of `scenario_yaml`:
//   - a SimSpec as JSON (a JSON object with a `durationNs` field): the runtime's own plain data;
//   - anything else is a scenario file (YAML, @vsim/scenario's parseScenario), mapped to a SimSpec.
// Image paths are looked up in the submitted images (by the path the scenario names them with);
// the gateway never reads image bytes from its own file system.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, isAbsolute, join, posix, relative, resolve, sep } from 'path';
import { isEngineName } from '@vsim/isa';
import { VM_KINDS, vmKindOf } from '@vsim/vocabulary';
import { MAX_IMAGE_BYTES, SimSpec, VmSpec, checkVmImage, simSpecFromScenario } from '@vsim/control';
import { Scenario, ScenarioError, formatIssues, parseScenario } from '@vsim/scenario';

export class SubmissionError extends Error {
  override readonly name = 'SubmissionError';
}

export interface Submission {
  readonly spec: SimSpec;
  /** Image bytes by the path the SimSpec names them with. */
  readonly images: ReadonlyMap<string, Uint8Array>;
}

export function parseSubmission(text: string, images: Readonly<Record<string, Uint8Array>>, seed?: number): Submission {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  // An image travels whole in one CreateVm call to its cpu-node: refuse one that cannot, now.
  const tooBig = Object.entries(images).filter(([, b]) => b.length > MAX_IMAGE_BYTES);
  if (tooBig.length > 0) {
    throw new SubmissionError(
      tooBig
        .map(
          ([p, b]) =>
            `image ${JSON.stringify(p)} is ${b.length} bytes: a cpu-node takes images up to ${MAX_IMAGE_BYTES} bytes (${MAX_IMAGE_BYTES / (1 << 20)} MiB, its CreateVm message limit)`,
        )
        .join('; '),
    );
  }
  const isSpec = typeof json === 'object' && json !== null && !Array.isArray(json) && 'durationNs' in json;
  let spec = isSpec ? simSpecFromJson(json) : parseYaml(text, images);
  if (seed !== undefined) spec = { ...spec, seed };
  const used = new Map<string, Uint8Array>();
  const missing: string[] = [];
  for (const vm of spec.vms) {
    const bytes = images[vm.image];
    if (!bytes || bytes.length === 0) missing.push(`${vm.id}: ${vm.image}`);
    else used.set(vm.image, bytes);
  }
  if (missing.length > 0)
    throw new SubmissionError(`images missing from the submission (send them in images, by the path the scenario names): ${missing.join(', ')}`);
  return { spec, images: used };
}

/**
 * A scenario file, parsed by @vsim/scenario. That parser checks that each image exists on disk,
 * relative to the scenario's directory; here the images come with the submission, so they are
 * written to a private temporary directory that serves as the scenario's directory for the parse,
 * and the VMs' image paths are mapped back to the names the client used. An absolute path names
 * a file of the client's machine, as it does in an embedded run: it is looked up among the
 * submitted images by that name, never on the gateway's own file system.
 */
function parseYaml(text: string, images: Readonly<Record<string, Uint8Array>>): SimSpec {
  const dir = mkdtempSync(join(tmpdir(), 'vsim-submission-'));
  try {
    // Paths may climb out of the scenario's directory (`../guests/x.elf`, as the examples do): the
    // scenario's directory is then nested deep enough inside `dir` for them to stay inside it.
    const up = (rel: string) => /^(?:\.\.\/)*/.exec(rel)![0].length / 3;
    const depth = Math.min(16, Math.max(4, ...Object.keys(images).map((n) => up(posix.normalize(n)))));
    const base = join(dir, ...Array.from({ length: depth }, (_, i) => `d${i}`));
    mkdirSync(base, { recursive: true });
    const byAbs = new Map<string, string>();
    // The client's absolute paths, each under its own private directory (`abs/` + the path).
    const absoluteRoot = join(dir, 'abs');
    const local = (written: string) => (isAbsolute(written) ? join(absoluteRoot, posix.normalize(written)) : resolve(base, written));
    for (const [name, bytes] of Object.entries(images)) {
      const rel = posix.normalize(name);
      if (rel === '..' || rel.includes('\0') || (!isAbsolute(rel) && up(rel) > depth)) continue;
      const abs = local(name);
      if (!abs.startsWith(dir + sep)) continue;
      mkdirSync(dirname(abs), { recursive: true });
      writeFileSync(abs, bytes);
      byAbs.set(abs, name);
    }
    let scenario: Scenario;
    try {
      scenario = parseScenario(text, { baseDir: base, resolveFile: local, checkImage: (image, vm) => checkVmImage(readFileSync(image), vm) });
    } catch (err) {
      if (err instanceof ScenarioError) {
        // Paths in the issues as the client wrote them (relative to the scenario), never the gateway's.
        const issues = formatIssues(err.issues).replace(new RegExp(`${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[^\\s,:]*`, 'g'), (p) =>
          p.startsWith(absoluteRoot + sep) ? p.slice(absoluteRoot.length) : relative(base, p).split(sep).join('/'),
        );
        throw new SubmissionError(`invalid scenario:\n${issues}`);
      }
      throw err;
    }
    const spec = simSpecFromScenario(scenario);
    return {
      ...spec,
      vms: spec.vms.map((vm) => {
        const name = byAbs.get(vm.image);
        if (name === undefined)
          throw new SubmissionError(`VM ${vm.id}: image ${vm.image} was not submitted (image paths must be relative to the scenario, as submitted)`);
        return { ...vm, image: name };
      }),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------------------------ SimSpec JSON

type Json = Record<string, unknown>;

function fail(path: string, msg: string): never {
  throw new SubmissionError(`scenario${path}: ${msg}`);
}

function obj(v: unknown, path: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'must be an object');
  return v as Json;
}

function str(o: Json, k: string, path: string, def?: string): string {
  const v = o[k] ?? def;
  if (typeof v !== 'string' || v === '') fail(`${path}.${k}`, 'must be a non-empty string');
  return v;
}

function int(o: Json, k: string, path: string, min: number, def?: number): number {
  const v = o[k] ?? def;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) fail(`${path}.${k}`, `must be an integer >= ${min}`);
  return v;
}

function arr(o: Json, k: string, path: string): unknown[] {
  const v = o[k];
  if (!Array.isArray(v)) fail(`${path}.${k}`, 'must be an array');
  return v;
}

/** Checks a SimSpec given as JSON (the shape of libs/control/src/simulation.ts), naming the bad path. */
export function simSpecFromJson(raw: unknown): SimSpec {
  const o = obj(raw, '');
  const trapPath = o.trapPath ?? 'split';
  if (trapPath !== 'split' && trapPath !== 'remote') fail('.trapPath', 'must be "split" or "remote"');
  const sched = obj(o.scheduler ?? { policy: 'round-robin', params: {} }, '.scheduler');
  const hosts = arr(o, 'hosts', '').map((h, i) => {
    const p = `.hosts[${i}]`;
    const ho = obj(h, p);
    return {
      id: str(ho, 'id', p),
      pcpus: int(ho, 'pcpus', p, 1),
      clockHz: int(ho, 'clockHz', p, 1, 1e9),
      quantumNs: int(ho, 'quantumNs', p, 1, 10_000),
    };
  });
  const vms = arr(o, 'vms', '').map((v, i): VmSpec => {
    const p = `.vms[${i}]`;
    const vo = obj(v, p);
    const kind = vmKindOf(str(vo, 'kind', p, 'linux')) ?? fail(`${p}.kind`, `must be ${VM_KINDS.map((k) => `"${k}"`).join(' or ')}`);
    const engine = str(vo, 'engine', p, 'bt');
    if (!isEngineName(engine)) fail(`${p}.engine`, `unknown engine ${JSON.stringify(engine)}`);
    const args = vo.args ?? [];
    if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) fail(`${p}.args`, 'must be an array of strings');
    const host = vo.host;
    if (host !== undefined && host !== null && typeof host !== 'string') fail(`${p}.host`, 'must be a string');
    return {
      id: str(vo, 'id', p),
      host: typeof host === 'string' ? host : undefined,
      vcpus: int(vo, 'vcpus', p, 1, 1),
      memoryBytes: int(vo, 'memoryBytes', p, 1),
      image: str(vo, 'image', p),
      args: args as string[],
      kind,
      engine,
      sched: obj(vo.sched ?? {}, `${p}.sched`),
    };
  });
  return {
    name: str(o, 'name', '', 'simulation'),
    seed: int(o, 'seed', '', 0, 0),
    durationNs: int(o, 'durationNs', '', 1),
    trapPath,
    scheduler: { policy: str(sched, 'policy', '.scheduler'), params: obj(sched.params ?? {}, '.scheduler.params') },
    hosts,
    vms,
  };
}
