/**
 * How many threads a model run should use. onnxruntime's own default on Linux is half the logical CPUs,
 * which assumes two hardware threads per core: on a virtual machine without them (many CI runners) it
 * leaves half the cores idle. This counts the cores the process may actually use instead.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Counted once per process: the topology does not change under it. */
let counted: number | undefined;

/** Physical cores this process may run on (Linux: CPU topology, affinity and cgroup quota), else the logical CPUs. */
export function usableCores(): number {
  if (counted === undefined) {
    const logical = availableParallelism();
    counted = Math.max(1, Math.min(logical, linuxPhysicalCores() ?? logical, cgroupCpuQuota() ?? logical));
  }
  return counted;
}

/** Distinct (package, core) pairs among the CPUs in this process's affinity mask; undefined off Linux. */
function linuxPhysicalCores(): number | undefined {
  try {
    const cpus = allowedCpus() ?? cpuDirectories();
    const cores = new Set<string>();
    for (const cpu of cpus) {
      const topology = `/sys/devices/system/cpu/cpu${cpu}/topology`;
      const read = (name: string) => readFileSync(`${topology}/${name}`, 'utf8').trim();
      cores.add(`${read('physical_package_id')}:${read('core_id')}`);
    }
    return cores.size > 0 ? cores.size : undefined;
  } catch {
    return undefined;
  }
}

function cpuDirectories(): number[] {
  return readdirSync('/sys/devices/system/cpu')
    .map((name) => /^cpu(\d+)$/.exec(name)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number);
}

/** The logical CPUs in this process's affinity mask (Linux); undefined where that cannot be read. */
export function allowedCpus(): number[] | undefined {
  try {
    const list = /^Cpus_allowed_list:\s*(.+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return list ? parseCpuList(list) : undefined;
  } catch {
    return undefined;
  }
}

/** "0-3,8,10-11" → [0, 1, 2, 3, 8, 10, 11]. */
export function parseCpuList(list: string): number[] {
  const cpus: number[] = [];
  for (const part of list.split(',')) {
    const [from, to] = part.trim().split('-').map(Number);
    if (!Number.isInteger(from)) continue;
    for (let cpu = from; cpu <= (Number.isInteger(to) ? to : from); cpu++) cpus.push(cpu);
  }
  return cpus;
}

/** CPUs a cgroup v2 quota allows (`cpu.max`, e.g. a container run with --cpus 2), rounded up; undefined when unlimited. */
function cgroupCpuQuota(): number | undefined {
  try {
    const [quota, period] = readFileSync('/sys/fs/cgroup/cpu.max', 'utf8').trim().split(/\s+/);
    if (quota === 'max') return undefined;
    const cpus = Number(quota) / Number(period);
    return Number.isFinite(cpus) && cpus > 0 ? Math.ceil(cpus) : undefined;
  } catch {
    return undefined;
  }
}
