#!/usr/bin/env bash
# Start to first answer: how long after it is started a server answers a name of a
# large synthetic cluster, for CoreDNS with the mesos plugin and for Mesos-DNS, both
# loading the same state from the same fake master on loopback. They alternate (CoreDNS,
# Mesos-DNS, CoreDNS, ...) for ROUNDS rounds; the script prints each run's seconds and
# peak RSS, and the ratio CoreDNS / Mesos-DNS with its min, median and max.
#
#   MESOS_DNS_SRC=/path/to/mesos-dns bench/firstanswer.sh    # 100k tasks, 3 rounds
#   TASKS=10000 ROUNDS=2 bench/firstanswer.sh                 # quick (Mesos-DNS built once)
#   MODE=auto bench/firstanswer.sh    # the plugin's default mode: the v1 event stream
#   PIN=0 bench/firstanswer.sh        # the server on both CPUs, not CPU 0 alone
#
# The clock starts just before the server is started (bash's EPOCHREALTIME) and stops
# when bench/probe, asking every 10 ms over UDP, gets an A record for NAME (default
# app-0-0.marathon.mesos., in every synthetic state); the peak RSS is the server's VmHWM
# at that moment. The server is pinned to CPU 0, the fake master and the probe to CPU 1
# (when taskset and two CPUs are there). Each server is stopped by its PID after its run.
# The records are compared once (dig, first round): both must answer NAME alike.
#
# MODE (default poll) is the plugin's mode: poll fetches /master/state as Mesos-DNS does,
# a body the fake master renders once and caches. auto and stream subscribe to the v1
# API instead, whose snapshot the fake master converts from the state on every
# SUBSCRIBE (seconds at 100k tasks, on CPU 1): that time is counted against the plugin.
#
# Mesos-DNS: MESOS_DNS_BIN, a mesos-dns binary, or else .cache/mesos-dns/mesos-dns,
# built from MESOS_DNS_SRC when missing (rm -rf .cache/mesos-dns to rebuild). It is
# github.com/mesosphere/mesos-dns (tested at e888ef4, its master), built in GOPATH mode
# with its own vendor/ tree (GO111MODULE=off, GOPROXY=off: nothing is downloaded); it
# builds with Go 1.26 unchanged. MESOS_DNS_SRC is its source tree or a git directory of
# it (its HEAD is taken with git archive):
#   git clone https://github.com/mesosphere/mesos-dns /tmp/mesos-dns
#   MESOS_DNS_SRC=/tmp/mesos-dns bench/firstanswer.sh
# Its config.json: the fake master as its only master, no ZooKeeper, refreshSeconds 60
# (only the first load is measured), stateTimeoutSeconds 600, DNS on 127.0.0.1 only, no
# HTTP, no forwarding (externalOn false), domain mesos, IPSources its default. The
# Corefile matches it: refresh 60s, timeout 600s.
#
# Figures are only worth comparing from a quiet machine: the load of other processes
# lands on whichever server runs at that moment.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/wait.sh
TASKS=${TASKS:-100000}
ROUNDS=${ROUNDS:-3}
MODE=${MODE:-poll}
NAME=${NAME:-app-0-0.marathon.mesos.}
MESOS_DNS_BIN=${MESOS_DNS_BIN:-}
MESOS_DNS_SRC=${MESOS_DNS_SRC:-}

fail() { echo "$0: $*" >&2; exit 1; }
for c in go curl dig git; do
    command -v "$c" >/dev/null || fail "$c is needed"
done
case $MODE in auto|stream|poll) ;; *) fail "MODE=$MODE: auto, stream or poll" ;; esac
[[ $TASKS =~ ^[1-9][0-9]*$ ]] || fail "TASKS=$TASKS: a number of tasks"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || fail "ROUNDS=$ROUNDS: a number of rounds"
# Pinned where taskset is and there are two CPUs: the server alone on CPU 0. PIN=0
# leaves the server both CPUs (the fake master and the probe still on CPU 1), as a
# server on a host of its own has them: what each server does with a second core
# counts then.
pin0=() pin1=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    pin0=(taskset -c 0) pin1=(taskset -c 1)
    if [ "${PIN:-1}" = 0 ]; then
        pin0=()
    fi
