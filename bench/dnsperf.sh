#!/usr/bin/env bash
# DNS throughput of the mesos plugin against CoreDNS's whoami (the framework's ceiling)
# and file (the same records as a zone file), in the same binary and Corefile shape,
# on a mix of A and SRV hits and misses from a synthetic cluster.
#
# The server is pinned to CPU 0 and dnsperf to CPU 1; the three servers alternate for
# ROUNDS rounds (default 3) and the script prints each run and the median ratios.
#
#   bench/dnsperf.sh            # 10k tasks, 3 rounds, 5 s a run
#   TASKS=100000 ROUNDS=5 bench/dnsperf.sh
#   MIX=single bench/dnsperf.sh # one-record answers only: replies as small as whoami's
#   MIX=domain SERVERS=mesos bench/dnsperf.sh
#                               # names by fault domain (pin and prefer, zone and region)
#   BASE=HEAD~3 SERVERS="mesos base" bench/dnsperf.sh
#                               # this tree against an earlier build of the plugin
#   SERVERS="mesos signed" bench/dnsperf.sh
#                               # the plain mix against the same mix asked with DO of the
#                               # plugin behind the dnssec plugin (a P-256 key made here
#                               # with dnssec-keygen, bind9-utils)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/wait.sh
TASKS=${TASKS:-10000}
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-5}
MIX=${MIX:-realistic}
SERVERS=${SERVERS:-mesos whoami file}
BASE=${BASE:-}
command -v dnsperf >/dev/null || { echo "dnsperf is needed (apt-get install dnsperf)"; exit 1; }
command -v taskset >/dev/null || { echo "taskset is needed (util-linux)"; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    [ -z "$BASE" ] || git worktree remove --force "$work/base-src" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/coredns" ./cmd/coredns
if [ -n "$BASE" ]; then
    git worktree add -q --detach "$work/base-src" "$BASE"
    (cd "$work/base-src" && go build -o "$work/coredns-base" ./cmd/coredns)
fi
go build -o "$work/fake" ./cmd/fake-mesos-master
go build -o "$work/records" ./cmd/mesos-records

"$work/records" -synth "$TASKS" > "$work/state.json"
if [[ " $SERVERS " == *" signed "* ]]; then
    key=$(cd "$work" && dnssec-keygen -q -a ECDSAP256SHA256 -f KSK mesos)
fi
"$work/fake" -listen 127.0.0.1:25050 -state "$work/state.json" 2>"$work/fake.log" &
pids+=($!)
wait_fake $! 127.0.0.1:25050 "$work/fake.log"
# The zone file holds exactly what the plugin serves: the records of the same state,
# as served (the fake master rewrote the addresses), dumped by the plugin's own walk.
curl -s http://127.0.0.1:25050/master/state > "$work/served.json"
"$work/records" -zone mesos. "$work/served.json" > "$work/mesos.zone"
records=$(grep -c . "$work/mesos.zone")

# Query mix: 40% A of app names, 20% A of task names, 20% SRV hits, 10% A misses,
# 10% SRV misses; MIX=single: 80% A of task names (one record each), 20% A misses;
# MIX=domain: the names by fault domain of the same names, in the synthetic cluster's
# zones and regions: 40% A pin, 20% A prefer, 20% SRV pin, 10% SRV prefer by region,
# 10% pin misses.
awk -v seed=1 -v mix="$MIX" '
    $4 == "A" && $1 ~ /^app-[0-9]+-[0-9]+\.[a-z-]+[0-9]*\.mesos\.$/ { app[napp++] = $1 }
    $4 == "A" && $1 ~ /-[a-z0-9]{5}-s[0-9]+\.[a-z0-9-]+\.mesos\.$/ && $1 !~ /slave/ { task[ntask++] = $1 }
    $4 == "SRV" { if (!(($1) in seen)) { seen[$1] = 1; srv[nsrv++] = $1 } }
    END {
        srand(seed)
        split("us-west-2a us-west-2b us-west-2c eu-central-1a eu-central-1b eu-central-1c", zones, " ")
        for (k = 1; k <= 6; k++) zones[k - 1] = zones[k]
        split("us-west-2 eu-central-1", regions, " ")
        regions[0] = regions[1]; regions[1] = regions[2]
        for (i = 0; i < 100000; i++) {
            r = rand()
            if (mix == "domain") {
                z = zones[int(rand() * 6)]
                if (r < 0.4)      print z ".pin._zone." app[int(rand() * napp)], "A"
                else if (r < 0.6) print z ".prefer._zone." app[int(rand() * napp)], "A"
                else if (r < 0.8) print z ".pin._zone." srv[int(rand() * nsrv)], "SRV"
                else if (r < 0.9) print regions[int(rand() * 2)] ".prefer._region." srv[int(rand() * nsrv)], "SRV"
                else              print z ".pin._zone.nope-" i ".marathon.mesos.", "A"
                continue
            }
            if (mix == "single") {
                if (r < 0.8) print task[int(rand() * ntask)], "A"
                else         print "nope-" i ".marathon.mesos.", "A"
                continue
            }
            if (r < 0.4)      print app[int(rand() * napp)], "A"
            else if (r < 0.6) print task[int(rand() * ntask)], "A"
            else if (r < 0.8) print srv[int(rand() * nsrv)], "SRV"
            else if (r < 0.9) print "nope-" i ".marathon.mesos.", "A"
            else              print "_nope-" i "._tcp.marathon.mesos.", "SRV"
        }
    }' "$work/mesos.zone" > "$work/queries.txt"

port=25353
conf() {
    case $1 in
        mesos|base) printf '.:%s {\n    bind 127.0.0.1\n    mesos {\n        masters http://127.0.0.1:25050\n        refresh 1h\n    }\n}\n' $port ;;
        signed) printf '.:%s {\n    bind 127.0.0.1\n    dnssec mesos {\n        key file %s\n    }\n    mesos {\n        masters http://127.0.0.1:25050\n        refresh 1h\n    }\n}\n' $port "$work/$key" ;;
        whoami) printf '.:%s {\n    bind 127.0.0.1\n    whoami\n}\n' $port ;;
        file)   printf '.:%s {\n    bind 127.0.0.1\n    file %s mesos\n}\n' $port "$work/mesos.zone" ;;
    esac
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run() { # server -> "qps latency_ms cpu_us_per_query"
    conf "$1" > "$work/Corefile.$1"
    local bin="$work/coredns"
    [ "$1" = base ] && bin="$work/coredns-base"
    taskset -c 0 "$bin" -conf "$work/Corefile.$1" > "$work/coredns.$1.log" 2>&1 &
    local pid=$!
    # run runs in a command substitution's subshell: this stops the server if it
    # ends early (a wait that fails), and does not touch the script's own trap.
    trap "kill $pid 2>/dev/null || true" EXIT
    wait_dns $port $pid "$work/coredns.$1.log"
    sleep 1 # past the start's allocations, before the measured run
    local out t0 t1
    t0=$(cpu_ticks $pid)
    local do=""
    [ "$1" = signed ] && do="-D" # the DO bit: signed answers
    out=$(taskset -c 1 dnsperf -s 127.0.0.1 -p $port -d "$work/queries.txt" -c 16 -T 1 -q 100 -l "$SECS" $do 2>&1)
    t1=$(cpu_ticks $pid)
    kill $pid; wait $pid 2>/dev/null || true
    local qps lat done_ cpu
    qps=$(echo "$out" | awk '/Queries per second/ {print $4}')
    lat=$(echo "$out" | awk '/Average Latency/ {print $4 * 1000}')
    done_=$(echo "$out" | awk '/Queries completed/ {print $3}')
    # Server CPU time a query: stolen time on a shared host is not counted, so this
    # moves less between runs than queries per second does.
    cpu=$(awk -v t=$((t1 - t0)) -v n="$done_" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
    echo "$qps $lat $cpu"
}

echo "mix=$MIX tasks=$TASKS records=$records queries=$(wc -l < "$work/queries.txt") rounds=$ROUNDS secs=$SECS servers=$SERVERS${BASE:+ base=$BASE}"
printf '%-6s %-8s %12s %12s %14s\n' round server qps avg_lat_ms cpu_us_query
declare -A all cpus
for r in $(seq 1 "$ROUNDS"); do
    for s in $SERVERS; do
        # A command substitution, not read < <(run): a run that fails ends the script.
        out=$(run "$s")
        read -r qps lat cpu <<<"$out"
        all[$s]+="$qps "
        cpus[$s]+="$cpu "
        printf '%-6s %-8s %12s %12s %14s\n' "$r" "$s" "$qps" "$lat" "$cpu"
    done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
m=$(echo "${all[mesos]}" | median)
cm=$(echo "${cpus[mesos]}" | median)
for s in $SERVERS; do
    [ "$s" = mesos ] && continue
    o=$(echo "${all[$s]}" | median); co=$(echo "${cpus[$s]}" | median)
    awk -v s="$s" -v m="$m" -v o="$o" -v cm="$cm" -v co="$co" 'BEGIN {
        printf "median qps: mesos %s, %s %s: mesos/%s %.3fx q/s, %.3fx by CPU a query (mesos %s us, %s %s us)\n", m, s, o, s, m / o, co / cm, cm, s, co }'
done
