import { expect, test } from 'vitest';
import { ModelshipError } from '../../src/errors.js';
import { formatSize, parseSizeInput as parseSize } from '../../src/validate/size.js';

test.each([
  ['1048576', 1048576],
  ['200MB', 200e6],
  ['200 mb', 200e6],
  ['1.5 GiB', 1.5 * 2 ** 30],
  ['512KiB', 512 * 1024],
  ['10kB', 10_000],
  ['3GB', 3e9],
  ['64 KiB', 65536],
  ['0', 0],
  [' 2 TB ', 2e12],
])('parseSize(%j) = %d bytes', (text, bytes) => {
  expect(parseSize(text)).toBe(bytes);
});

test('numbers pass through as bytes', () => {
  expect(parseSize(4096)).toBe(4096);
  expect(() => parseSize(-1)).toThrow(ModelshipError);
});

test.each(['', 'MB', '200 megabytes', '-1MB', '1e3', '1.2.3 GB', 'ten', '3G', '.5MB'])(
  'parseSize(%j) is a SIZE_INVALID error',
  (text) => {
    expect(() => parseSize(text, 'max-size')).toThrow(ModelshipError);
    try {
      parseSize(text, 'max-size');
    } catch (error) {
      expect((error as ModelshipError).code).toBe('SIZE_INVALID');
      expect((error as ModelshipError).message).toContain(`max-size '${text}'`);
      expect((error as ModelshipError).hint).toContain('200MB');
    }
  },
);

test('formatSize prints powers of 1000 with one decimal', () => {
  expect(formatSize(999)).toBe('999 B');
  expect(formatSize(1000)).toBe('1.0 kB');
  expect(formatSize(200_000_000)).toBe('200.0 MB');
  expect(formatSize(1.5 * 2 ** 30)).toBe('1.6 GB');
});
