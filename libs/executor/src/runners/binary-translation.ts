// Execution mode `binary-translation` (architecture §7): the guest kernel runs deprivileged as
// under trap-and-emulate, on the translator whatever engine the scenario named; its sensitive
// instructions are translated into direct calls of the same interpreter routines — no exit — and
// translating its code is the hypervisor's work, charged per block.

import { BinaryTranslationEngine, Cause, loadElf32, rv32, Stop } from '@vsim/isa';
import { TrapAction } from '@vsim/proto';
import { initialVirtualCpu, REDIRECT_ILLEGAL_NAME, VMODE_S } from '@vsim/hypervisor';
import type { Vcpu } from '../vm';
import { HypervisedRunner, buildHypervised } from './hypervised';
import { applyResolution, trapRequest } from './resolution';
import type { ExecutionMode, HostServices } from './runner';
import { timeOf } from './runner';
import { deprivilege } from './trap-and-emulate';

export class BinaryTranslationRunner extends HypervisedRunner {
  /** Blocks of the translator already charged costs.translateBlock. */
  private blocksCharged = 0;

  constructor(v: Vcpu, host: HostServices) {
    super(v, host);
    v.hart.sensitiveHook = (w, pc) => this.translatedCall(w, pc);
  }

  /**
   * Translating the guest kernel's code is the hypervisor's work, charged to the vCPU at
   * costs.translateBlock per block of virtual S-mode code translated. (vsim's translator also runs
   * the guest's user code, which a real one leaves to direct execution: that is not charged.)
   */
  protected override afterRun(): void {
    const engine = this.v.engine;
    if (!(engine instanceof BinaryTranslationEngine)) return;
    const blocks = engine.translatedByMode[VMODE_S];
    if (blocks === this.blocksCharged) return;
    this.v.hart.cycles += (blocks - this.blocksCharged) * this.host.costs.translateBlock;
    this.blocksCharged = blocks;
  }

  /**
   * The translated guest kernel calls the hypervisor's interpreter routine for a sensitive
   * instruction directly, without an exit: only the routine's own work is charged.
   */
  private translatedCall(w: number, pc: number): number {
    const v = this.v;
    const h = v.hart;
    const host = this.host;
    const s = this.slice;
    const now = timeOf(host, s, h.cycles);
    const req = trapRequest(host, v, now, Cause.IllegalInstruction, w >>> 0, pc, false);
    req.instruction = w >>> 0;
    const res = host.traps.local(req);
    // The normal exit path stops the VM, or redirects an illegal instruction to the guest kernel (a
    // translator emits a trap, not a call, for a word that is no instruction): an exit either way.
    if (res.action === TrapAction.TRAP_ACTION_FAULT || res.handler === REDIRECT_ILLEGAL_NAME) return h.raise(Cause.IllegalInstruction, w);
    const cost = res.costCycles - host.traps.exitCost + host.costs.translatedCall;
    s.events.push(
      host.event({
        timeNs: now,
        kind: 'trap',
        vm: v.vm.id,
        vcpu: v.index,
        pcpu: s.pcpu,
        route: 'interpreter',
        path: 'translated',
        cause: res.handler,
        value: cost,
      }),
    );
    h.hookCost = cost;
    applyResolution(v, res, host, s, now);
    if (res.action === TrapAction.TRAP_ACTION_BLOCK) h.requestStop(Stop.Wfi);
    return res.nextPc;
  }
}

export const BINARY_TRANSLATION: ExecutionMode = {
  name: 'rv32 binary-translation',
  build: (vm) => ({
    bus: buildHypervised(vm, (bus, image) => {
      loadElf32(image, bus);
      return {
        prepare: (hart, i) => {
          deprivilege(hart, i, image.entry);
          hart.xlateKey = 1; // the guest kernel starts in virtual S-mode
          return initialVirtualCpu();
        },
        // Binary translation needs the translator, whatever engine the scenario named. The technique
        // charges costs.translateBlock per basic block, so its translator forms basic blocks: the
        // engine's superblocks and loop traces (a speed choice of the simulator, not of the modelled
        // hypervisor) would change how many blocks are charged, and so the simulated time.
        engine: (hart) =>
          new BinaryTranslationEngine(hart, rv32, { translateSensitive: true, sensitiveMode: 1, superblocks: false, loopTraces: false }),
      };
    }),
  }),
  runner: (v, host) => new BinaryTranslationRunner(v, host),
};
