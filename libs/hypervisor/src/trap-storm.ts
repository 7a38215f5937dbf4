// The hypervisor's trap-storm policy (docs/isolation.md). A hostile or broken guest can make the
// hypervisor work at its every instruction: a trap handler that traps again (an `ebreak` at its own
// stvec, which the hypervisor injects back forever), a loop of hypercalls with garbage arguments.
// Each exit is charged to the guest's own virtual time, so it cannot steal other VMs' CPU — the
// scheduler sees to that — but it makes the hypervisor (and, on the `remote` trap path, the bus) do
// unbounded work for nothing. vsim's rule:
//
//   an exit is FUTILE when the hypervisor can only hand the failure back: an exception reflected
//   into the guest kernel that is not a system call (breakpoint, misaligned fetch, page fault), or
//   a hypercall answered with an error (an SBI error code, a negative Linux errno). A vCPU that
//   takes STORM_FUTILE_EXITS futile exits while retiring fewer than STORM_MIN_INSTRUCTIONS guest
//   instructions in all (fewer than 64 per futile exit on average) is stopped, as a fault of its
//   VM: `trap storm`.
//
// Why futile exits and not all exits: a legitimately trap-heavy kernel can exit nearly as often as a
// storm — the trap-and-emulate `syscall` workload of guests/rv32/kernel retires only ~15
// instructions per exit (each system call is an injected ecall, CSR reads and an sret, all exits) —
// but its exits succeed. Counting exits rather than cycles keeps the rule independent of the cost
// model. Translated calls of binary translation are not exits and are not counted.

/** K: how many futile exits one verdict covers. */
export const STORM_FUTILE_EXITS = 1000;
/** R: the fewest guest instructions a vCPU must retire over K futile exits to count as making progress. */
export const STORM_MIN_INSTRUCTIONS = 64 * STORM_FUTILE_EXITS;

/** The detector of one vCPU: fed at every futile exit with the vCPU's retired-instruction count. */
export class TrapStormDetector {
  private futile = 0;
  private instret0 = -1;

  /** For snapshots: where the current window stands. */
  saveState(): { futile: number; instret0: number } {
    return { futile: this.futile, instret0: this.instret0 };
  }

  loadState(s: { futile: number; instret0: number }): void {
    this.futile = s.futile;
    this.instret0 = s.instret0;
  }

  /**
   * Records one futile exit. Returns a description of the storm when the window it closes is one,
   * else undefined (the window then starts over).
   */
  onFutileExit(instret: number): string | undefined {
    if (this.instret0 < 0) this.instret0 = instret;
    if (++this.futile < STORM_FUTILE_EXITS) return undefined;
    const retired = instret - this.instret0;
    this.futile = 0;
    this.instret0 = instret;
    if (retired >= STORM_MIN_INSTRUCTIONS) return undefined;
    return (
      `trap storm: ${STORM_FUTILE_EXITS} futile exits while retiring only ${retired} instructions ` +
      `(the policy stops a vCPU below ${STORM_MIN_INSTRUCTIONS}; docs/isolation.md)`
    );
  }
}
