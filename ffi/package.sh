#!/bin/sh
# Packages libember for installation from what `cargo build -p ember-ffi` built:
#
#   OUT/include/ember.h
#   OUT/lib/libember.so.<ABI>      the shared library (its SONAME)
#   OUT/lib/libember.so            -> libember.so.<ABI>, for linking
#   OUT/lib/libember.a             the static library, exporting only ember_* symbols
#   OUT/lib/pkgconfig/ember.pc     for `pkg-config --cflags --libs ember`
#
# Usage: ffi/package.sh [--prefix PREFIX] BUILD_DIR OUT
#   BUILD_DIR  where cargo put libember.so and libember.a (e.g. target/release)
#   PREFIX     the prefix ember.pc names (e.g. /usr); by default ember.pc is relocatable
#              (paths relative to its own directory), fit for a staging tree or OUT itself.
#
# Cargo's libember.a also exports every symbol of the SQLite and Rust code inside it; a host
# that links its own SQLite would get ours silently or fail with duplicate symbols. Here
# the archive's objects become one relocatable object (ld -r) whose globals other than
# ember_* are made local (objcopy), so only the C ABI is visible. Needs binutils (ld,
# objcopy, ar).
set -eu

prefix=''
if [ "${1:-}" = --prefix ]; then
    prefix=$2
    shift 2
fi
if [ $# -ne 2 ]; then
    sed -n '2,/^set -eu/p' "$0" | sed 's/^# \{0,1\}//; /^set -eu/d' >&2
    exit 2
fi
build=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")

abi=$(sed -n 's/^pub const EMBER_ABI_VERSION: u32 = \([0-9]*\);$/\1/p' "$here/src/engine.rs")
version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"$/\1/p' "$repo/Cargo.toml")
[ -n "$abi" ] && [ -n "$version" ] || { echo "package.sh: cannot read the versions" >&2; exit 1; }

mkdir -p "$out/include" "$out/lib/pkgconfig"
cp "$repo/include/ember.h" "$out/include/ember.h"
cp "$build/libember.so" "$out/lib/libember.so.$abi"
ln -sf "libember.so.$abi" "$out/lib/libember.so"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ld -r --whole-archive "$build/libember.a" -o "$work/ember-all.o"
# .llvmbc/.llvmcmd: bitcode that Rust embeds; merged by ld -r it is no longer valid, and
# the LLVM plugin of ar/nm would choke on it. It is not needed to link.
objcopy --wildcard --keep-global-symbol='ember_*' \
    --remove-section=.llvmbc --remove-section=.llvmcmd \
    "$work/ember-all.o" "$work/ember.o"
rm -f "$out/lib/libember.a"
ar rcs "$out/lib/libember.a" "$work/ember.o"

if [ -n "$prefix" ]; then
    pc_prefix=$prefix
else
    pc_prefix='${pcfiledir}/../..'
fi
cat > "$out/lib/pkgconfig/ember.pc" <<PC
prefix=$pc_prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: ember
Description: Ember, an embedded chat engine on SQLite (C ABI $abi)
Version: $version
Libs: -L\${libdir} -lember
Libs.private: -lpthread -ldl -lm
Cflags: -I\${includedir}
PC
