#!/usr/bin/env bash
# Builds the Debian package (packaging/CMakeLists.txt) in build-pkg, unpacks it with `dpkg -x`
# into a scratch root and checks what a person installing it would get:
#   - every library the installed executables link is found and belongs to a package the .deb
#     depends on (so the Depends line is right for a minimal install), and the Qt plugin
#     packages no ELF header names are listed;
#   - the installed `loraquant --version` prints the project's version and `loraquant inspect`
#     reads a real shared adapter (skipped with a message when ../shared is absent) and the
#     installed example adapter;
#   - with the workbench: it starts offscreen from the scratch root and opens its example, the
#     .desktop entry validates and names an installed executable, icon and the MIME type, and
#     shared-mime-info maps *.lqa.h5 to that type.
# Fails (non-zero) on any problem.
#
#   LQ_PKG_BUILD_DIR  build folder (default build-pkg, configured here without tests).
#                     An existing Release tree (CI passes build/, which scripts/run-tests.sh
#                     made) is used as it is: the package is made from its executables, with no
#                     second build; it must be a plain Release build (no sanitizers, no fuzzers).
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${LQ_PKG_BUILD_DIR:-build-pkg}
shared_dir=${LQ_SHARED_DIR:-$(cd .. && pwd)/shared}
failures=0
fail() {
  echo "check-package: FAIL: $*" >&2
  failures=$((failures + 1))
}
ok() { echo "check-package: ok: $*"; }

