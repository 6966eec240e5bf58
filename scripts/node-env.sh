# Sourced by the project's scripts: puts Node.js 24 LTS first on PATH when the machine's
# Node is older (22 included: the tests and the image run on 24; a newer Node is kept).
# The official Node 24 binary is published on the npm registry as the package `node`,
# so we install it into .tools/ once and reuse it (the registry npm ci needs anyway).
NODE_MAJOR_WANTED=24
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_tools="$_root/.tools/node"
_have_major() { command -v node >/dev/null 2>&1 && node -p 'process.versions.node.split(".")[0]' 2>/dev/null; }
if [ -x "$_tools/node_modules/.bin/node" ]; then
  export PATH="$_tools/node_modules/.bin:$PATH"
elif [ "$(_have_major || echo 0)" -lt "$NODE_MAJOR_WANTED" ]; then
  echo "node-env: installing Node.js $NODE_MAJOR_WANTED from the npm registry into .tools/ (machine has $(node --version 2>/dev/null || echo none))" >&2
  mkdir -p "$_tools"
  npm install --prefix "$_tools" --no-save --no-audit --no-fund --loglevel=error "node@$NODE_MAJOR_WANTED" >&2
  export PATH="$_tools/node_modules/.bin:$PATH"
fi
unset _root _tools