else
    echo "$0: taskset or a second CPU missing: nothing is pinned" >&2
fi

# Mesos-DNS first: the piece most likely missing, before minutes of other builds.
if [ -n "$MESOS_DNS_BIN" ]; then
    [ -x "$MESOS_DNS_BIN" ] || fail "MESOS_DNS_BIN=$MESOS_DNS_BIN is not an executable"
else
    MESOS_DNS_BIN=$PWD/.cache/mesos-dns/mesos-dns
    if [ ! -x "$MESOS_DNS_BIN" ]; then
        [ -n "$MESOS_DNS_SRC" ] || fail "no Mesos-DNS binary at $MESOS_DNS_BIN: set MESOS_DNS_BIN to one, or MESOS_DNS_SRC to its source (git clone https://github.com/mesosphere/mesos-dns) to build it there"
        gopath=$PWD/.cache/mesos-dns/gopath
        dst=$gopath/src/github.com/mesosphere/mesos-dns
        rm -rf "$dst"
        mkdir -p "$dst"
        if [ -f "$MESOS_DNS_SRC/main.go" ]; then
            cp -a "$MESOS_DNS_SRC/." "$dst/"
        elif git --git-dir="$MESOS_DNS_SRC" rev-parse -q --verify HEAD >/dev/null 2>&1; then
            git --git-dir="$MESOS_DNS_SRC" archive HEAD | tar -x -C "$dst"
        else
            fail "MESOS_DNS_SRC=$MESOS_DNS_SRC is neither Mesos-DNS's source (main.go) nor a git directory of it"
        fi
        [ -d "$dst/vendor" ] || fail "$MESOS_DNS_SRC has no vendor/ tree: it is built in GOPATH mode from it"
        echo "building Mesos-DNS in $gopath (GOPATH mode, its vendor/ tree)" >&2
        (cd "$dst" && GO111MODULE=off GOPATH=$gopath GOFLAGS='' GOPROXY=off GOTOOLCHAIN=local \
            go build -o "$MESOS_DNS_BIN" .) || fail "Mesos-DNS did not build from $MESOS_DNS_SRC"
    fi
fi

work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

go build -o "$work/coredns" ./cmd/coredns
go build -o "$work/fake" ./cmd/fake-mesos-master
go build -o "$work/records" ./cmd/mesos-records
go build -o "$work/probe" ./bench/probe

master=127.0.0.1:28050
port_coredns=28354
port_mesosdns=28353
for p in 28050 $port_coredns $port_mesosdns; do
    # Another server there would answer for ours (or keep ours from starting).
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then fail "127.0.0.1:$p is in use"; fi
done

"$work/records" -synth "$TASKS" > "$work/state.json"
"${pin1[@]}" "$work/fake" -listen $master -state "$work/state.json" 2>"$work/fake.log" &
fake=$!
pids+=("$fake")
wait_fake "$fake" $master "$work/fake.log"
# The fake master renders and gzips the state once, on the first request: not in a run.
bytes=$(curl -s -H 'Accept-Encoding: gzip' -o /dev/null -w '%{size_download}' "http://$master/master/state")
size=$(curl -s -o /dev/null -w '%{size_download}' "http://$master/master/state")

printf '.:%s {\n    bind 127.0.0.1\n    mesos {\n        masters http://%s\n        mode %s\n        refresh 60s\n        timeout 600s\n    }\n}\n' \
    $port_coredns $master "$MODE" > "$work/Corefile"
