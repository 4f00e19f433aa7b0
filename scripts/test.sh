#!/usr/bin/env bash
# README's test command: the whole suite, as CI runs it, on a fresh Debian or Ubuntu
# machine with Go.
#
#   scripts/test.sh                        # MESOS_TEST_ALL=1 go test -race -count=1 ./...
#   scripts/test.sh -run ZooKeeper ./test  # the same, with other go test arguments
#
# MESOS_TEST_ALL=1 makes a test that lacks what it needs fail instead of skipping, so
# this script first gets what the suite needs: dig (dnsutils), nginx (nginx-light),
# ZooKeeper and a Java runtime (zookeeper), BIND (bind9) and Knot (knot) as secondaries,
# unbound as a validating resolver,
# curl, unshare (util-linux), installed with
# apt-get, and root, for the test that binds port 53 on a loopback address and runs the shell recipes
# in a mount namespace (unshare -m). Without root it installs nothing: it says what is
# missing and exits 1 before building anything.
#
# The first run compiles CoreDNS and its dependencies, with the race detector: minutes
# on a small machine. Later runs take what changed from Go's build cache.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin"

if ! command -v go >/dev/null; then
    echo "scripts/test.sh: go is not on PATH (nor in /usr/local/go/bin): install Go first (see go.mod for the version)" >&2
    exit 1
fi

need=()
command -v dig >/dev/null || need+=(dnsutils)
command -v nginx >/dev/null || need+=(nginx-light)
command -v unshare >/dev/null || need+=(util-linux)
command -v curl >/dev/null || need+=(curl)
[ -x /usr/share/zookeeper/bin/zkServer.sh ] || need+=(zookeeper)
# The zone's secondaries in the transfer tests: BIND and Knot, run by the tests on
# loopback ports of their own.
command -v named >/dev/null || need+=(bind9)
command -v knotd >/dev/null || need+=(knot)
# A validating resolver for the signed zone's test.
command -v unbound >/dev/null || need+=(unbound)
# ZooKeeper's script needs java; the zookeeper package brings one, a removed JRE does not.
command -v java >/dev/null || [[ " ${need[*]} " == *" zookeeper "* ]] || need+=(default-jre-headless)

if [ "$(id -u)" -ne 0 ]; then
    msg="one test needs root (it binds port 53 on a loopback address and runs unshare -m)"
    if [ ${#need[@]} -gt 0 ]; then
        msg="$msg, and these Debian packages are missing: ${need[*]}"
    fi
    cat >&2 <<EOF
scripts/test.sh: $msg.
Run it as root, which installs what is missing with apt-get:
    sudo env PATH="\$PATH" scripts/test.sh
or, without root, the tests that need nothing of this (the others skip, saying why):
    go test -race ./...
EOF
    exit 1
fi

if [ ${#need[@]} -gt 0 ]; then
    if ! command -v apt-get >/dev/null; then
        echo "scripts/test.sh: missing ${need[*]} (Debian package names), and there is no apt-get to install them" >&2
        exit 1
    fi
    echo "--- apt-get install ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # The packages' own services (BIND and Knot on port 53) are not started: the
    # tests start what they need where they need it. A policy that refuses every
    # start, for this install only, unless the machine has one of its own.
    policy=/usr/sbin/policy-rc.d
    own_policy=""
    if [ ! -e "$policy" ]; then
        own_policy=1
        printf '#!/bin/sh\nexit 101\n' > "$policy"
        chmod +x "$policy"
    fi
    apt-get install -y -q --no-install-recommends "${need[@]}"
    if [ -n "$own_policy" ]; then
        rm -f "$policy"
    fi
fi

go version
if [ $# -eq 0 ]; then
    set -- ./...
fi
echo "--- MESOS_TEST_ALL=1 go test -race -count=1 $* (a cold first build compiles CoreDNS: minutes on a small machine)"
export MESOS_TEST_ALL=1
exec go test -race -count=1 "$@"
