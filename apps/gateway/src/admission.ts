// Admission control: how many simulations may run at once in the cluster, and what waits.
// A started simulation joins a FIFO queue; it is launched when the cluster runs fewer than
// `maxRunning` simulations — counted as the simulations the scheduler services have open (every
// gateway's, so the limit is the cluster's) plus those this gateway launched that the schedulers do
// not list yet. Beyond `maxQueued` waiting ones, Start is refused with RESOURCE_EXHAUSTED, naming
// the limits. While some wait, the cluster is asked again every second (another gateway's
// simulation may have ended) and whenever one of ours ends.

import { ControlError, ControlStatus } from '@vsim/control';
import { Logger } from '@vsim/service';

export interface AdmissionLimits {
  /** Simulations running at once in the cluster. */
  readonly maxRunning: number;
  /** Started simulations waiting here for a slot. */
  readonly maxQueued: number;
  /** A submission that is never started is forgotten after this long. */
  readonly submissionTtlMs: number;
  /** Image bytes this gateway holds for simulations submitted or queued but not running. */
  readonly maxHeldBytes: number;
}

export const DEFAULT_LIMITS: AdmissionLimits = {
  maxRunning: 16,
  maxQueued: 1000,
  submissionTtlMs: 10 * 60_000,
  maxHeldBytes: 1 << 30,
};

/** How often the cluster is asked again while simulations wait. */
const RETRY_MS = 1000;

export class AdmissionQueue {
  private readonly waiting: string[] = [];
  /** Launched here and not finished. */
  private readonly active = new Set<string>();
  private pumping = false;
  private again = false;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly limits: AdmissionLimits,
    /** The simulations open in the cluster (the scheduler services' Status). */
    private readonly clusterActive: () => Promise<ReadonlySet<string>>,
    /** Starts one (its state becomes running). */
    private readonly launch: (id: string) => void,
    private readonly log: Logger,
  ) {}

  get queued(): readonly string[] {
    return this.waiting;
  }

  get running(): number {
    return this.active.size;
  }

  /**
   * Queues a started simulation; throws RESOURCE_EXHAUSTED when, beyond the slots this gateway
   * still sees free, `maxQueued` already wait.
   */
  enqueue(id: string): void {
    const free = Math.max(0, this.limits.maxRunning - this.active.size);
    if (this.waiting.length - free >= this.limits.maxQueued) {
      throw new ControlError(
        ControlStatus.RESOURCE_EXHAUSTED,
        `the cluster is busy: ${this.limits.maxRunning} simulations may run at once (--max-running) and ${this.waiting.length - free} already wait to start here (--max-queued ${this.limits.maxQueued}); try again later`,
      );
    }
    this.waiting.push(id);
    void this.pump();
  }

  /** A simulation launched here ended: its slot frees. */
  finished(id: string): void {
    if (this.active.delete(id)) void this.pump();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
  }

  /** Launches what fits; one pass at a time (a pass asked for meanwhile runs after it). */
  private async pump(): Promise<void> {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.again = false;
        if (this.waiting.length === 0 || this.closed) break;
        const cluster = await this.clusterActive().catch((err: unknown) => {
          this.log.warn({ err }, "could not count the simulations running in the cluster: counting this gateway's only");
          return new Set<string>();
        });
        const busy = new Set([...cluster, ...this.active]).size;
        for (let room = this.limits.maxRunning - busy; room > 0 && this.waiting.length > 0; room--) {
          const id = this.waiting.shift()!;
          this.active.add(id);
          this.launch(id);
        }
        if (this.waiting.length > 0) {
          clearTimeout(this.retry);
          this.retry = setTimeout(() => void this.pump(), RETRY_MS);
          this.retry.unref();
          this.log.debug({ waiting: this.waiting.length, busy }, 'simulations wait for a slot');
        }
      } while (this.again);
    } finally {
      this.pumping = false;
    }
  }
}
