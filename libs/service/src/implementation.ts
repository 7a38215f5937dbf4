// Which program serves a registered name. Anyone may register a `vsim-scheduler` (the scheduler
// protocol is public: examples/external-scheduler is one); vsim's own services say so in their
// registration metadata, so the gateway picks vsim's scheduler unless a submission names another.

import type { DiscoveredService } from './registry';

/** Registration metadata key and value of vsim's own implementation of a service. */
export const IMPLEMENTATION_KEY = 'implementation';
export const BUILTIN_SCHEDULER = 'vsim';

export function isBuiltin(s: DiscoveredService): boolean {
  return s.metadata[IMPLEMENTATION_KEY] === BUILTIN_SCHEDULER;
}
