// SIGTERM/SIGINT handling for a service process. The first signal starts a graceful stop (the
// caller's function: stop taking work, finish what is in flight, drain NATS) and exits 0 when it
// is done (1 if it fails or takes longer than `timeoutMs`); a second signal exits at once.

import type { Logger } from 'pino';

export interface ShutdownOptions {
  readonly log?: Logger;
  /** Upper bound on the graceful stop. Default 15 s. */
  readonly timeoutMs?: number;
  /** For tests. Default process.exit. */
  readonly exit?: (code: number) => void;
  readonly signals?: readonly NodeJS.Signals[];
}

/** Installs the handlers; returns a function that removes them. */
export function onShutdown(stop: (signal: NodeJS.Signals) => Promise<void> | void, opts: ShutdownOptions = {}): () => void {
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const signals = opts.signals ?? ['SIGTERM', 'SIGINT'];
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      opts.log?.warn({ signal }, 'second signal: exiting now');
      exit(signal === 'SIGINT' ? 130 : 143);
      return;
    }
    stopping = true;
    opts.log?.info({ signal }, 'shutting down');
    const timeoutMs = opts.timeoutMs ?? 15_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`graceful stop took longer than ${timeoutMs} ms`)), timeoutMs);
      timer.unref();
    });
    Promise.race([Promise.resolve().then(() => stop(signal)), timeout]).then(
      () => {
        clearTimeout(timer);
        opts.log?.info({ signal }, 'stopped');
        exit(0);
      },
      (err: unknown) => {
        clearTimeout(timer);
        opts.log?.error({ signal, err }, 'graceful stop failed');
        exit(1);
      },
    );
  };
  for (const s of signals) process.on(s, handler);
  return () => {
    for (const s of signals) process.off(s, handler);
  };
}
