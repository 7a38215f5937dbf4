// A graceful stop (SIGTERM) of a service: it finishes the simulations it takes part in — the
// gateway closes each one everywhere when its run ends — and refuses to take part in new ones
// meanwhile (UNAVAILABLE, naming why), so that no run fails because a service was stopped politely.

import { status } from '@grpc/grpc-js';
import { ControlError } from './control-plane';

/** The longest a service waits for its simulations to end on a graceful stop. */
export const DRAIN_LIMIT_MS = 300_000;

export class Drain {
  private on = false;

  get draining(): boolean {
    return this.on;
  }

  /** Throws UNAVAILABLE while draining: `what` (e.g. "simulation sim-1") is new work. */
  refuseNew(what: string): void {
    if (this.on) throw new ControlError(status.UNAVAILABLE, `${what}: this service is stopping; it finishes its simulations and takes no new one`);
  }

  /** Starts draining; resolves true once `idle()`, false if that takes longer than `limitMs`. */
  async until(idle: () => boolean, limitMs = DRAIN_LIMIT_MS): Promise<boolean> {
    this.on = true;
    const deadline = Date.now() + limitMs;
    while (!idle()) {
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 100));
    }
    return true;
  }
}
