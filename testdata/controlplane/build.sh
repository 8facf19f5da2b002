#!/usr/bin/env bash
# Builds the local control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kwok) into the XDG cache. Rebuilds only when the pin changes.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
KWOK_VERSION="v0.8.0"
key="$(cat "$here/go.mod" "$here/go.sum" "$here/build.sh" | sha256sum | cut -c1-16)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/wotr-tui/controlplane"
out="$cache/$key"
if [[ -f "$out/.complete" ]]; then
  echo "controlplane: up to date in $out"
  ln -sfn "$out" "$cache/current"
  exit 0
fi
mkdir -p "$out/bin" "$out/stages"
export CGO_ENABLED=0 GOFLAGS=-trimpath
# Stripped binaries are a third smaller; nothing here is debugged with symbols.
ld=(-ldflags "-s -w")
# Stamp the Kubernetes version, as its release build does: /version and
# client version-skew checks otherwise see v0.0.0-master.
kver="$(awk '$1 == "k8s.io/kubernetes" { print $2; exit }' "$here/go.mod")"
kminor="$(echo "$kver" | cut -d. -f2)"
vpkg=k8s.io/component-base/version
kld=(-ldflags "-s -w -X $vpkg.gitVersion=$kver -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=$kminor -X $vpkg.gitTreeState=clean -X $vpkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)")
step() { echo "controlplane: [$1/6] $2 ($(date +%H:%M:%S))"; }
cd "$here"
step 1 "etcd";                    go build "${ld[@]}" -o "$out/bin/etcd" go.etcd.io/etcd/server/v3
step 2 "kube-apiserver";          go build "${kld[@]}" -o "$out/bin/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
step 3 "kube-controller-manager"; go build "${kld[@]}" -o "$out/bin/kube-controller-manager" k8s.io/kubernetes/cmd/kube-controller-manager
step 4 "kube-scheduler";          go build "${kld[@]}" -o "$out/bin/kube-scheduler" k8s.io/kubernetes/cmd/kube-scheduler
step 5 "kwok $KWOK_VERSION";      GOBIN="$out/bin" go install "${ld[@]}" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
step 6 "kwok stages"
moddir="$(go env GOMODCACHE)/sigs.k8s.io/kwok@$KWOK_VERSION"
if [[ ! -d "$moddir/kustomize/stage" ]]; then
  (cd "$(mktemp -d)" && go mod download "sigs.k8s.io/kwok@$KWOK_VERSION")
fi
# Only the fast node and pod stages: other directories reuse the same file
# names (pod/general/pod-ready.yaml) and testdata holds sample objects.
for d in node/fast node/heartbeat pod/fast; do
  find "$moddir/kustomize/stage/$d" -maxdepth 1 -name '*.yaml' ! -name 'kustomization.yaml' -exec cp {} "$out/stages/" \;
done
chmod -R u+w "$out/stages"
touch "$out/.complete"
previous="$(readlink "$cache/current" || true)"
ln -sfn "$out" "$cache/current"
# Keep this build and the one before it (a running cluster may still use it).
for d in "$cache"/*/; do
  d="${d%/}"
  [[ -L "$d" ]] && continue
  if [[ "$d" != "$out" && "$d" != "$previous" && -f "$d/.complete" ]]; then
    echo "controlplane: removing old build $d"
    rm -rf "$d"
  fi
done
echo "controlplane: built into $out"
