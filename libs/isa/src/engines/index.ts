import { Isa } from '../isa';
import { Hart } from '../rv32/hart';
import { rv32 } from '../rv32';
import { BinaryTranslationEngine } from './bt';
import { DirectThreadedEngine } from './direct';
import { DispatchEngine } from './dispatch';
import { Engine, EngineHart, EngineName, ENGINE_NAMES } from './engine';
import { IndirectThreadedEngine } from './indirect';

/** Builds engine `name` for a hart of any ISA (rv32 unless `isa` says otherwise). */
export function createEngine<H extends EngineHart = Hart>(name: EngineName, hart: H, isa: Isa = rv32): Engine<H> {
  switch (name) {
    case 'dispatch':
      return new DispatchEngine(hart, isa);
    case 'indirect':
      return new IndirectThreadedEngine(hart, isa);
    case 'direct':
      return new DirectThreadedEngine(hart, isa);
    case 'bt':
      return new BinaryTranslationEngine(hart, isa);
    default:
      throw new RangeError(`unknown engine '${String(name)}': expected one of ${ENGINE_NAMES.join(', ')}`);
  }
}

export function isEngineName(s: string): s is EngineName {
  return (ENGINE_NAMES as readonly string[]).includes(s);
}

export type { Engine, EngineHart, EngineName } from './engine';
export { ENGINE_NAMES, drive } from './engine';
export { BinaryTranslationEngine, DirectThreadedEngine, DispatchEngine, IndirectThreadedEngine };
