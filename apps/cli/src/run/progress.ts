// Progress of `vsim run`, on stderr: virtual time reached against the duration, per host. A host
// whose VMs have all ended is finished (its loop stops there, short of the duration), so the run is
// as far along as the slowest host still running, and at 100 % when every host is finished — its
// real end, not the duration. On a TTY a bar redrawn in place; otherwise plain lines
// (`vsim: 25% (75 ms of 300 ms)`) at each tenth and at least every LINE_EVERY_MS of wall time, so a
// long run shows it is alive; those only when asked (--progress), so pipes and tests stay clean.

import { Output } from '../io';

export type ProgressMode = 'bar' | 'lines' | 'off';

export function progressMode(isTty: boolean, asked: boolean): ProgressMode {
  return isTty ? 'bar' : asked ? 'lines' : 'off';
}

const ms = (ns: number) => `${Math.round(ns / 1e6)} ms`;

/** Without a terminal, a line at least this often (wall time) while the run goes on. */
export const LINE_EVERY_MS = 10_000;

export class Progress {
  private readonly reached = new Map<string, number>();
  private readonly finished = new Set<string>();
  private lastDraw = 0;
  private lastLine = 0;
  private lastTenth = -1;
  private drawn = false;

  constructor(
    private readonly out: Output,
    private readonly mode: ProgressMode,
    private readonly durationNs: number,
    hosts: readonly string[],
    private readonly now: () => number = Date.now,
  ) {
    for (const h of hosts) this.reached.set(h, 0);
  }

  /** Host `host` has reached virtual time `ns`; `done`: its VMs have all ended, so has its run. */
  update(host: string, ns: number, done = false): void {
    if (this.mode === 'off') return;
    const newlyDone = done && !this.finished.has(host);
    if (newlyDone) this.finished.add(host);
    if (ns <= (this.reached.get(host) ?? -1) && !newlyDone) return;
    this.reached.set(host, Math.max(this.reached.get(host) ?? 0, Math.min(ns, this.durationNs)));
    this.render(false);
  }

  /** The least virtual time reached by a host still running (the duration once none is): the run is that far along. */
  private overall(): number {
    const running = [...this.reached].filter(([h]) => !this.finished.has(h)).map(([, ns]) => ns);
    if (this.reached.size === 0) return 0;
    return running.length === 0 ? this.durationNs : Math.min(...running);
  }

  /** Every host finished before the duration: when the last one did. */
  private endedEarly(): number | undefined {
    if (this.reached.size === 0 || this.finished.size < this.reached.size) return undefined;
    const end = Math.max(...this.reached.values());
    return end < this.durationNs ? end : undefined;
  }

  private render(final: boolean): void {
    const early = this.endedEarly();
    const t = early ?? this.overall();
    const frac = early !== undefined ? 1 : this.durationNs > 0 ? t / this.durationNs : 1;
    const of = `${ms(t)} of ${ms(this.durationNs)}${early !== undefined ? ', every VM ended' : ''}`;
    if (this.mode === 'lines') {
      const tenth = Math.floor(frac * 10);
      const now = this.now();
      const due = this.lastTenth >= 0 && now - this.lastLine >= LINE_EVERY_MS && tenth < 10;
      if ((tenth > this.lastTenth && (tenth < 10 || final)) || due) {
        this.lastTenth = Math.max(tenth, this.lastTenth);
        this.lastLine = now;
        this.out.write(`vsim: ${Math.floor(frac * 100)}% (${of})\n`);
      }
      return;
    }
    const now = this.now();
    if (!final && now - this.lastDraw < 100) return; // at most 10 redraws a second
    this.lastDraw = now;
    const width = 24;
    const filled = Math.round(frac * width);
    const hosts = this.reached.size > 1 ? '  ' + [...this.reached].map(([h, ns]) => `${h} ${this.finished.has(h) ? 'done' : ms(ns)}`).join('  ') : '';
    this.out.write(`\r\x1b[K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.floor(frac * 100)}% ${of}${hosts}`);
    this.drawn = true;
  }

  /** The run is over (or failed): the last state, and the bar's line cleared (the summary follows on stdout). */
  finish(): void {
    if (this.mode === 'off') return;
    if (this.mode === 'lines') {
      this.render(true); // as far as the hosts really got: a run that failed half-way does not show 100 %
      return;
    }
    if (this.drawn) this.out.write('\r\x1b[K');
  }
}
