#!/usr/bin/env bash
# DNS throughput while the event stream churns, against the same server without churn,
# alternating for ROUNDS rounds; and the server's CPU time per event with no queries.
# The fake master emits PER_SECOND task events a second (launches and kills).
#
#   bench/churn.sh                       # 10k tasks, 200 events a second, 3 rounds
#   TASKS=100000 bench/churn.sh
set -euo pipefail
cd "$(dirname "$0")/.."
TASKS=${TASKS:-10000}
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-5}
PER_SECOND=${PER_SECOND:-200}
. bench/lib.sh
start_fake 127.0.0.1:27050
curl -s http://127.0.0.1:27050/master/state > "$work/served.json"
"$work/records" -zone mesos. "$work/served.json" |
    awk '($4 == "A" || $4 == "SRV") && NR % 3 == 0 && n++ < 100000 { print $1, $4 }' > "$work/queries.txt"

port=27353
printf '.:%s {\n    bind 127.0.0.1\n    mesos {\n        masters http://127.0.0.1:27050\n        mode stream\n        timeout 60s\n    }\n}\n' $port > "$work/Corefile"
taskset -c 0 "$work/coredns" -conf "$work/Corefile" > "$work/coredns.log" 2>&1 &
srv=$!
pids+=($srv)
wait_dns $port $srv "$work/coredns.log"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# CPU per event, no queries.
t0=$(cpu_ticks $srv)
curl -s "http://127.0.0.1:27050/fake/churn?per_second=$PER_SECOND" >/dev/null
sleep 10
curl -s "http://127.0.0.1:27050/fake/churn?per_second=0" >/dev/null
t1=$(cpu_ticks $srv)
awk -v t=$((t1 - t0)) -v hz="$hz" -v n=$((PER_SECOND * 10)) 'BEGIN { printf "CPU per event at %d events/s: %.2f ms (%.0f%% of a core)\n", n / 10, t / hz * 1000 / n, t / hz * 10 }'

run() { # churn? -> "qps cpu_us_per_query"
    [ "$1" = churn ] && curl -s "http://127.0.0.1:27050/fake/churn?per_second=$PER_SECOND" >/dev/null && sleep 1
    local out t0 t1
    t0=$(cpu_ticks $srv)
    out=$(taskset -c 1 dnsperf -s 127.0.0.1 -p $port -d "$work/queries.txt" -c 16 -T 1 -q 100 -l "$SECS" 2>&1)
    t1=$(cpu_ticks $srv)
    [ "$1" = churn ] && curl -s "http://127.0.0.1:27050/fake/churn?per_second=0" >/dev/null
    local qps done_
    qps=$(echo "$out" | awk '/Queries per second/ {print $4}')
    done_=$(echo "$out" | awk '/Queries completed/ {print $3}')
    echo "$qps $(awk -v t=$((t1 - t0)) -v n="$done_" -v hz="$hz" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')"
}
echo "tasks=$TASKS events=$PER_SECOND/s rounds=$ROUNDS secs=$SECS"
printf '%-6s %-6s %12s %14s\n' round churn qps cpu_us_query
declare -A all
for r in $(seq 1 "$ROUNDS"); do
    for c in quiet churn; do
        read -r qps cpu < <(run $c)
        all[$c]+="$qps "
        printf '%-6s %-6s %12s %14s\n' "$r" "$c" "$qps" "$cpu"
    done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
q=$(echo "${all[quiet]}" | median); c=$(echo "${all[churn]}" | median)
awk -v q="$q" -v c="$c" 'BEGIN { printf "median q/s: quiet %s, churn %s: churn/quiet %.3fx\n", q, c, c / q }'
