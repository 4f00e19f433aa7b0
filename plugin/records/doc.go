// Package records is the record engine of the mesos plugin: it turns a Mesos cluster
// (a decoded state, or the changes the event stream made) into an immutable record
// Set of Mesos-DNS's names, and answers from it.
//
// An Updater keeps the records in step with the cluster: the first state is built in
// bulk, every later one or event changes only the names it touched, and Publish seals
// the batch into a new Set that shares everything else with the one before. A Set is
// read by any number of goroutines without locks: Lookup and LookupLimit for DNS
// queries, Walk for zone transfers, Find and Names for the HTTP API. The Failover gate
// keeps the records whole through a master failover.
//
// It is a part of the mesos CoreDNS plugin (github.com/coredns-mesos/mesos) and
// registers nothing with CoreDNS: it imports no CoreDNS, caddy or Prometheus package.
package records
