// The generated code as jest (swc) and services load it: encode/decode round trips.
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { Ack, HealthCheckResponse, HealthCheckResponse_ServingStatus, HealthListResponse, MessageType, VirtualTime, encode } from '@vsim/proto';

function roundTrip<T>(type: MessageType<T>, message: T): T {
  return type.decode(encode(type, message));
}

describe('generated messages', () => {
  it('VirtualTime: uint64 as a JS number (forceLong=number)', () => {
    for (const ns of [0, 1, 1_000_000_007, 2 ** 40 + 3, Number.MAX_SAFE_INTEGER]) {
      expect(roundTrip(VirtualTime, { ns })).toEqual({ ns });
    }
    expect(encode(VirtualTime, { ns: 300 })).toEqual(Uint8Array.of(0x08, 0xac, 0x02));
    expect(encode(VirtualTime, { ns: 0 })).toEqual(new Uint8Array(0)); // proto3 default: not on the wire
    expect(VirtualTime.fromPartial({})).toEqual({ ns: 0 });
  });

  it('VirtualTime: a value beyond 2^53 is refused on decode, not rounded', () => {
    const bytes = new BinaryWriter()
      .uint32(8)
      .uint64(2n ** 60n)
      .finish();
    expect(() => VirtualTime.decode(bytes)).toThrow();
  });

  it('Ack is empty on the wire', () => {
    expect(encode(Ack, {})).toEqual(new Uint8Array(0));
    expect(Ack.decode(new Uint8Array(0))).toEqual({});
  });

  it('health messages: enums and maps', () => {
    const r = { status: HealthCheckResponse_ServingStatus.NOT_SERVING };
    expect(roundTrip(HealthCheckResponse, r)).toEqual(r);
    expect(HealthCheckResponse.toJSON(r)).toEqual({ status: 'NOT_SERVING' });
    const list = {
      statuses: {
        '': { status: HealthCheckResponse_ServingStatus.SERVING },
        'vsim.v1.Scheduler': { status: HealthCheckResponse_ServingStatus.NOT_SERVING },
      },
    };
    expect(roundTrip(HealthListResponse, list)).toEqual(list);
  });

  it('unknown fields are skipped (a newer sender, an older reader)', () => {
    const bytes = new BinaryWriter()
      .uint32(8)
      .uint64(42)
      .uint32((9 << 3) | 2)
      .string('from the future')
      .finish();
    expect(VirtualTime.decode(bytes)).toEqual({ ns: 42 });
  });
});
