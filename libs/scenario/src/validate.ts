// parseScenario / loadScenario: YAML text → the normalised Scenario, or a ScenarioError listing every
// problem. Decoding is driven by the field table (format.ts); this file only parses the YAML, maps
// paths back to line:column, and assembles the typed result.

import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { basename, dirname, extname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { Ctx, Path, ScenarioIssue } from './fields';
import { SCENARIO, ScenarioRaw } from './format';
import { ScenarioError } from './errors';
import { oneLine } from './units';
import { ELF_MACHINES, VM_ISAS } from './types';
import type { Action, Scenario, VmIsa, VmSpec } from './types';

export interface ParseOptions {
  /** The scenario file's name, for messages (as the user typed it) and for the default `name`. */
  file?: string;
  /** Where image paths are relative to; default: the file's directory, else the working directory. */
  baseDir?: string;
  /**
   * An optional deeper check of each VM's image (e.g. that the ELF loads and fits in `memory`), run
   * once everything else about the VM is valid; returns a problem, or undefined. This library does
   * not read images itself.
   */
  checkImage?: (
    image: string,
    vm: { id: string; memory: number; kind: VmSpec['kind']; isa: VmIsa; args?: readonly string[]; vcpus?: number },
  ) => string | undefined;
  /**
   * Where an image path as the scenario writes it is on disk (default: relative to baseDir, an
   * absolute path as is). The gateway maps the images a client submitted to its private copies.
   */
  resolveFile?: (written: string) => string;
  /**
   * Told of values that are valid but have no effect (a Credit `cap` under round robin), in file
   * order, whether or not the scenario has errors too.
   */
  onWarnings?: (warnings: readonly ScenarioIssue[]) => void;
}

const ALIAS_LIMIT = 100;

/** Parses and validates scenario YAML. Throws ScenarioError (only) when anything is wrong. */
export function parseScenario(text: string, opts: ParseOptions = {}): Scenario {
  const file = opts.file;
  const baseDir = resolve(opts.baseDir ?? (file !== undefined ? dirname(resolve(file)) : process.cwd()));
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, logLevel: 'error' });
  const at = (offset: number) => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };

  if (doc.errors.length > 0) {
    const issues: ScenarioIssue[] = doc.errors.map((e) => {
      const { line, column } = at(e.pos[0]);
      return { path: `${line}:${column}`, message: oneLine(`YAML syntax error: ${e.message.split('\n')[0]}`), line, column };
    });
    throw new ScenarioError(issues, file);
  }

  let plain: unknown;
  try {
    plain = doc.toJS({ maxAliasCount: ALIAS_LIMIT });
  } catch (e) {
    throw new ScenarioError([{ path: '', message: oneLine(`YAML error: ${e instanceof Error ? e.message : String(e)}`) }], file);
  }

  const locate = (path: Path) => {
    for (let n = path.length; n >= 0; n--) {
      const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
      const range = (node as { range?: [number, number, number] } | undefined)?.range;
      if (range) return at(range[0]);
    }
    return undefined;
  };
  const ctx = new Ctx(baseDir, locate, opts.resolveFile);
  const raw = SCENARIO.decode(plain, [], ctx);
  const isas = raw?.vms?.map((vm, i) => (vm ? vmIsa(vm, ['vms', i], ctx) : 'rv32')) ?? [];

  if (opts.checkImage && ctx.issues.length === 0 && raw) {
    raw.vms?.forEach((vm, i) => {
      if (vm?.image === undefined || vm.id === undefined || vm.memory === undefined || vm.kind === undefined) return;
      const problem = opts.checkImage!(vm.image, {
        id: vm.id,
        memory: vm.memory,
        kind: vm.kind,
        isa: isas[i],
        args: vm.args?.filter((a): a is string => typeof a === 'string'),
        vcpus: vm.vcpus,
      });
      if (problem !== undefined) ctx.report(['vms', i, 'image'], problem);
    });
  }

  if (ctx.warnings.length > 0) opts.onWarnings?.(inFileOrder(ctx.warnings));
  if (ctx.issues.length > 0 || !raw) {
    throw new ScenarioError(inFileOrder(ctx.issues), file);
  }
  // No issue was reported, so every required field and default decoded: the loose value is whole.
  return assemble(raw as ScenarioRaw, file, isas);
}

function inFileOrder(issues: readonly ScenarioIssue[]): ScenarioIssue[] {
  return issues
    .map((issue, order) => ({ issue, order }))
    .sort((a, b) => (a.issue.line ?? 0) - (b.issue.line ?? 0) || (a.issue.column ?? 0) - (b.issue.column ?? 0) || a.order - b.order)
    .map((x) => x.issue);
}

