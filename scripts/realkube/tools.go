//go:build tools

// Package tools pins the real Kubernetes API server and etcd for kubegroup's tests.
//
// This module only names what scripts/kube-cluster builds: kube-apiserver from
// k8s.io/kubernetes and etcd from go.etcd.io/etcd/server/v3, at the versions in go.mod.
// k8s.io/kubernetes points its staging modules (k8s.io/api, client-go, ...) at
// ./staging with replace lines that Go ignores in a dependency, so go.mod replaces each
// of them with the matching published v0.X.Y release (scripts/realkube/update writes them).
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
