// One root logger per service process (pino, JSON lines on stdout): every line carries `service`
// and `instance`; context goes in children (`log.child({ host, vm, vcpu })`), errors as `{ err }`.
// pino-pretty is a development transport only: pipe the output through it (`| npx pino-pretty`).

import pino, { DestinationStream, Logger, LevelWithSilent } from 'pino';

export type { Logger };

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface LoggerOptions {
  /** Default: info. */
  readonly level?: string;
  /** Where the JSON lines go. Default: stdout, written synchronously (nothing lost on exit). */
  readonly destination?: DestinationStream;
}

export function createLogger(service: string, instance: string, opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level))
    throw new RangeError(`log level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(level)}`);
  return pino(
    {
      level,
      base: { service, instance, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    opts.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
