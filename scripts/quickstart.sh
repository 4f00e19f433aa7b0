#!/usr/bin/env bash
# Builds CoreDNS with the mesos plugin and the fake Mesos master, then runs both on
# loopback: the fake master serves testdata/demo/state.json (or $STATE) on
# 127.0.0.1:5050 and CoreDNS answers on 127.0.0.1:1053. Both run in the foreground of
# this terminal until Ctrl-C, which stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bin
echo "building bin/coredns and bin/fake-mesos-master ..."
go build -o bin/coredns ./cmd/coredns
go build -o bin/fake-mesos-master ./cmd/fake-mesos-master
bin/fake-mesos-master -listen 127.0.0.1:5050 -state "${STATE:-testdata/demo/state.json}" &
fake=$!
trap 'kill $fake 2>/dev/null || true' EXIT
cat <<'TRY'

CoreDNS is starting on 127.0.0.1:1053. In another terminal, try:

  dig @127.0.0.1 -p 1053 leader.mesos
  dig @127.0.0.1 -p 1053 web.marathon.mesos
  dig @127.0.0.1 -p 1053 _web._tcp.marathon.mesos SRV
  dig @127.0.0.1 -p 1053 _http._nginx-frontend._tcp.marathon.mesos SRV
  dig @127.0.0.1 -p 1053 cassandra-seed.marathon.mesos AAAA
  dig @127.0.0.1 -p 1053 mesos AXFR
  curl -s 127.0.0.1:8123/v1/services/_web._tcp.marathon.mesos
  curl -si '127.0.0.1:8123/v1/hosts/web.marathon.mesos?index=1'   # the index is in X-Mesos-Index
  curl -s 127.0.0.1:9153/metrics | grep coredns_mesos_
  curl '127.0.0.1:5050/fake/fault?f=503'   # make the master fail; answers stay
  curl '127.0.0.1:5050/fake/fault?f=ok'    # and healthy again

TRY
bin/coredns -conf scripts/Corefile.quickstart
