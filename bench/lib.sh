# Shared by the benchmark scripts: source it after setting TASKS. It makes $work, stops
# what it started (by PID) on exit, builds the binaries, writes a synthetic state (or
# copies STATE), and offers start_fake and, from wait.sh, wait_dns.
. "$(dirname "${BASH_SOURCE[0]}")/wait.sh"
command -v dnsperf >/dev/null || { echo "dnsperf is needed (apt-get install dnsperf)"; exit 1; }
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/coredns" ./cmd/coredns
go build -o "$work/fake" ./cmd/fake-mesos-master
go build -o "$work/records" ./cmd/mesos-records
if [ -n "${STATE:-}" ]; then
    # The same state for two builds compared (each tree's synth may differ).
    cp "$STATE" "$work/state.json"
else
    "$work/records" -synth "$TASKS" > "$work/state.json"
fi

# start_fake ADDR: the fake master serving the synthetic state, once it serves.
start_fake() {
    "$work/fake" -listen "$1" -state "$work/state.json" 2>"$work/fake.log" &
    pids+=($!)
    wait_fake $! "$1" "$work/fake.log"
}
