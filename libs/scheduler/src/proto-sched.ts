// A VM's scheduling parameters at the control planes' edge: the plain record the scheduler's
// policies read (weight, cap, slice, period, extra, budget, extratime, pin, pool) to the
// VmSchedParams message AddVm, GetSchedParams and Handover carry, and back.

import { VmSchedParams as VmSchedParamsMsg } from '@vsim/proto';
import { COMMON_VM_SCHED_KEYS, VM_SCHED_PARAMS } from '@vsim/vocabulary';

type Plain = Readonly<Record<string, unknown>>;

const KEYS = [...Object.keys(VM_SCHED_PARAMS), ...COMMON_VM_SCHED_KEYS];

function whole(key: string, v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
    throw new RangeError(`sched.${key}: expected a non-negative integer, got ${JSON.stringify(v)}`);
  return v;
}

function flag(key: string, v: unknown): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new RangeError(`sched.${key}: expected true or false, got ${JSON.stringify(v)}`);
  return v;
}

/** The message of a VM's parameters; RangeError naming a key that is unknown or of the wrong type. */
export function vmSchedMessage(p: Plain): VmSchedParamsMsg {
  for (const k of Object.keys(p)) if (!KEYS.includes(k)) throw new RangeError(`sched.${k}: not a scheduling parameter (${KEYS.join(', ')})`);
  const pin = p.pin ?? [];
  if (!Array.isArray(pin) || !pin.every((s) => Array.isArray(s) && s.every((c) => Number.isInteger(c) && c >= 0)))
    throw new RangeError(`sched.pin: expected a list of lists of pCPU ids, got ${JSON.stringify(p.pin)}`);
  if (p.pool !== undefined && p.pool !== null && typeof p.pool !== 'string')
    throw new RangeError(`sched.pool: expected a pool id, got ${JSON.stringify(p.pool)}`);
  return {
    weight: whole('weight', p.weight),
    cap: whole('cap', p.cap),
    slice: whole('slice', p.slice),
    period: whole('period', p.period),
    extra: flag('extra', p.extra),
    budget: whole('budget', p.budget),
    extratime: flag('extratime', p.extratime),
    pin: (pin as number[][]).map((pcpus) => ({ pcpus })),
    pool: typeof p.pool === 'string' ? p.pool : undefined,
  };
}

/** A VM's parameters as the policies read them: only those the message gives (absent: none). */
export function vmSchedParamsOf(m: VmSchedParamsMsg | undefined): Record<string, unknown> {
  if (!m) return {};
  const out: Record<string, unknown> = {};
  for (const k of ['weight', 'cap', 'slice', 'period', 'extra', 'budget', 'extratime', 'pool'] as const) if (m[k] !== undefined) out[k] = m[k];
  if (m.pin.length > 0) out.pin = m.pin.map((s) => [...s.pcpus]);
  return out;
}
