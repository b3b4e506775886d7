#!/bin/sh
# libcompat's own tests under valgrind memcheck: runs the fcgi_compat_tests
# driver with FCGI_COMPAT_TEST_VALGRIND and FCGI_COMPAT_TEST_MEMCHECK set, so
# that every parked program and persistent worker (the shim preloaded) and
# every request child a parked program forks runs under memcheck
# (compat_harness.cc, Valgrind()), then fails if any process's log
# reports an error: invalid reads/writes, uses of uninitialised values, bad
# syscall params, mismatched frees, definite leaks. Logs of processes killed
# by SIGKILL (tests do that) have no ERROR SUMMARY, so the error lines
# themselves are searched. It also fails unless every process that said
# HELLO (the driver leaves DIR/parked.PID) has a log of its own: the shim must
# run under memcheck, not merely the programs.
#
# The verdict is memcheck's alone: the driver's own assertions are checked by
# the plain "libcompat:" run, and under valgrind some fail by design
# (valgrind's LD_PRELOAD is visible to the programs, timing is ~20x slower).
#
#   tests/libcompat/valgrind_check.sh BUILD/tests/libcompat/fcgi_compat_tests [CATCH ARGS...]
set -u
if [ $# -lt 1 ] || [ ! -x "$1" ]; then
  echo "usage: $0 FCGI_COMPAT_TESTS [CATCH ARGS...]" >&2
  exit 2
fi
if ! [ -x /usr/bin/valgrind ]; then
  echo "valgrind_check: /usr/bin/valgrind is missing (scripts/install-deps test installs it)" >&2
  exit 2
fi
# memcheck's own binary for this machine, run directly (see compat_harness.h).
case $(uname -m) in
  x86_64) arch=amd64 ;;
  aarch64) arch=arm64 ;;
  *) arch=$(uname -m) ;;
esac
tool=
for d in /usr/libexec/valgrind /usr/lib/valgrind /usr/lib/*/valgrind /usr/local/libexec/valgrind; do
  if [ -x "$d/memcheck-$arch-linux" ]; then
    tool=$d/memcheck-$arch-linux
    break
  fi
done
if [ -z "$tool" ]; then
  echo "valgrind_check: memcheck-$arch-linux not found in valgrind's library directory" >&2
  exit 2
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/fcgi-compat-memcheck.XXXXXX")
FCGI_COMPAT_TEST_VALGRIND=$dir FCGI_COMPAT_TEST_MEMCHECK=$tool "$@"
rc=$?
logs=$(find "$dir" -name 'memcheck.*.log' | wc -l)
pattern='^==[0-9]+== (Invalid (read|write|free)|Conditional jump|Use of uninitialised|Syscall param|Mismatched free|Source and destination overlap|Argument .* fishy|.* are definitely lost|ERROR SUMMARY: [1-9])'
bad=$(grep -lE "$pattern" "$dir"/memcheck.*.log 2>/dev/null)
if [ "$logs" -eq 0 ]; then
  echo "valgrind_check: no memcheck log was written: the programs did not run under valgrind" >&2
  echo "valgrind_check: logs kept in $dir" >&2
  exit 1
fi
parked=0
for marker in "$dir"/parked.*; do
  [ -e "$marker" ] || continue
  parked=$((parked + 1))
  pid=${marker##*/parked.}
  if ! [ -s "$dir/memcheck.$pid.log" ]; then
    echo "valgrind_check: process $pid parked (HELLO) but has no memcheck log: the shim ran outside memcheck" >&2
    echo "valgrind_check: logs kept in $dir" >&2
    exit 1
  fi
done
if [ "$parked" -eq 0 ]; then
  echo "valgrind_check: no program parked under memcheck (no HELLO seen)" >&2
  echo "valgrind_check: logs kept in $dir" >&2
  exit 1
fi
if [ -n "$bad" ]; then
  echo "valgrind_check: memcheck found errors in $(echo "$bad" | wc -l) of $logs processes:"
  for f in $bad; do
    echo "--- $f"
    head -n 60 "$f"
  done
  echo "valgrind_check: logs kept in $dir"
  exit 1
fi
echo "valgrind_check: $logs processes ($parked parked programs and persistent workers, and request children) ran under memcheck, no error (driver exit status $rc, not part of the verdict)"
rm -rf "$dir"
exit 0
