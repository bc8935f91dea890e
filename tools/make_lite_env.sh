#!/usr/bin/env bash
# Create the Paddle-Lite toolchain environment: Python 3.10 + paddlelite 2.13rc0 + numpy<2.
# Usage: bash tools/make_lite_env.sh [DEST]   (DEST defaults to <repo>/.venv-lite)
# The Python 3.10 interpreter comes from $TINYPOSE_LITE_PYTHON_BIN, else pyenv, else python3.10 on PATH.
# Without one it creates nothing, says how to add it and exits 0: the main environment does not
# need it, only the Lite nodes do. DEST/.installed marks a finished environment (make reruns this
# script until it exists).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${1:-$repo/.venv-lite}"
constraints="$repo/constraints-lite.txt"
check='import sys, numpy, paddlelite.lite; assert sys.version_info[:2] == (3, 10) and numpy.__version__ < "2"'

if [[ -x "$dest/bin/python" && -x "$dest/bin/paddle_lite_opt" ]] && "$dest/bin/python" -c "$check" 2>/dev/null; then
    echo "Paddle-Lite environment already present: $dest/bin/python"
    touch "$dest/.installed"
    exit 0
fi

find_python310() {
    if [[ -n "${TINYPOSE_LITE_PYTHON_BIN:-}" ]]; then
        echo "$TINYPOSE_LITE_PYTHON_BIN"; return
    fi
    if command -v pyenv >/dev/null 2>&1; then
        local prefix
        for version in 3.10.13 $(pyenv versions --bare 2>/dev/null | grep -E '^3\.10(\.|$)' || true); do
            if prefix="$(pyenv prefix "$version" 2>/dev/null)" && [[ -x "$prefix/bin/python3.10" ]]; then
                echo "$prefix/bin/python3.10"; return
            fi
        done
    fi
    if command -v python3.10 >/dev/null 2>&1; then
        command -v python3.10; return
    fi
    return 1
}

if ! python_bin="$(find_python310)"; then
    echo "note: Paddle-Lite environment skipped: no Python 3.10 found (paddlelite's wheels stop at 3.10);" \
         "everything but the Lite nodes works. To add it: install Python 3.10 (e.g. 'pyenv install 3.10')" \
         "or set TINYPOSE_LITE_PYTHON_BIN=/path/to/python3.10, then run 'make setup' again." >&2
    exit 0
fi
if ! [[ -x "$python_bin" ]] && ! command -v "$python_bin" >/dev/null 2>&1; then
    echo "error: $python_bin (TINYPOSE_LITE_PYTHON_BIN) is not an executable Python 3.10." >&2
    exit 1
fi
version="$("$python_bin" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [[ "$version" != "3.10" ]]; then
    echo "error: $python_bin is Python $version; the Paddle-Lite environment needs Python 3.10." >&2
    exit 1
fi

echo "creating $dest with $python_bin"
"$python_bin" -m venv "$dest"
"$dest/bin/python" -m pip install --quiet --upgrade pip
"$dest/bin/python" -m pip install --quiet -c "$constraints" paddlelite "numpy<2"
"$dest/bin/python" -c 'import numpy, paddlelite.lite as lite; print("paddlelite OK, numpy", numpy.__version__)'
test -x "$dest/bin/paddle_lite_opt" || { echo "error: $dest/bin/paddle_lite_opt missing after install" >&2; exit 1; }
touch "$dest/.installed"
echo "Paddle-Lite environment ready: $dest/bin/python"
