#!/usr/bin/env bash
# Measures the figures the top-level README refers to (bench/README.md, "Measured figures"):
# each workload in its own duractor_bench run, RUNS times (default 2), and prints one
# Markdown table row per run with the date, the machine and its load average at the start.
#   bench/readme_figures.sh [RUNS]      (uses build/bench/duractor_bench or $DURACTOR_BENCH)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bench=${DURACTOR_BENCH:-$here/build/bench/duractor_bench}
runs=${1:-2}
# The value of the figure whose name contains $2 in the JSON lines of workload $1.
figure() {
  "$bench" --json "$1" 2>/dev/null | grep -F "\"figure\":\"$2" | head -1 |
    sed -E 's/.*"value":([0-9.eE+-]+).*/\1/'
}
machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GiB"
echo "| date (UTC) | machine | load at start | hello orch/s | fan-out activities/s | chain p50 ms | 100k idle, cap 10k MiB | 100k idle, all in memory MiB |"
echo "|---|---|---|---|---|---|---|---|"
for ((run = 1; run <= runs; ++run)); do
  start=$(date -u '+%Y-%m-%d %H:%M')
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  hello=$(figure 'runtime.hello$' 'hello orchestrations')
  fanout=$(figure 'runtime.fanout$' 'fan-out/fan-in of 10: activities')
  chain=$(figure 'runtime.chain_latency$' 'chain of 10 activities, p50')
  capped=$(figure 'runtime.idle_rss_capped$' 'RSS for ')
  all=$(figure 'runtime.idle_rss$' 'RSS for ')
  printf '| %s | %s | %s | %.0f | %.0f | %.1f | %.0f | %.0f |\n' "$start" "$machine" "$load" \
    "$hello" "$fanout" "$chain" "$capped" "$all"
done