cat > "$work/config.json" <<EOF
{
  "masters": ["$master"],
  "zk": "",
  "refreshSeconds": 60,
  "stateTimeoutSeconds": 600,
  "port": $port_mesosdns,
  "listener": "127.0.0.1",
  "domain": "mesos",
  "dnsOn": true,
  "httpOn": false,
  "externalOn": false
}
EOF

# run SERVER ROUND: start it, time its first answer, stop it; sets $result to
# "seconds peak_rss_kB".
run() {
    local s=$1 r=$2 port cmd
    case $s in
        coredns) port=$port_coredns cmd=("$work/coredns" -conf "$work/Corefile") ;;
        mesos-dns) port=$port_mesosdns cmd=("$MESOS_DNS_BIN" -config "$work/config.json") ;;
    esac
    local log=$work/$s.$r.log
    local t0=${EPOCHREALTIME/[.,]/}
    "${pin0[@]}" "${cmd[@]}" > "$log" 2>&1 &
    local pid=$!
    pids+=("$pid")
    if ! result=$("${pin1[@]}" "$work/probe" -server "127.0.0.1:$port" -name "$NAME" -pid "$pid" -needs "$fake" -since "$t0"); then
        echo "$0: $s (round $r) did not answer $NAME; its log, and the fake master's:" >&2
        tail -n 20 "$log" "$work/fake.log" >&2
        exit 1
    fi
    if [ "$r" = 1 ]; then
        dig @127.0.0.1 -p "$port" +short +tries=2 +time=5 "$NAME" A | sort > "$work/answer.$s"
    fi
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    local keep=() p
    for p in "${pids[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
    pids=("${keep[@]}")
}

echo "tasks=$TASKS state=$((size / 1000000)) MB ($((bytes / 1000000)) MB gzipped) rounds=$ROUNDS mode=$MODE name=$NAME"
echo "mesos-dns=$MESOS_DNS_BIN"
printf '%-6s %-10s %16s %12s\n' round server first_answer_s peak_rss_mb
declare -A secs rss
for r in $(seq 1 "$ROUNDS"); do
    for s in coredns mesos-dns; do
        run "$s" "$r"
        read -r t k <<<"$result"
        secs[$s]+="$t "
        rss[$s]+="$((k / 1024)) "
        printf '%-6s %-10s %16s %12s\n' "$r" "$s" "$t" "$((k / 1024))"
    done
    if [ "$r" = 1 ] && ! cmp -s "$work/answer.coredns" "$work/answer.mesos-dns"; then
        echo "$0: the two servers answer $NAME differently:" >&2
        diff "$work/answer.coredns" "$work/answer.mesos-dns" >&2 || true
        exit 1
    fi
done

# stats: "min median max" of the numbers on stdin (the median of an even count is the
# mean of the middle two).
stats() {
    tr ' ' '\n' | grep . | sort -g | awk '{ a[NR] = $1 }
        END { m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
              printf "%.3f %.3f %.3f\n", a[1], m, a[NR] }'
}
read -ra a <<<"${secs[coredns]}"
read -ra b <<<"${secs[mesos-dns]}"
ratios=""
for i in "${!a[@]}"; do
    ratios+="$(awk -v x="${a[$i]}" -v y="${b[$i]}" 'BEGIN { printf "%.3f", x / y }') "
done
echo "ratio coredns / mesos-dns by round: $ratios"
for s in coredns mesos-dns; do
    read -r lo med hi < <(echo "${secs[$s]}" | stats)
    read -r rlo rmed rhi < <(echo "${rss[$s]}" | stats)
    printf '%-10s first answer min/median/max %s/%s/%s s; peak RSS min/median/max %.0f/%.0f/%.0f MB\n' \
        "$s" "$lo" "$med" "$hi" "$rlo" "$rmed" "$rhi"
done
read -r lo med hi < <(echo "$ratios" | stats)
echo "ratio coredns / mesos-dns: min $lo, median $med, max $hi (below 1: CoreDNS answers first)"
