import { version as cliVersion } from '../package.json';

/** The version in apps/cli/package.json (read at build time, so the compiled CLI carries it). */
export function version(): string {
  return cliVersion;
}
