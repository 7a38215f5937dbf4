// Adopt's hosts at the control plane's edge: the scheduler's converter (libs/scheduler
// handover-proto.ts) with its RangeError answered as INVALID_ARGUMENT, and every VM id checked.

import { HostHandover as HostHandoverMsg } from '@vsim/proto';
import { HostHandover, hostHandoverFrom as fromMessage } from '@vsim/scheduler';
import { checkVmId, invalid } from './control-plane';

/** HostHandover back to a host's state; INVALID_ARGUMENT naming the field at fault. */
export function hostHandoverFrom(m: HostHandoverMsg): HostHandover {
  let h: HostHandover;
  try {
    h = fromMessage(m);
  } catch (err) {
    if (err instanceof RangeError) throw invalid(err.message);
    throw err;
  }
  for (const v of h.state.vcpus) checkVmId(v.vm);
  return h;
}
