// Framing of the GDB remote serial protocol: `$payload#cs` packets with a modulo-256 checksum,
// `+`/`-` acknowledgements and the out-of-band interrupt byte 0x03. Payloads are kept as latin1
// strings (one char per byte), so binary data (the X packet) passes through unchanged.

/** What arrives on the wire, one event per packet or control byte. */
export type WireEvent =
  | { readonly kind: 'packet'; readonly payload: string }
  /** A packet whose checksum did not match: the reader's owner answers `-` so gdb resends it. */
  | { readonly kind: 'corrupt' }
  | { readonly kind: 'ack' }
  | { readonly kind: 'nak' }
  | { readonly kind: 'interrupt' };

const enum State {
  Idle,
  Payload,
  Checksum,
}

/** Splits a byte stream into wire events; bytes of a packet may arrive in any number of chunks. */
export class PacketReader {
  private state = State.Idle;
  private payload: number[] = [];
  private sum = '';

  /** Feeds bytes (a Uint8Array, or a latin1 string) and returns the events they complete. */
  feed(data: Uint8Array | string): WireEvent[] {
    const events: WireEvent[] = [];
    for (let i = 0; i < data.length; i++) {
      const b = typeof data === 'string' ? data.charCodeAt(i) & 0xff : data[i];
      switch (this.state) {
        case State.Idle:
          if (b === 0x24 /* $ */) {
            this.state = State.Payload;
            this.payload = [];
          } else if (b === 0x2b /* + */) events.push({ kind: 'ack' });
          else if (b === 0x2d /* - */) events.push({ kind: 'nak' });
          else if (b === 0x03) events.push({ kind: 'interrupt' });
          // Anything else between packets is line noise: skipped, as gdbserver does.
          break;
        case State.Payload:
          if (b === 0x23 /* # */) {
            this.state = State.Checksum;
            this.sum = '';
          } else this.payload.push(b);
          break;
        case State.Checksum:
          this.sum += String.fromCharCode(b);
          if (this.sum.length === 2) {
            this.state = State.Idle;
            const payload = String.fromCharCode(...this.payload);
            events.push(parseInt(this.sum, 16) === checksum(payload) ? { kind: 'packet', payload } : { kind: 'corrupt' });
          }
          break;
      }
    }
    return events;
  }
}

/** The protocol's checksum: the sum of the payload's bytes modulo 256. */
export function checksum(payload: string): number {
  let s = 0;
  for (let i = 0; i < payload.length; i++) s += payload.charCodeAt(i) & 0xff;
  return s & 0xff;
}

/** `$payload#cs`, with the four bytes the framing reserves ($ # } *) escaped as `}` + (byte ^ 0x20). */
export function framePacket(payload: string): string {
  const body = escapeBinary(payload);
  return `$${body}#${checksum(body).toString(16).padStart(2, '0')}`;
}

/** Escapes $ # } * in binary data (replies and the X packet's data). */
export function escapeBinary(data: string): string {
  return data.replace(/[$#}*]/g, (c) => '}' + String.fromCharCode(c.charCodeAt(0) ^ 0x20));
}

/** Undoes escapeBinary: the data of an X packet as bytes. */
export function unescapeBinary(data: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < data.length; i++) {
    const c = data.charCodeAt(i) & 0xff;
    if (c === 0x7d /* } */ && i + 1 < data.length) out.push((data.charCodeAt(++i) & 0xff) ^ 0x20);
    else out.push(c);
  }
  return Uint8Array.from(out);
}

/** Bytes as lowercase hex, two digits each (memory and register contents). */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** Hex pairs as bytes; undefined if the text is not an even number of hex digits. */
export function fromHex(text: string): Uint8Array | undefined {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) return undefined;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(i * 2, 2), 16);
  return out;
}

/** A 32-bit value in target (little-endian) byte order, as the g and p packets carry registers. */
export function le32Hex(v: number): string {
  return toHex(Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff));
}

/** The inverse of le32Hex; undefined unless exactly 8 hex digits. */
export function parseLe32Hex(text: string): number | undefined {
  const b = text.length === 8 ? fromHex(text) : undefined;
  return b && (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
}
