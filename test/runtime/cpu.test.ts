import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { parseCpuList, usableCores } from '../../src/runtime/cpu.js';

describe('usable cores', () => {
  it('reads CPU lists as the kernel writes them', () => {
    expect(parseCpuList('0-3,8,10-11')).toEqual([0, 1, 2, 3, 8, 10, 11]);
    expect(parseCpuList('5')).toEqual([5]);
    expect(parseCpuList('0-1\n')).toEqual([0, 1]);
  });

  it('counts at least one core and no more than the CPUs this process may use', () => {
    const cores = usableCores();
    expect(Number.isInteger(cores)).toBe(true);
    expect(cores).toBeGreaterThanOrEqual(1);
    expect(cores).toBeLessThanOrEqual(availableParallelism());
  });
});
