# Shared by the benchmark scripts (source it): waits that end when what they wait for
# is ready, or fail at once with the reason (the process's own log) when it exited,
# instead of sleeping a fixed time and going on against nothing; and a line naming the
# command that failed when set -e ends a script, which would otherwise end silently.
set -E
trap 'st=$?; echo "$0: line $LINENO: $BASH_COMMAND: exit status $st" >&2' ERR

# wait_fake PID ADDR LOG: until the fake master started as PID (its stderr in LOG)
# serves on ADDR. A large synthetic state takes seconds to load (1.8 s at 10k tasks).
wait_fake() {
    local pid=$1 addr=$2 log=$3
    for _ in $(seq 1 3000); do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "$0: the fake master exited before serving on $addr:" >&2
            cat "$log" >&2
            exit 1
        fi
        # Its own line first: another program on ADDR cannot pass for it.
        if grep -q "fake mesos master on" "$log" &&
            [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/master/redirect")" = 307 ]; then
            return 0
        fi
        sleep 0.2
    done
    echo "$0: the fake master did not serve on $addr within 10 minutes:" >&2
    cat "$log" >&2
    exit 1
}

# wait_dns PORT PID LOG: until the CoreDNS started as PID (its output in LOG) answers
# leader.mesos on 127.0.0.1:PORT with NOERROR (the mesos plugin answers SERVFAIL until
# it has the master's state; whoami and file answer at once).
wait_dns() {
    local port=$1 pid=$2 log=$3
    for _ in $(seq 1 1200); do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "$0: CoreDNS exited before answering on 127.0.0.1:$port:" >&2
            cat "$log" >&2
            exit 1
        fi
        if dig @127.0.0.1 -p "$port" +time=1 +tries=1 leader.mesos 2>/dev/null | grep -q "status: NOERROR"; then
            return 0
        fi
        sleep 0.5
    done
    echo "$0: CoreDNS did not answer leader.mesos on 127.0.0.1:$port within 10 minutes:" >&2
    cat "$log" >&2
    exit 1
}
