#!/usr/bin/env bash
# Install lockgraph from a build tree into a scratch prefix, then use it as
# another project would: through the CMake package, through pkg-config, and
# through the installed launcher. Each way must find the library and the
# report must come out (exit status 66).
# usage: test_install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" >/dev/null
for f in bin/lockgraph include/lockgraph.h; do
  [ -e "$prefix/$f" ] || { echo "not installed: $f"; exit 1; }
done
lib=$(dirname "$(find "$prefix" -name liblockgraph.so -print -quit)")
[ -n "$lib" ] || { echo "not installed: liblockgraph.so"; exit 1; }

expect_report() { # what, then the command
  local what=$1; shift
  local status=0
  "$@" >"$work/out" 2>&1 || status=$?
  if [ "$status" -ne 66 ] || ! grep -q "lock-order-inversion" "$work/out"; then
    echo "FAIL: $what: exit status $status, expected 66 and a lock-order-inversion report"
    cat "$work/out"
    exit 1
  fi
  echo "ok: $what"
}

# 1. The CMake package.
cmake -S "$src/tests/install_consumer" -B "$work/cmake-build" \
      -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER=clang >/dev/null
cmake --build "$work/cmake-build" >/dev/null
expect_report "find_package(lockgraph), linked" env LD_LIBRARY_PATH="$lib" "$work/cmake-build/consumer"
launcher=$(cat "$work/cmake-build/launcher.txt")
[ "$launcher" = "$prefix/bin/lockgraph" ] || { echo "FAIL: LOCKGRAPH_LAUNCHER is '$launcher'"; exit 1; }
echo "ok: LOCKGRAPH_LAUNCHER names the installed launcher"

# 2. pkg-config.
export PKG_CONFIG_PATH="$lib/pkgconfig"
# shellcheck disable=SC2046
clang -o "$work/pc-consumer" "$src/tests/install_consumer/consumer.c" \
      $(pkg-config --cflags --libs lockgraph) -pthread
expect_report "pkg-config --libs lockgraph, linked" env LD_LIBRARY_PATH="$lib" "$work/pc-consumer"

# 3. The installed launcher finds the installed library by itself.
clang -o "$work/plain" -x c - -pthread <<'PROG'
#include <pthread.h>
static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static void *ba(void *x) { (void)x; pthread_mutex_lock(&b); pthread_mutex_lock(&a);
    pthread_mutex_unlock(&a); pthread_mutex_unlock(&b); return 0; }
int main(void) { pthread_t t; pthread_mutex_lock(&a); pthread_mutex_lock(&b);
    pthread_mutex_unlock(&b); pthread_mutex_unlock(&a);
    pthread_create(&t, 0, ba, 0); pthread_join(t, 0); return 0; }
PROG
expect_report "installed launcher on an unmodified program" "$prefix/bin/lockgraph" -- "$work/plain"
