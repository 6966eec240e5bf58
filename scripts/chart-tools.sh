# Sourced by scripts/test.sh: the tools the chart tests (test/chart) need, built with
# the machine's Go from the Go module proxy into .tools/ and reused on later runs.
#   helm        pinned; renders and lints charts/ai-gateway
#   kube-strict tools/kube-strict; decodes manifests into k8s.io/api and Gateway API types, refusing unknown fields
#   kubernetes-validate  pinned, from PyPI into a venv; the Kubernetes OpenAPI schemas of each
#               release, strict (unknown fields refused), an independent second check
# Cold (empty Go caches) both take about 9 minutes on 2 cores; later runs skip helm
# and find kube-strict in the build cache.
HELM_VERSION=v3.22.0
_go="$(command -v go || echo /usr/local/go/bin/go)"
if [ ! -x "$_go" ]; then
  echo "test: Go is required to build helm for the chart tests (https://go.dev/doc/install)" >&2
  exit 1
fi
_helm_dir="$PWD/.tools/helm-$HELM_VERSION"
if [ ! -x "$_helm_dir/helm" ]; then
  echo "test: building helm $HELM_VERSION with go install (first run only)" >&2
  GOBIN="$_helm_dir" GOFLAGS="${GOFLAGS:-} -buildvcs=false" "$_go" install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
fi
# go build's cache makes this a no-op unless tools/kube-strict changed.
(cd tools/kube-strict && GOFLAGS="${GOFLAGS:-} -buildvcs=false" "$_go" build -o "$OLDPWD/.tools/bin/kube-strict" .)
KUBERNETES_VALIDATE_VERSION=1.37.0
_kv_dir="$PWD/.tools/kubernetes-validate-$KUBERNETES_VALIDATE_VERSION"
# Run, not just present: a venv copied from another checkout points at a python that is gone.
if ! "$_kv_dir/bin/kubernetes-validate" --help >/dev/null 2>&1; then
  rm -rf "$_kv_dir"
  echo "test: installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION from PyPI (first run only)" >&2
  python3 -m venv "$_kv_dir"
  "$_kv_dir/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
fi
export KUBERNETES_VALIDATE_BIN="$_kv_dir/bin/kubernetes-validate"
export HELM_BIN="$_helm_dir/helm"
export KUBE_STRICT_BIN="$PWD/.tools/bin/kube-strict"
unset _go _helm_dir _kv_dir
