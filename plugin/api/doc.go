// Package api is the HTTP API of the mesos plugin: Mesos-DNS's read-only endpoints
// (/v1/version, /v1/config, /v1/hosts, /v1/services, /v1/axfr, /v1/enumerate) in
// Mesos-DNS's JSON shapes, with Consul-style blocking queries on the name endpoints
// that wake only the watchers of a name whose answer changed (the watch hub). It
// answers from the record sets of plugin/records.
//
// It is a part of the mesos CoreDNS plugin (github.com/coredns-mesos/mesos) and
// registers nothing with CoreDNS.
package api
