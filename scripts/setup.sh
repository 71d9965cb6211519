#!/usr/bin/env bash
# Sets up a fresh machine for aha: Debian packages, then a cached Python venv that holds the PyPI torch
# wheel (its torch/share/cmake is the LibTorch we build against) and the PyPI pyarrow wheel (its headers and
# libarrow/libparquet are the Arrow C++ we read Parquet with; Debian has no Arrow package). Idempotent: a
# second run only checks.
# The venv lives outside the checkout (AHA_CACHE, default ~/.cache/aha) so every clone shares it.
set -euo pipefail
AHA_CACHE=${AHA_CACHE:-$HOME/.cache/aha}
TORCH_VERSION=${TORCH_VERSION:-2.11.0}
PYARROW_VERSION=${PYARROW_VERSION:-26.0.1}
packages=(cmake ninja-build ccache g++ nlohmann-json3-dev libre2-dev catch2 libcli11-dev bubblewrap libseccomp-dev
  libicu-dev zlib1g-dev python3)  # python3: the code reward runs candidate programs with it

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

venv="$AHA_CACHE/venv"
stamp="$venv/.aha-torch-$TORCH_VERSION"
if [ ! -f "$stamp" ]; then
  echo "setup: creating $venv with torch==$TORCH_VERSION (several GB, first time only)"
  mkdir -p "$AHA_CACHE"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "torch==$TORCH_VERSION"
  touch "$stamp"
fi
"$venv/bin/python" -W ignore -c 'import torch.utils; print(torch.utils.cmake_prefix_path)' 2>/dev/null > "$AHA_CACHE/torch_cmake_prefix"

# arrow_root: the pyarrow package folder (include/ and libarrow.so.NNNN), passed by `make configure` as
# -DAHA_ARROW_ROOT; cmake/FindAhaArrow.cmake also asks this venv itself when a build dir lacks it.
stamp="$venv/.aha-pyarrow-$PYARROW_VERSION"
if [ ! -f "$stamp" ]; then
  echo "setup: installing pyarrow==$PYARROW_VERSION into $venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "pyarrow==$PYARROW_VERSION"
  touch "$stamp"
fi
"$venv/bin/python" -c 'import os, pyarrow; print(os.path.dirname(pyarrow.__file__))' > "$AHA_CACHE/arrow_root"
