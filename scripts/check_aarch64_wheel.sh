#!/usr/bin/env bash
# Check that the cross-built Linux aarch64 wheel of dclm_rs imports and passes its pytest suite, by running an
# arm64 Debian bookworm CPython 3.11 under qemu user-mode emulation on an x86_64 Debian 12 host (root, apt + PyPI).
#
# Nothing arm64 is installed into the host: apt runs with its own lists/cache and an empty dpkg status, and the
# arm64 .debs are only unpacked (dpkg-deb -x) into a sysroot. binfmt_misc is not needed: qemu is called directly.
#
#   WHEEL=path/to/aarch64.whl DCLM_SHARED=../shared WITH_DATATROVE=1 scripts/check_aarch64_wheel.sh
set -euo pipefail

HERE=$(cd "$(dirname "$0")/.." && pwd)
WHEEL=${WHEEL:-$(ls -t "${CARGO_TARGET_DIR:-$HERE/target}"/wheels/dclm_rs-*aarch64*.whl | head -1)}
TESTS=${TESTS:-$HERE/crates/dclm-py/tests}
export DCLM_SHARED=${DCLM_SHARED:-$HERE/../shared}
WITH_DATATROVE=${WITH_DATATROVE:-1}   # 1: also pip-install datatrove 0.4.0 (+ numpy etc., aarch64 wheels) for test_datatrove.py
ROOT=${ROOT:-/tmp/arm64-root}         # the arm64 sysroot
WORK=${WORK:-/tmp/aarch64-check}      # apt state, wheels, site-packages, test copy

# 1. qemu user-mode emulator (static build; qemu-aarch64-static -L <sysroot> runs arm64 binaries directly).
command -v qemu-aarch64-static >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q qemu-user-static

# 2. arm64 sysroot from Debian bookworm .debs (same mirrors as the host, private apt state).
rm -rf "$WORK" "$ROOT"
mkdir -p "$WORK"/apt/{lists/partial,cache/archives/partial,debs} "$ROOT"
APT=(-o APT::Architecture=arm64 -o APT::Architectures::=arm64 -o Dir::State::Lists="$WORK/apt/lists"
     -o Dir::Cache="$WORK/apt/cache" -o Dir::State::status=/dev/null -o APT::Sandbox::User=root)
apt-get "${APT[@]}" update -q
# python3.11-minimal + libpython3.11-stdlib and their runtime library closure
# (apt-cache depends --recurse --no-recommends ..., minus dpkg/perl/tar/install-info/mailcap).
PKGS="python3.11-minimal libpython3.11-minimal libpython3.11-stdlib libc6 gcc-12-base libgcc-s1 libstdc++6 zlib1g
 libexpat1 libffi8 libssl3 libbz2-1.0 liblzma5 libzstd1 libsqlite3-0 libuuid1 libncursesw6 libtinfo6 libreadline8
 readline-common libcrypt1 libdb5.3 libgdbm6 libgdbm-compat4 libnsl2 libtirpc3 libtirpc-common libgssapi-krb5-2
 libk5crypto3 libkeyutils1 libkrb5-3 libkrb5support0 libcom-err2 libselinux1 libpcre2-8-0 libacl1 libmd0 media-types"
(cd "$WORK/apt/debs" && apt-get "${APT[@]}" download $PKGS)
for d in "$WORK"/apt/debs/*.deb; do dpkg-deb -x "$d" "$ROOT"; done

PY=(qemu-aarch64-static -L "$ROOT" "$ROOT/usr/bin/python3.11")
"${PY[@]}" -c "import sys, platform, ssl, sqlite3, ctypes, lzma, bz2; print(sys.platform, platform.machine(), sys.version.split()[0])"

# 3. The wheel (pip checks its tags against an aarch64 CPython 3.11 target) and the test tools, as aarch64 targets.
PIPT=(--platform manylinux2014_aarch64 --platform manylinux_2_17_aarch64 --platform manylinux_2_28_aarch64
      --implementation cp --python-version 3.11 --only-binary=:all:)
python3 -m pip install -q --no-deps --target "$WORK/wheel" "${PIPT[@]}" "$WHEEL"
EXTRA=(pytest); [ "$WITH_DATATROVE" = 1 ] && EXTRA+=(datatrove==0.4.0)
python3 -m pip install -q --target "$WORK/site" "${PIPT[@]}" "${EXTRA[@]}"
file "$WORK"/wheel/dclm_rs/_dclm_rs*.so

# 4. Import and real calls (run from /tmp: no source tree's python/ folder on the path).
cd /tmp
export PYTHONPATH="$WORK/wheel:$WORK/site"
"${PY[@]}" - <<EOF
import platform, dclm_rs
assert platform.machine() == "aarch64", platform.machine()
print("imported", dclm_rs.__file__)
t = dclm_rs.extract_html('<html><body><article><p>Hello world, this is a test page with enough words to keep.</p></article></body></html>')
print("extract_html:", repr(t))
assert t == "Hello world, this is a test page with enough words to keep."
shared = "$DCLM_SHARED"
p = dclm_rs.Pipeline.from_yaml(shared + "/data/dclm/configs/dclm_baseline_refinedweb.yaml",
                               assets=shared + "/data/dclm-assets", skip_steps=[2])
print("Pipeline.from_yaml:", len(p), "steps, skipped", p.skipped)
kept, stats = p.process([{"text": t, "url": "http://example.com/a"}])
print("Pipeline.process: docs_in", stats["docs_in"], "docs_out", stats["docs_out"])
EOF

# 5. The package's pytest suite, from a copy (no source tree on the path); DCLM_SHARED points at the real-data
#    folder. The tests that compare with the CLI run the host's x86_64 `dclm` ($DCLM_BIN or $CARGO_TARGET_DIR's
#    build) as the reference, and skip with a message when there is none.
cp -r "$TESTS" "$WORK/tests"
"${PY[@]}" -m pytest "$WORK/tests" -p no:cacheprovider -rs -v --durations=5
