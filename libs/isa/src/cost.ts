// The cost model: how many virtual cycles each thing a guest does costs. Virtual time is
// cycles / clock, so these numbers, not the host's speed, decide every simulated result.
//
// Defaults describe a simple in-order 5-stage core at 1 GHz (the classic textbook pipeline of
// Patterson & Hennessy): one cycle for ALU work and cache-hitting memory operations, a multi-cycle
// iterative multiplier and divider, and a pipeline flush plus vectoring for a trap. They are
// deliberately round: users adjust them per scenario.

export type CostClass = 'alu' | 'mul' | 'div' | 'load' | 'store' | 'branch' | 'jump' | 'amo' | 'fence' | 'csr' | 'system';

export interface CostModel {
  /** Cycles per executed instruction, by class. */
  readonly instruction: Readonly<Record<CostClass, number>>;
  /** Cycles to take a trap or an interrupt (flush, save state, vector) on top of the instruction. */
  readonly trap: number;
}

export const DEFAULT_COST_MODEL: CostModel = {
  instruction: {
    alu: 1,
    mul: 3, // pipelined multiplier latency
    div: 20, // iterative divider, ~1 bit per cycle pair
    load: 1,
    store: 1,
    branch: 1,
    jump: 1,
    amo: 4, // read-modify-write round trip to the cache
    fence: 1,
    csr: 2, // serialising CSR access
    system: 4, // mret/sret/wfi/ecall: pipeline flush
  },
  trap: 20,
};

/** Validates a user-supplied cost model: every cost a positive integer (cycles are counted exactly). */
export function makeCostModel(overrides: { instruction?: Partial<Record<CostClass, number>>; trap?: number } = {}): CostModel {
  const instruction = { ...DEFAULT_COST_MODEL.instruction, ...(overrides.instruction ?? {}) };
  for (const [k, v] of Object.entries(instruction)) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`cost.instruction.${k}: expected a positive integer, got ${v}`);
  }
  const trap = overrides.trap ?? DEFAULT_COST_MODEL.trap;
  if (!Number.isInteger(trap) || trap < 0) throw new RangeError(`cost.trap: expected a non-negative integer, got ${trap}`);
  return { instruction, trap };
}
