// Preloaded into a benchmarked child: writes its peak resident set size (KiB) at exit.
// On Linux the peak comes from VmHWM: getrusage's maxrss survives exec, so a child would report the
// resident size its (forking) parent had, and a benchmark process holding a big model is such a parent.
import { readFileSync, writeFileSync } from 'node:fs';

function peakKib() {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match) return Number(match[1]);
  } catch {
    // Not Linux: fall back to getrusage.
  }
  return process.resourceUsage().maxRSS;
}

const file = process.env.MODELSHIP_BENCH_RSS_FILE;
if (file) {
  process.on('exit', () => {
    writeFileSync(file, JSON.stringify({ maxRSS: peakKib() }));
  });
}
