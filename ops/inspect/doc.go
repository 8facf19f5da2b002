// Package inspect reads what a cluster says about the platform's objects: a
// pod's container log (follow, previous container, timestamps), the
// events of an object or of the namespace, and a Deployment with its pods. The console's log view and its
// drill-ins, and `:events`, read through it; backends/kube implements the
// readers with the Kubernetes API, so it works on any cluster.
package inspect
