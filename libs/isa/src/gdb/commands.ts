// The GDB remote packets that only inspect or change a stopped target — registers, memory, the
// target description and the thread and feature queries gdb makes while connecting. Execution,
// breakpoints and acknowledgement mode are session.ts's.

import { GdbTarget } from './target';
import { fromHex, le32Hex, parseLe32Hex, toHex, unescapeBinary } from './packet';

/** Error replies: gdb only shows the number. */
export const E_BAD_PACKET = 'E01';
export const E_FAULT = 'E14';

/** The single thread a stub for one hart reports. */
export const THREAD_ID = '1';

/** Largest packet we accept and the most memory one m packet may read (hex doubles it). */
export const PACKET_SIZE = 0x4000;

/** `addr,length` in hex; undefined when malformed. */
export function parseAddrLength(text: string): { addr: number; length: number } | undefined {
  const m = /^([0-9a-fA-F]+),([0-9a-fA-F]+)$/.exec(text);
  if (!m) return undefined;
  return { addr: parseInt(m[1], 16) >>> 0, length: parseInt(m[2], 16) };
}

/** Reply to a packet that reads or writes target state, or undefined if the packet is not one of those. */
export function stateCommand(target: GdbTarget, payload: string): string | undefined {
  const head = payload[0];
  const rest = payload.slice(1);
  switch (head) {
    case 'g':
      return Array.from({ length: target.registerCount }, (_, n) => le32Hex(target.readRegister(n))).join('');
    case 'G':
      return writeAllRegisters(target, rest);
    case 'p': {
      const n = parseInt(rest, 16);
      return Number.isInteger(n) && n >= 0 && n < target.registerCount ? le32Hex(target.readRegister(n)) : E_BAD_PACKET;
    }
    case 'P': {
      const [reg, value] = rest.split('=');
      const n = parseInt(reg, 16);
      const v = parseLe32Hex(value ?? '');
      if (!(n >= 0 && n < target.registerCount) || v === undefined) return E_BAD_PACKET;
      target.writeRegister(n, v);
      return 'OK';
    }
    case 'm': {
      const a = parseAddrLength(rest);
      if (!a || a.length > PACKET_SIZE / 2) return E_BAD_PACKET;
      const bytes = target.readMemory(a.addr, a.length);
      return bytes ? toHex(bytes) : E_FAULT;
    }
    case 'M':
    case 'X': {
      const colon = rest.indexOf(':');
      const a = colon < 0 ? undefined : parseAddrLength(rest.slice(0, colon));
      if (!a) return E_BAD_PACKET;
      const data = head === 'M' ? fromHex(rest.slice(colon + 1)) : unescapeBinary(rest.slice(colon + 1));
      if (!data || data.length !== a.length) return E_BAD_PACKET;
      // A zero-length X is gdb asking whether X is supported at all.
      if (data.length === 0) return 'OK';
      return target.writeMemory(a.addr, data) ? 'OK' : E_FAULT;
    }
    default:
      return query(target, payload);
  }
}

function writeAllRegisters(target: GdbTarget, hex: string): string {
  if (hex.length !== target.registerCount * 8) return E_BAD_PACKET;
  const values: number[] = [];
  for (let n = 0; n < target.registerCount; n++) {
    const v = parseLe32Hex(hex.slice(n * 8, n * 8 + 8));
    if (v === undefined) return E_BAD_PACKET;
    values.push(v);
  }
  values.forEach((v, n) => target.writeRegister(n, v));
  return 'OK';
}

/** General queries and thread packets; undefined if the packet is not one of them. */
function query(target: GdbTarget, payload: string): string | undefined {
  if (payload.startsWith('qXfer:features:read:')) return readFeatures(target, payload.slice('qXfer:features:read:'.length));
  if (payload === 'qC') return `QC${THREAD_ID}`;
  if (payload === 'qfThreadInfo') return `m${THREAD_ID}`;
  if (payload === 'qsThreadInfo') return 'l';
  if (payload.startsWith('qSymbol')) return 'OK'; // no symbols wanted
  if (payload[0] === 'H' || payload[0] === 'T') return 'OK'; // select / probe the only thread
  return undefined;
}

/** qXfer:features:read:ANNEX:OFFSET,LENGTH — the target description in chunks (`m` more follows, `l` last). */
function readFeatures(target: GdbTarget, args: string): string {
  const colon = args.indexOf(':');
  const annex = args.slice(0, colon);
  const a = parseAddrLength(args.slice(colon + 1));
  if (colon < 0 || !a) return E_BAD_PACKET;
  if (annex !== 'target.xml') return 'E00';
  const xml = target.targetXml;
  const chunk = xml.slice(a.addr, a.addr + Math.min(a.length, PACKET_SIZE - 16));
  return (a.addr + chunk.length >= xml.length ? 'l' : 'm') + chunk;
}