for tool in dpkg-shlibdeps dpkg-deb cpack; do
  command -v "$tool" >/dev/null || { echo "check-package: $tool missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
done

cache_value() { sed -n "s/^$1:[A-Z]*=//p" "$build_dir/CMakeCache.txt"; }
if [ -f "$build_dir/CMakeCache.txt" ] && [ "$build_dir" != build-pkg ]; then
  # Someone else's tree: build only what is installed, and refuse what must not be shipped.
  if [ "$(cache_value CMAKE_BUILD_TYPE)" != Release ] || [ "$(cache_value LQ_SANITIZE)" = ON ] ||
    [ "$(cache_value LQ_BUILD_FUZZERS)" = ON ]; then
    echo "check-package: $build_dir is not a plain Release build; use another LQ_PKG_BUILD_DIR" >&2
    exit 1
  fi
  targets=(loraquant)
  [ "$(cache_value LQ_BUILD_GUI)" = OFF ] || targets+=(loraquant-workbench)
  cmake --build "$build_dir" -j "${LQ_JOBS:-2}" --target "${targets[@]}"
else
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLQ_WERROR=ON \
    -DLQ_BUILD_TESTS=OFF -DLQ_BUILD_BENCHMARKS=OFF -DLQ_SANITIZE=OFF -DLQ_BUILD_FUZZERS=OFF >/dev/null
  cmake --build "$build_dir" -j "${LQ_JOBS:-2}"
fi
rm -f "$build_dir"/*.deb
(cd "$build_dir" && cpack -G DEB) >"$build_dir/cpack.log" 2>&1 || { cat "$build_dir/cpack.log" >&2; exit 1; }
deb=$(ls "$build_dir"/*.deb)
ok "built $(basename "$deb") ($(du -h "$deb" | cut -f1))"

depends=$(dpkg-deb -f "$deb" Depends)
echo "check-package: Depends: $depends"
# Package names in Depends, without versions and alternatives' bars.
depends_names=" $(echo "$depends" | tr ',|' '\n\n' | sed 's/(.*)//; s/[[:space:]]//g; s/:.*//' | tr '\n' ' ') "

root=$(mktemp -d "${TMPDIR:-/tmp}/lq-pkg-root.XXXXXX")
trap 'rm -rf "$root"' EXIT
dpkg -x "$deb" "$root"
echo "check-package: unpacked into $root:"
(cd "$root" && find . -type f | sort | sed 's/^\./    /')

# The package carries no private libraries; set the path anyway so that one added later is
# found the way the installed files would find it.
export LD_LIBRARY_PATH="$root/usr/lib:$root/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# Which package owns a library path (dpkg knows /lib or /usr/lib spellings under merged /usr).
owner_of() {
  local path=$1 alt
  alt=${path#/usr}
  [ "$alt" = "$path" ] && alt=/usr$path
  { dpkg -S "$path" 2>/dev/null || dpkg -S "$alt" 2>/dev/null || dpkg -S "$(readlink -f "$path")" 2>/dev/null; } |
    head -n 1 | cut -d: -f1
}

for exe in "$root"/usr/bin/*; do
  name=$(basename "$exe")
  if ldd "$exe" | grep -q "not found"; then
    fail "$name: libraries not found: $(ldd "$exe" | grep 'not found' | tr -s ' \t' ' ')"
  fi
  # Direct needs only: those are what dpkg-shlibdeps turns into Depends.
  for lib in $(objdump -p "$exe" | awk '/NEEDED/ {print $2}'); do
    path=$(ldd "$exe" | awk -v lib="$lib" '$1 == lib {print $3}')
    package=$(owner_of "$path")
    if [ -z "$package" ]; then
      fail "$name: $lib ($path) belongs to no package"
    elif [[ "$depends_names" != *" $package "* ]]; then
      fail "$name: $lib comes from $package, which Depends does not name"
    fi
  done
  ok "$name: every linked library found and covered by Depends"
done

cli="$root/usr/bin/loraquant"
version=$(sed -n 's/^project(LoRAQuantWorkbench VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
if [ ! -x "$cli" ]; then
  fail "the package has no usr/bin/loraquant"
else
  out=$("$cli" --version) || fail "loraquant --version exited non-zero"
  [ "$out" = "loraquant $version" ] && ok "installed loraquant --version: $out" ||
    fail "loraquant --version printed '$out', expected 'loraquant $version'"

  inspect_json() { # folder -> number of modules in `inspect --json`, or fail
    "$cli" inspect "$1" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["modules"]))'
  }
  if [ -d "$shared_dir/adapters" ]; then
    for adapter in "$shared_dir"/adapters/*/; do
      adapter=${adapter%/}
      if modules=$(inspect_json "$adapter") && [ "$modules" -gt 0 ] &&
        "$cli" inspect "$adapter" >/dev/null; then
        ok "installed loraquant inspect $(basename "$adapter"): $modules modules"
      else
        fail "installed loraquant inspect failed on $adapter"
      fi
    done
  else
    echo "check-package: SKIP: shared adapters not found at $shared_dir/adapters; inspect of a real adapter not checked"
  fi
  example="$root/usr/share/loraquant-workbench/example-adapter"
  if [ -d "$example" ]; then
    if modules=$(inspect_json "$example") && [ "$modules" -gt 0 ]; then
      ok "installed loraquant inspect on the installed example adapter: $modules modules"
    else
      fail "installed loraquant inspect failed on the installed example adapter"
    fi
  fi
fi

[ -f "$root/usr/share/doc/loraquant-workbench/README.md" ] && ok "README installed" ||
  fail "README.md is not in usr/share/doc/loraquant-workbench"

workbench="$root/usr/bin/loraquant-workbench"
if [ ! -x "$workbench" ]; then
  echo "check-package: the workbench is not built (no loraquant-workbench target): desktop files not checked"
else
  [[ "$depends_names" == *" qt6-qpa-plugins "* ]] && ok "Depends names qt6-qpa-plugins" ||
    fail "Depends does not name qt6-qpa-plugins"
  out=$(QT_QPA_PLATFORM=offscreen timeout 60 "$workbench" --version 2>&1) &&
    [[ "$out" == *"$version"* ]] && ok "installed loraquant-workbench --version: $out" ||
    fail "loraquant-workbench --version: '$out'"
  # Opens its installed example adapter and paints the window, offscreen.
  if out=$(QT_QPA_PLATFORM=offscreen timeout 120 "$workbench" --startup-time 2>&1); then
    ok "installed workbench started offscreen and opened its example: $(echo "$out" | tail -n 1)"
  else
    fail "installed workbench did not start: $out"
  fi

  desktop="$root/usr/share/applications/loraquant-workbench.desktop"
  mime_xml="$root/usr/share/mime/packages/loraquant-workbench.xml"
  if [ ! -f "$desktop" ] || [ ! -f "$mime_xml" ]; then
    fail "the .desktop entry or the MIME type is not installed"
  else
    if command -v desktop-file-validate >/dev/null; then
      desktop-file-validate "$desktop" && ok "desktop entry validates" || fail "desktop-file-validate"
    fi
    exec_name=$(sed -n 's/^Exec=\([^ ]*\).*/\1/p' "$desktop")
    [ -x "$root/usr/bin/$exec_name" ] && ok "Exec=$exec_name is installed" ||
      fail "the desktop entry runs '$exec_name', which the package does not install"
    icon=$(sed -n 's/^Icon=//p' "$desktop")
    for size in 16x16 32x32 48x48 256x256 scalable; do
      ls "$root/usr/share/icons/hicolor/$size/apps/$icon".* >/dev/null 2>&1 ||
        fail "no $size icon named $icon"
    done
    type=$(sed -n 's/.*<mime-type type="\([^"]*\)".*/\1/p' "$mime_xml")
    grep -q "^MimeType=.*$type;" "$desktop" && ok "the desktop entry opens $type" ||
      fail "the desktop entry's MimeType does not list $type"
    # What the file manager will see: shared-mime-info's own compiler on the installed XML.
    if command -v update-mime-database >/dev/null; then
      update-mime-database "$root/usr/share/mime" >/dev/null 2>&1
      grep -q "^[0-9]*:$type:\*\.lqa\.h5" "$root/usr/share/mime/globs2" &&
        ok "update-mime-database maps *.lqa.h5 to $type" ||
        fail "update-mime-database does not map *.lqa.h5 to $type"
    fi
  fi
fi

if [ "$failures" -ne 0 ]; then
  echo "check-package: $failures problem(s)" >&2
  exit 1
fi
echo "check-package: $(basename "$deb") is good"
