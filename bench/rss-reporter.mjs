// Preloaded into a benchmarked child: writes its peak resident set size (KiB) at exit.
import { writeFileSync } from 'node:fs';

const file = process.env.MODELSHIP_BENCH_RSS_FILE;
if (file) {
  process.on('exit', () => {
    writeFileSync(file, JSON.stringify({ maxRSS: process.resourceUsage().maxRSS }));
  });
}
