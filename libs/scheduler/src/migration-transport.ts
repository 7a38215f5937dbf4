// Live migration's commands (migration.ts's MigrationTransport) as requests on the bus: to the
// cpu-nodes on vsim.<sim>.migrate.<node> (migration.proto) and to the hypervisor on vsim.<sim>.vm-moved.

import { Bus } from '@vsim/bus';
import { MigrationCommand, MigrationOp, MigrationRoundReply, VmMoved, encode, subjects } from '@vsim/proto';
import type { MigrationTransport } from './migration';

export function busMigrationTransport(bus: Bus, sim: string, timeoutMs: number): MigrationTransport {
  const command = (node: string, c: Partial<MigrationCommand>) =>
    bus.request(subjects.migrate(sim, node), encode(MigrationCommand, MigrationCommand.fromPartial({ sim, ...c })), { timeoutMs });
  return {
    round: async (vm, round, from, to, nowNs) => {
      const reply = MigrationRoundReply.decode(
        await command(from.node, { vm, op: MigrationOp.MIGRATION_OP_ROUND, host: from.host, toNode: to.node, toHost: to.host, nowNs, round }),
      );
      return { pages: reply.pages, bytes: reply.bytes };
    },
    resume: async (vm, to, nowNs) => void (await command(to.node, { vm, op: MigrationOp.MIGRATION_OP_RESUME, host: to.host, nowNs })),
    drop: async (vm, from, nowNs) => void (await command(from.node, { vm, op: MigrationOp.MIGRATION_OP_DROP, host: from.host, nowNs })),
    moved: async (vm, to) =>
      void (await bus.request(subjects.vmMoved(sim), encode(VmMoved, { sim, vm, host: to.host, node: to.node }), { timeoutMs })),
  };
}
