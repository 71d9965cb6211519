#!/usr/bin/env bash
# Sets up a fresh machine for aha: Debian packages, then a cached Python venv that holds the PyPI torch
# wheel (its torch/share/cmake is the LibTorch we build against). Idempotent: a second run only checks.
# The venv lives outside the checkout (AHA_CACHE, default ~/.cache/aha) so every clone shares it.
set -euo pipefail
AHA_CACHE=${AHA_CACHE:-$HOME/.cache/aha}
TORCH_VERSION=${TORCH_VERSION:-2.11.0}
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
