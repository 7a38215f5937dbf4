import { formatFrequency, formatSize, formatTime, parseFrequency, parseSize, parseTime } from '@vsim/scenario';

const ok = (value: number) => ({ ok: true, value });
const fails = (fragment: string) => expect.objectContaining({ ok: false, message: expect.stringContaining(fragment) });

describe('times', () => {
  test.each([
    ['0', 0],
    [0, 0],
    ['0ms', 0],
    ['1.5ms', 1_500_000],
    ['10us', 10_000],
    ['10µs', 10_000],
    ['250 ns', 250],
    ['2s', 2_000_000_000],
    ['.5us', 500],
    ['1.1ms', 1_100_000], // exact, not 1100000.0000000002
    ['0.000000001s', 1],
    ['0.0', 0],
    ['1234ns', 1234],
    ['200 ms', 200_000_000], // a space between number and unit reads as written
    ['9007199254740991ns', Number.MAX_SAFE_INTEGER],
    ['9007199.254740991s', Number.MAX_SAFE_INTEGER],
  ])('%p is %d ns', (input, ns) => {
    expect(parseTime(input)).toEqual(ok(ns));
  });

  test.each([
    ['10 parsecs', "'10 parsecs' is not a time (use ns, us, ms or s)"],
    ['10MS', "'10MS' is not a time (use ns, us, ms or s; units are case-sensitive: write ms)"],
    ['-5ms', 'is not a time'],
    ['1e3ms', 'is not a time'],
    ['', 'is not a time'],
    ['0.5ns', 'is not a whole number of nanoseconds'],
    // A bare number would be nanoseconds, which `duration: 200` never means (issue 14 item 8).
    [200, '200 has no unit: write 200ms (or 200ns, 200us, 200s); a time needs one'],
    ['200', '200 has no unit: write 200ms'],
    [1.5, '1.5 has no unit'],
    [-1, 'expected a time, got -1'],
    [Infinity, 'expected a time'],
    [true, 'expected a time (use ns, us, ms or s), got true'],
    [['1ms'], 'got a list'],
    ['9007199.254740992s', 'too large (at most 2^53-1 nanoseconds, about 104 days)'],
    ['10000000000s', 'too large'],
    ['9007199254740992ns', 'too large'],
    [2 ** 53, 'has no unit'],
  ])('%p is rejected', (input, message) => {
    expect(parseTime(input)).toEqual(fails(message));
  });

  test.each([
    [0, '0ns'],
    [1, '1ns'],
    [1_500_000, '1.5ms'],
    [200_000_000, '200ms'],
    [10_000, '10us'],
    [1_234_567, '1234.567us'],
    [3_000_000_000, '3s'],
  ])('%d ns reads %s', (ns, text) => {
    expect(formatTime(ns)).toBe(text);
    expect(parseTime(text)).toEqual(ok(ns));
  });
});

describe('frequencies', () => {
  test.each([
    ['1GHz', 1e9],
    ['1.5GHz', 1.5e9],
    ['800 MHz', 8e8],
    ['32768Hz', 32768],
    ['10kHz', 1e4],
    ['2ghz', 2e9],
    [1000, 1000],
  ])('%p is %d Hz', (input, hz) => {
    expect(parseFrequency(input)).toEqual(ok(hz));
  });

  test.each([
    ['1 furlong', "'1 furlong' is not a frequency (use Hz, kHz, MHz or GHz)"],
    ['0.5Hz', 'not a whole number of Hz'],
    ['fast', 'is not a frequency'],
  ])('%p is rejected', (input, message) => {
    expect(parseFrequency(input)).toEqual(fails(message));
  });

  test('formatting', () => {
    expect(formatFrequency(1e9)).toBe('1GHz');
    expect(formatFrequency(1.5e9)).toBe('1.5GHz');
    expect(formatFrequency(32768)).toBe('32.768kHz');
  });
});

describe('sizes', () => {
  test.each([
    ['4MiB', 4 * 1024 ** 2],
    ['64KiB', 65536],
    ['1GiB', 1024 ** 3],
    ['1.5MiB', 1.5 * 1024 ** 2],
    ['4096', 4096],
    [8192, 8192],
    ['4096B', 4096],
  ])('%p is %d bytes', (input, bytes) => {
    expect(parseSize(input)).toEqual(ok(bytes));
  });

  test.each([
    ['4MB', "'4MB' is not a size (use KiB, MiB or GiB; sizes are binary: write MiB)"],
    ['4kb', 'write KiB'],
    ['4 megs', "'4 megs' is not a size (use KiB, MiB or GiB)"],
    ['0.1KiB', 'not a whole number of bytes'],
  ])('%p is rejected', (input, message) => {
    expect(parseSize(input)).toEqual(fails(message));
  });

  test('formatting', () => {
    expect(formatSize(4 * 1024 ** 2)).toBe('4MiB');
    expect(formatSize(6144)).toBe('6KiB');
    expect(formatSize(1000)).toBe('1000B');
  });
});
