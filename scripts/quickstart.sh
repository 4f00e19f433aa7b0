#!/usr/bin/env bash
# Builds CoreDNS with the mesos plugin, the fake Mesos master and mesos-watch, then
# runs CoreDNS and the fake master on loopback: the fake master serves
# testdata/demo/state.json (or $STATE) on 127.0.0.1:5050 and CoreDNS answers on
# 127.0.0.1:1053 (scripts/Corefile.quickstart). Both run in the foreground of this
# terminal until Ctrl-C, which stops both. docs/quickstart.md says what to try.
set -euo pipefail
cd "$(dirname "$0")/.."

# The addresses the quick start serves on. Another program on one of them (an earlier
# quick start still running, a real Mesos master on 5050) would answer in its place:
# stop here and say so.
ports=(5050 "the fake Mesos master"
       1053 "DNS"
       8123 "the mesos plugin's HTTP API"
       9153 "CoreDNS's metrics"
       8181 "CoreDNS's readiness endpoint")
taken=()
for ((i = 0; i < ${#ports[@]}; i += 2)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/${ports[i]}") 2>/dev/null; then
        taken+=("127.0.0.1:${ports[i]}, where the quick start serves ${ports[i + 1]}")
    fi
done
if [ ${#taken[@]} -gt 0 ]; then
    echo "scripts/quickstart.sh: something already listens on:" >&2
    printf '    %s\n' "${taken[@]}" >&2
    echo "Stop it first (an earlier quick start? ss -ltnp shows which process), then run this again." >&2
    exit 1
fi

mkdir -p bin
echo "building bin/coredns, bin/fake-mesos-master and bin/mesos-watch (the first build compiles CoreDNS: minutes on a small machine) ..."
go build -o bin/coredns ./cmd/coredns
go build -o bin/fake-mesos-master ./cmd/fake-mesos-master
go build -o bin/mesos-watch ./cmd/mesos-watch

# Heartbeats every 5 s (a real master's are 15 s apart): a stalled stream is given up
# after three silent intervals, 15 s into the demo rather than 45.
log=$(mktemp)
bin/fake-mesos-master -listen 127.0.0.1:5050 -heartbeat 5s -state "${STATE:-testdata/demo/state.json}" 2> >(tee "$log" >&2) &
fake=$!
trap 'kill $fake 2>/dev/null || true; rm -f "$log"' EXIT
# Ready once it says it serves (only after its listener is up: another program
# listening on 5050 meanwhile cannot pass for it); if it exits first, it has said why.
ready=""
for _ in $(seq 1 600); do
    if grep -q "fake mesos master on" "$log"; then
        ready=1
        break
    fi
    if ! kill -0 "$fake" 2>/dev/null; then
        sleep 0.2 # its last words through tee
        echo "scripts/quickstart.sh: the fake master exited (its error is above)" >&2
        exit 1
    fi
    sleep 0.1
done
if [ -z "$ready" ]; then
    echo "scripts/quickstart.sh: the fake master did not start within a minute" >&2
    exit 1
fi

cat <<'TRY'

CoreDNS is starting on 127.0.0.1:1053. In another terminal, try (docs/quickstart.md
says what each shows):

  dig @127.0.0.1 -p 1053 leader.mesos
  dig @127.0.0.1 -p 1053 web.marathon.mesos
  dig @127.0.0.1 -p 1053 _web._tcp.marathon.mesos SRV
  curl '127.0.0.1:5050/fake/launch?name=api&ports=1'    # a task: api.marathon.mesos at once
  curl '127.0.0.1:5050/fake/kill?name=api'
  curl '127.0.0.1:5050/fake/fault?f=503'                # the master fails: answers stay
  curl '127.0.0.1:5050/fake/fault?f=ok'
  bin/fake-mesos-master -h                              # every control

TRY
bin/coredns -conf scripts/Corefile.quickstart
