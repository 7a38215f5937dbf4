// @vsim/isa: instruction sets, their decoders and disassemblers, the four emulation engines,
// ELF loading and the two machines programs run on (Linux user, bare metal).

export type { Isa, InstrDef, Gen, Sensitivity, Flow } from './isa';
export type { CostModel, CostClass } from './cost';
export { DEFAULT_COST_MODEL, makeCostModel } from './cost';
export type { Device } from './memory/bus';
export { Bus, PAGE_SIZE } from './memory/bus';
export { DirtyPages } from './memory/dirty-pages';
export type { Rv32HartState, Ring32HartState } from './state';
export { saveRv32Hart, loadRv32Hart, saveRing32Hart, loadRing32Hart } from './state';
export { Clint, CLINT_BASE } from './memory/clint';
export { Console, CONSOLE_BASE, CONSOLE_SIZE } from './memory/console';
export { rv32, rv32Imm } from './rv32';
export { RV32_INSTRUCTIONS } from './rv32/instructions';
export { ABI_NAMES } from './rv32/disasm';
export type { HartOptions } from './rv32/hart';
export { Hart } from './rv32/hart';
export { CSR, MSTATUS, MIP, Priv } from './rv32/csr';
export { Cause, causeName, INTERRUPT_BIT } from './rv32/causes';
export type { PlainStop, StopName, StopRecord, TrapExit } from './rv32/signals';
export { BUDGET_STOP, HALT_STOP, Stop, STOP_NAMES, WFI_STOP, plainStop, trapExit } from './rv32/signals';
export { mulh, mulhu, mulhsu } from './rv32/mulh';
export type { Engine, EngineHart, EngineName } from './engines';
export { createEngine, isEngineName, ENGINE_NAMES, BinaryTranslationEngine } from './engines';
export type { BtOptions } from './engines/bt';
export { DEFAULT_BT_OPTIONS } from './engines/bt';
export type { ElfImage, ElfSegment } from './elf/elf32';
export { parseElf32, loadElf32, ElfError, EM_RISCV, EM_RING32 } from './elf/elf32';
export type { LinuxUserOptions, ProcessResult, GuestFault, LinuxLayout } from './machine/linux-user';
export { LinuxUserProcess, USER_RAM_BASE, prepareLinuxProcess } from './machine/linux-user';
export type { BareOptions, BareResult } from './machine/bare';
export { BareMachine, BARE_RAM_BASE } from './machine/bare';
export { ring32, ring32Imm } from './ring32';
export { RING32_INSTRUCTIONS } from './ring32/instructions';
export { RING32_REG_NAMES } from './ring32/disasm';
export type { Port, Ring32HartOptions } from './ring32/hart';
export { Ring32Hart } from './ring32/hart';
export {
  PSW,
  PSW_WRITABLE,
  CR,
  CR_NAMES,
  Ring32Cause,
  Ring32Irq,
  RING32_INTERRUPT_BIT,
  ring32CauseName,
  PORT as RING32_PORT,
  RING32_RAM_BASE,
} from './ring32/arch';
export { disassembleRing32 } from './ring32/listing';
export { writeRing32Elf, parseRing32Elf } from './ring32/elf';
export type { AssembleOptions, AssembledImage } from './ring32/asm';
export { assembleRing32, AsmError } from './ring32/asm';
export type { Ring32MachineOptions, Ring32RunResult } from './ring32/machine';
export { Ring32Machine, RING32_RAM_SIZE } from './ring32/machine';
export type { PgAnalysis } from './analysis/popek-goldberg';
export { analyzeIsa } from './analysis/popek-goldberg';
export type { ProbeReport, ProbeObservation, ProbeMismatch } from './analysis/prober';
export { probeIsa } from './analysis/prober';
export type { ProbeTarget, ProbeOutcome } from './analysis/probe-target';
export type { FreeRun, GdbTarget, TargetStop, SessionEnd, GdbSessionOptions, WireEvent } from './gdb';
export {
  GdbSession,
  LinuxProcessTarget,
  BareMachineTarget,
  Rv32HartTarget,
  rv32TargetXml,
  RV32_EBREAK,
  PacketReader as GdbPacketReader,
  framePacket as gdbFramePacket,
} from './gdb';
