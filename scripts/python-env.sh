# Sourced by scripts/test.sh: a Python virtualenv in .tools/venv with the Python
# clients end-to-end tests drive (the openai package, for structured outputs with
# pydantic), installed from PyPI once; TEST_PYTHON names its interpreter.
_venv="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.tools/venv"
_wanted="openai==3.57.0 pydantic==2.14.4"
if ! "$_venv/bin/python" -c 'import openai, pydantic' >/dev/null 2>&1; then
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "python-env: installing python3-venv with apt-get" >&2
      (apt-get install -y -qq python3 python3-venv >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq python3 python3-venv; }) >&2
    else
      echo "python-env: python3 with the venv module is required (Debian/Ubuntu: sudo apt-get install python3-venv)" >&2
      exit 1
    fi
  fi
  echo "python-env: creating .tools/venv with $_wanted" >&2
  rm -rf "$_venv"
  python3 -m venv "$_venv"
  # shellcheck disable=SC2086
  "$_venv/bin/pip" install --quiet --disable-pip-version-check $_wanted >&2
fi
export TEST_PYTHON="$_venv/bin/python"
unset _venv _wanted
