#!/usr/bin/env bash
# Soak: CoreDNS with the mesos plugin polling a 100k-task state every few seconds while
# dnsperf queries it, with Corefile reloads under that load. Every INTERVAL seconds it
# prints the server's RSS, goroutines and open fds; at the end the first and last
# samples side by side, and whether dnsperf saw any error.
#
#   bench/soak.sh                          # 100k tasks, refresh 5s, 10 minutes, 50 reloads
#   TASKS=10000 SECS=120 RELOADS=10 bench/soak.sh
#   MODE=stream CHURN=200 RELOADS=0 bench/soak.sh
#                                          # the event stream with 200 task events a second
#   HEAP=heap.pprof bench/soak.sh          # and the heap profile at the end
#   MODE=stream RESYNC=60s bench/soak.sh   # the stream reopened every minute
#   HEAPDIR=/tmp/h bench/soak.sh           # a heap profile and MemStats at every sample
set -euo pipefail
cd "$(dirname "$0")/.."
TASKS=${TASKS:-100000}
SECS=${SECS:-600}
RELOADS=${RELOADS:-50}
REFRESH=${REFRESH:-5s}
INTERVAL=${INTERVAL:-20}
MODE=${MODE:-poll}
CHURN=${CHURN:-0}
RESYNC=${RESYNC:-5m}
. bench/lib.sh
start_fake 127.0.0.1:26050

port=26353
conf() { # ttl
    printf '.:%s {\n    bind 127.0.0.1\n    pprof 127.0.0.1:26060\n    mesos {\n        masters http://127.0.0.1:26050\n        mode %s\n        refresh %s\n        resync %s\n        timeout 30s\n        ttl %s\n    }\n}\n' $port "$MODE" "$REFRESH" "$RESYNC" "$1"
}
conf 60 > "$work/Corefile"
"$work/coredns" -conf "$work/Corefile" > "$work/coredns.log" 2>&1 &
srv=$!
pids+=($srv)
wait_dns $port $srv "$work/coredns.log"

"$work/records" -zone mesos. <(curl -s http://127.0.0.1:26050/master/state) |
    awk '($4 == "A" || $4 == "SRV") && NR % 7 == 0 && n++ < 100000 { print $1, $4 }' > "$work/queries.txt"

sample() {
    local rss fds gor
    rss=$(awk '/VmRSS/ {print int($2 / 1024)}' /proc/$srv/status)
    fds=$(ls /proc/$srv/fd | wc -l)
    gor=$(curl -s 'http://127.0.0.1:26060/debug/pprof/goroutine?debug=1' | awk 'NR == 1 {print $4}')
    echo "$1 $rss $gor $fds"
}

taskset -c 1 dnsperf -s 127.0.0.1 -p $port -d "$work/queries.txt" -c 4 -T 1 -Q 2000 -l "$SECS" > "$work/dnsperf.log" 2>&1 &
perf=$!
pids+=($perf)

if [ "$CHURN" -gt 0 ]; then curl -s "http://127.0.0.1:26050/fake/churn?per_second=$CHURN" >/dev/null; fi
echo "tasks=$TASKS mode=$MODE churn=$CHURN/s refresh=$REFRESH resync=$RESYNC secs=$SECS reloads=$RELOADS"
printf '%8s %8s %11s %5s\n' seconds rss_mb goroutines fds
start=$(date +%s)
first=$(sample 0)
printf '%8s %8s %11s %5s\n' $first
reloads=0
gap=$(( SECS / (RELOADS + 1) ))
next_reload=$gap
while kill -0 $perf 2>/dev/null; do
    sleep 1
    now=$(( $(date +%s) - start ))
    if [ $reloads -lt "$RELOADS" ] && [ $now -ge $next_reload ]; then
        conf $(( 60 + reloads % 2 )) > "$work/Corefile"
        kill -USR1 $srv
        reloads=$((reloads + 1))
        next_reload=$(( next_reload + gap ))
    fi
    if [ $(( now % INTERVAL )) -eq 0 ]; then
        last=$(sample $now)
        printf '%8s %8s %11s %5s\n' $last
        if [ -n "${HEAPDIR:-}" ]; then 
            curl -s http://127.0.0.1:26060/debug/pprof/heap > "$HEAPDIR/heap-$now.pprof"
            curl -s 'http://127.0.0.1:26060/debug/pprof/heap?debug=1' | grep '^# [A-Z]' > "$HEAPDIR/memstats-$now.txt"
        fi
    fi
done
last=$(sample $(( $(date +%s) - start )))
if [ -n "${HEAP:-}" ]; then curl -s http://127.0.0.1:26060/debug/pprof/heap > "$HEAP"; fi
echo "reloads: $reloads; first: $first; last: $last (seconds rss_mb goroutines fds)"
grep -E 'Queries (sent|completed|lost)|Response codes|Queries per second' "$work/dnsperf.log"
errors=$(grep -c -E '\[ERROR\]|panic' "$work/coredns.log" || true)
echo "coredns log errors: $errors"
grep -E "\[ERROR\]|Restart failed|panic" "$work/coredns.log" | head -5 || true
