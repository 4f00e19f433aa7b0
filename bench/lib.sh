# Shared by the benchmark scripts: source it after setting TASKS. It makes $work, stops
# what it started (by PID) on exit, builds the binaries, writes a synthetic state, and
# offers start_fake and wait_dns.
command -v dnsperf >/dev/null || { echo "dnsperf is needed (apt-get install dnsperf)"; exit 1; }
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/coredns" ./cmd/coredns
go build -o "$work/fake" ./cmd/fake-mesos-master
go build -o "$work/records" ./cmd/mesos-records
"$work/records" -synth "$TASKS" > "$work/state.json"

# start_fake ADDR: the fake master serving the synthetic state, once it answers.
start_fake() {
    "$work/fake" -listen "$1" -state "$work/state.json" 2>"$work/fake.log" &
    pids+=($!)
    for _ in $(seq 1 600); do
        curl -s -o /dev/null -w '%{http_code}' "http://$1/master/redirect" 2>/dev/null | grep -q 307 && return
        sleep 0.2
    done
    echo "the fake master did not start"; exit 1
}

# wait_dns PORT: until CoreDNS on 127.0.0.1:PORT answers leader.mesos.
wait_dns() {
    for _ in $(seq 1 600); do
        dig @127.0.0.1 -p "$1" +short +time=1 +tries=1 leader.mesos 2>/dev/null | grep -q . && return
        sleep 0.5
    done
    echo "CoreDNS did not answer"; cat "$work/coredns.log"; exit 1
}
