// A graceful stop of the gateway delivers results: the simulations that end after the stop began
// are waited for until their clients fetched the outcome (results, or the status saying it failed),
// for a while, so that a client polling Status and then calling Results is not cut off.

export class ResultPickup {
  /** Ended (at that time), outcome not fetched yet. */
  private readonly waiting = new Map<string, number>();
  private since: number | undefined;

  /** A simulation ended now. */
  ended(id: string): void {
    this.waiting.set(id, Date.now());
  }

  /** Its client has the outcome. */
  fetched(id: string): void {
    this.waiting.delete(id);
  }

  /** The graceful stop began (only simulations ending from now on are waited for). */
  begin(): void {
    this.since ??= Date.now();
  }

  /** Resolves once every simulation that ended since begin() was fetched, or after `lingerMs`. */
  async delivered(lingerMs: number): Promise<void> {
    const deadline = Date.now() + lingerMs;
    const since = this.since ?? Date.now();
    while ([...this.waiting.values()].some((at) => at >= since) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }
}
