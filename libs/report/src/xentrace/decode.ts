// Reads a Xen trace file back into records, from the documented layout alone (records.ts,
// docs/xentrace.md): per-pCPU windows, each record's header, optional TSC and data words. A file
// that does not follow it is refused with the byte offset at fault.

import { TRC_EVENT_MASK, TRC_HD_CYCLE_FLAG, TRACE_EXTRA_MAX, TRACE_EXTRA_SHIFT, TRC_TRACE_CPU_CHANGE, XenRecord } from './records';

export class XentraceFormatError extends Error {
  override readonly name = 'XentraceFormatError';
}

/** Every record of the file but the window markers, in file order, each with its pCPU. */
export function decodeXentrace(buf: Uint8Array): XenRecord[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: XenRecord[] = [];
  let o = 0;
  let cpu = -1;
  let windowEnd = 0;
  while (o < buf.byteLength) {
    const at = o;
    if (o + 4 > buf.byteLength) throw new XentraceFormatError(`byte ${at}: truncated record header`);
    const header = view.getUint32(o, true);
    o += 4;
    const event = header & TRC_EVENT_MASK;
    const extra = (header >>> TRACE_EXTRA_SHIFT) & TRACE_EXTRA_MAX;
    const hasTsc = (header & TRC_HD_CYCLE_FLAG) !== 0;
    const size = 4 + (hasTsc ? 8 : 0) + 4 * extra;
    if (at + size > buf.byteLength)
      throw new XentraceFormatError(`byte ${at}: record 0x${event.toString(16)} needs ${size} bytes, the file has ${buf.byteLength - at}`);
    let tsc: bigint | undefined;
    if (hasTsc) {
      tsc = view.getBigUint64(o, true);
      o += 8;
    }
    const data: number[] = [];
    for (let i = 0; i < extra; i++, o += 4) data.push(view.getUint32(o, true));
    if (event === TRC_TRACE_CPU_CHANGE) {
      if (at < windowEnd) throw new XentraceFormatError(`byte ${at}: a window starts inside the window of pCPU ${cpu}`);
      if (hasTsc || extra !== 2) throw new XentraceFormatError(`byte ${at}: TRC_TRACE_CPU_CHANGE must be 2 words without TSC`);
      cpu = data[0];
      windowEnd = o + data[1];
      if (windowEnd > buf.byteLength)
        throw new XentraceFormatError(`byte ${at}: pCPU ${cpu}'s window of ${data[1]} bytes runs past the end of the file`);
      continue;
    }
    if (o > windowEnd) throw new XentraceFormatError(`byte ${at}: record 0x${event.toString(16)} outside any pCPU window`);
    out.push(tsc === undefined ? { cpu, event, data } : { cpu, event, tsc, data });
  }
  return out;
}
