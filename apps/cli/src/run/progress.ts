// Progress of `vsim run`, on stderr: virtual time reached against the duration, per host. On a
// TTY a bar redrawn in place; otherwise plain lines (`vsim: 25% (75 ms of 300 ms)`) at each tenth,
// only when asked (--progress); by default nothing off a TTY, so pipes and tests stay clean.

import { Output } from '../io';

export type ProgressMode = 'bar' | 'lines' | 'off';

export function progressMode(isTty: boolean, asked: boolean): ProgressMode {
  return isTty ? 'bar' : asked ? 'lines' : 'off';
}

const ms = (ns: number) => `${Math.round(ns / 1e6)} ms`;

export class Progress {
  private readonly reached = new Map<string, number>();
  private lastDraw = 0;
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

  /** Host `host` has reached virtual time `ns`. */
  update(host: string, ns: number): void {
    if (this.mode === 'off') return;
    if (ns <= (this.reached.get(host) ?? -1)) return;
    this.reached.set(host, Math.min(ns, this.durationNs));
    this.render(false);
  }

  /** The least virtual time reached by any host: the run is that far along. */
  private overall(): number {
    return this.reached.size === 0 ? 0 : Math.min(...this.reached.values());
  }

  private render(final: boolean): void {
    const t = this.overall();
    const frac = this.durationNs > 0 ? t / this.durationNs : 1;
    if (this.mode === 'lines') {
      const tenth = Math.floor(frac * 10);
      if (tenth > this.lastTenth && (tenth < 10 || final)) {
        this.lastTenth = tenth;
        this.out.write(`vsim: ${Math.floor(frac * 100)}% (${ms(t)} of ${ms(this.durationNs)})\n`);
      }
      return;
    }
    const now = this.now();
    if (!final && now - this.lastDraw < 100) return; // at most 10 redraws a second
    this.lastDraw = now;
    const width = 24;
    const filled = Math.round(frac * width);
    const hosts = this.reached.size > 1 ? '  ' + [...this.reached].map(([h, ns]) => `${h} ${ms(ns)}`).join('  ') : '';
    this.out.write(`\r\x1b[K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.floor(frac * 100)}% ${ms(t)} of ${ms(this.durationNs)}${hosts}`);
    this.drawn = true;
  }

  /** The run is over: the last state, and the bar's line cleared (the summary follows on stdout). */
  finish(): void {
    if (this.mode === 'off') return;
    if (this.mode === 'lines') {
      for (const h of this.reached.keys()) this.reached.set(h, this.durationNs);
      this.render(true);
      return;
    }
    if (this.drawn) this.out.write('\r\x1b[K');
  }
}
