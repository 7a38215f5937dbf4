// Holding a host for the debugger (`vsim gdb`): while a vCPU of one of its VMs is stopped in gdb,
// the host runs no run order. The cpu-node's order handler enters the gate before each order and
// leaves it after; a held gate makes the next order wait, so the scheduler's host loop waits at an
// iteration boundary and the host's virtual time stands still (other hosts go on). A stop takes
// effect once the order running now, if any, has ended: the VM is then between two orders, where
// its state is the host's.

export class HostDebugGate {
  private hold: { readonly promise: Promise<void>; readonly release: () => void } | null = null;
  private executing = false;
  private idle: (() => void)[] = [];
  /** Called after each order (the debugger looks for a breakpoint hit, an ended VM). */
  afterOrder: (() => void) | undefined;

  /** Before an order: waits while the host is held. */
  async enter(): Promise<void> {
    while (this.hold) await this.hold.promise;
    this.executing = true;
  }

  /** After an order (entered). */
  leave(): void {
    this.executing = false;
    const waiting = this.idle;
    this.idle = [];
    for (const w of waiting) w();
    this.afterOrder?.();
  }

  /** Holds the host; resolves once no order runs (at once if none does). */
  stop(): Promise<void> {
    if (!this.hold) {
      let release!: () => void;
      const promise = new Promise<void>((r) => (release = r));
      this.hold = { promise, release };
    }
    return this.executing ? new Promise((r) => this.idle.push(r)) : Promise.resolve();
  }

  /** Lets the host's orders run again. */
  release(): void {
    const h = this.hold;
    this.hold = null;
    h?.release();
  }

  get held(): boolean {
    return this.hold !== null;
  }
}