/** The ISA whose ELF e_machine the image has, or undefined if it is not a little-endian ELF32 of a known one. */
function imageIsa(image: string): { isa?: VmIsa; machine?: number } {
  const header = Buffer.alloc(20);
  let n: number;
  try {
    const fd = openSync(image, 'r');
    try {
      n = readSync(fd, header, 0, header.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    return {};
  }
  if (n < 20 || header.readUInt32BE(0) !== 0x7f454c46 || header[5] !== 1) return {};
  const machine = header.readUInt16LE(18);
  return { isa: VM_ISAS.find((i) => ELF_MACHINES[i] === machine), machine };
}

/**
 * A VM's ISA: `isa` if given (it must agree with the image's e_machine), else the image's. An image
 * that is no ELF of a known ISA counts as rv32 here (checkImage / the runtime say what is wrong with
 * it). Also checks what only a known ISA can: code patching is for ring32, whose kernels have one vCPU.
 */
function vmIsa(vm: { image?: string; isa?: VmIsa; technique?: string; vcpus?: number; kind?: string }, path: Path, ctx: Ctx): VmIsa {
  const fromImage = vm.image !== undefined ? imageIsa(vm.image) : {};
  if (vm.isa !== undefined && fromImage.isa !== undefined && vm.isa !== fromImage.isa) {
    const m = fromImage.machine!;
    ctx.report(
      [...path, 'isa'],
      `isa ${vm.isa} disagrees with the image, whose ELF e_machine is ${m} (0x${m.toString(16)}): a ${fromImage.isa} executable`,
    );
  }
  const isa = vm.isa ?? fromImage.isa ?? 'rv32';
  if (vm.technique === 'code-patching' && isa !== 'ring32') {
    ctx.report(
      [...path, 'technique'],
      `technique code-patching patches the critical instructions of a ring32 kernel; this VM is ${isa}${vm.isa === undefined ? ' (from its image)' : ''}, which has none (use trap-and-emulate)`,
    );
  }
  if (isa === 'ring32' && vm.vcpus !== undefined && vm.vcpus !== 1)
    ctx.report([...path, 'vcpus'], `a ring32 VM has exactly one vCPU (got ${vm.vcpus})`);
  if (isa === 'ring32' && vm.kind === 'linux')
    ctx.report([...path, 'kind'], 'a ring32 VM runs a kernel image (kind kernel); kind linux is for rv32 Linux user programs');
  return isa;
}

/** Reads and parses a scenario file; a file that cannot be read is a ScenarioError too. */
export function loadScenario(path: string, opts: Omit<ParseOptions, 'file'> = {}): Scenario {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory' : e instanceof Error ? e.message : String(e);
    throw new ScenarioError([{ path: '', message: oneLine(`cannot read the scenario: ${why}`) }], path);
  }
  return parseScenario(text, { ...opts, file: path });
}

function defaultName(file: string | undefined): string {
  if (file === undefined) return 'scenario';
  const stem = basename(file, extname(file))
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/^[-_]+/, '')
    .slice(0, 64);
  return stem || 'scenario';
}

/** The keys of a partial override that were given. */
function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function assemble(raw: ScenarioRaw, file: string | undefined, isas: readonly VmIsa[]): Scenario {
  const { expansion, ...costs } = raw.costs;
  return {
    name: raw.name ?? defaultName(file),
    file: file === undefined ? null : resolve(file),
    seed: raw.seed,
    duration: raw.duration,
    clock: raw.clock,
    trapPath: raw.trapPath,
    checkpoint: raw.checkpoint === undefined ? null : { interval: raw.checkpoint.interval },
    scheduler: raw.scheduler,
    costs,
    expansion,
    hosts: raw.hosts.map((h) => ({
      ...h,
      clock: h.clock ?? raw.clock,
      costs: { ...costs, ...definedOnly(h.costs ?? {}) },
      expansion,
      pools: h.pools.map((p) => ({ ...p, scheduler: p.scheduler ?? raw.scheduler })),
    })),
    vms: raw.vms.map((vm, i) => ({ ...vm, isa: isas[i], host: vm.host ?? null, sched: { ...vm.sched, pin: vm.sched.pin ?? null } })),
    actions: raw.actions.map((a): Action => {
      switch (a.kind) {
        case 'set': {
          const { vm, ...changes } = a.body;
          const params = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
          return { kind: 'set', at: a.at, vm, params };
        }
        case 'pause':
        case 'unpause':
          return { kind: a.kind, at: a.at, vm: a.body.vm };
        case 'swapScheduler':
          return { kind: 'swapScheduler', at: a.at, scheduler: a.body };
        case 'killHost':
          return { kind: 'killHost', at: a.at, host: a.body.host };
        case 'migrate':
          return {
            kind: 'migrate',
            at: a.at,
            vm: a.body.vm,
            to: a.body.to,
            ...definedOnly({ stopPages: a.body.stopPages, maxRounds: a.body.maxRounds }),
          };
      }
    }),
    placement: raw.placement,
    balancer: raw.balancer
      ? {
          period: raw.balancer.period,
          threshold: raw.balancer.threshold,
          ...definedOnly({ stopPages: raw.balancer.stopPages, maxRounds: raw.balancer.maxRounds }),
        }
      : null,
    network: {
      bandwidth: raw.network.bandwidth,
      latency: raw.network.latency,
      links: raw.network.links.map((l) => ({
        from: l.from,
        to: l.to,
        bandwidth: l.bandwidth ?? raw.network.bandwidth,
        latency: l.latency ?? raw.network.latency,
      })),
    },
  };
}
