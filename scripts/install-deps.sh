#!/usr/bin/env bash
# Installs every Debian package that building, testing and running the workbench needs.
# Skips what is already installed; uses sudo only when not root. Safe to run repeatedly.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  qt6-base-dev qt6-base-dev-tools libqt6opengl6-dev qt6-qpa-plugins qt6-svg-dev
  libqcustomplot-dev libeigen3-dev libhdf5-dev hdf5-tools nlohmann-json3-dev libomp-dev
  xvfb xauth clang-format
  # scripts/check-package.sh (dpkg-shlibdeps computes the .deb's Depends; the desktop checks;
  # python3 reads `loraquant inspect --json`)
  dpkg-dev desktop-file-utils shared-mime-info python3
  # scripts/run-fuzzers.sh and run-sanitizers.sh: clang and its runtime libraries (libFuzzer,
  # ASan, UBSan; libomp-dev above is its OpenMP)
  clang-14 libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
