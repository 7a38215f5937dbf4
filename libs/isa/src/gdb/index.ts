// The GDB remote serial protocol stub, transport-free: wire a GdbSession to a socket (vsim exec
// --gdb does) and give it a GdbTarget.

export type { FreeRun, GdbTarget, TargetStop } from './target';
export type { SessionEnd, GdbSessionOptions } from './session';
export { GdbSession, SIGINT, SIGTRAP } from './session';
export { Rv32HartTarget } from './hart-target';
export { LinuxProcessTarget } from './linux-target';
export { BareMachineTarget } from './bare-target';
export { rv32TargetXml, RV32_EBREAK, RV32_GDB_PC, RV32_GDB_REGISTERS } from './target-xml';
export type { WireEvent } from './packet';
export { PacketReader, framePacket, checksum, escapeBinary, unescapeBinary } from './packet';
