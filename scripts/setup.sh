#!/usr/bin/env bash
# Prepare a Debian 12 machine for `make demo` / `make test`. Idempotent and fast when all is present:
#   1. apt-get install the Debian packages (QGIS, GDAL, NumPy, SciPy, Xvfb) if any is missing;
#   2. create .venv with access to the system packages (QGIS's Python bindings) if missing;
#   3. pip install -r requirements.txt when requirements.txt changed since the last install
#      or a package in it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(qgis python3-qgis qgis-providers python3-gdal python3-scipy python3-numpy python3-matplotlib
                 libopenblas0-pthread xvfb)
VENV=.venv
STAMP="$VENV/.requirements.sha256"

missing=()
for package in "${DEBIAN_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi

if [ ! -x "$VENV/bin/python" ]; then
    echo "setup: creating $VENV"
    /usr/bin/python3 -m venv --system-site-packages "$VENV"
fi

wanted="$(sha256sum requirements.txt | cut -d' ' -f1)"
installed="$(cat "$STAMP" 2>/dev/null || true)"
if [ "$wanted" != "$installed" ] || ! "$VENV/bin/python" - <<'PY' 2>/dev/null
import importlib.util, sys
sys.exit(any(importlib.util.find_spec(m) is None
             for m in ("numpy", "torch", "torchvision", "distributed", "pytest", "pytest_qgis", "pytest_timeout",
                       "ruff")))
PY
then
    echo "setup: pip install -r requirements.txt"
    "$VENV/bin/python" -m pip install --disable-pip-version-check -r requirements.txt
    echo "$wanted" > "$STAMP"
fi
"$VENV/bin/python" -c "import qgis.core, osgeo.gdal, scipy, numpy" \
    || { echo "setup: QGIS/GDAL Python bindings are not importable from $VENV" >&2; exit 1; }
echo "setup: ready"
