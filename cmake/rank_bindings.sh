#!/bin/sh
# rank_bindings.sh PROBE LOG... : the shared libraries that the dynamic loader bound
# symbols to (LD_DEBUG=bindings logs), most bindings first, one path a line. The probe
# itself, the vDSO and the loader are left out: they cannot be linked against.
set -eu
probe="$1"
shift
cat "$@" |
  sed -n 's/.*binding file .* to \([^ ]*\) \[[0-9]*\]: .*/\1/p' |
  grep -v -e '^linux-vdso' -e '/ld-linux' -e "^$probe\$" |
  sort | uniq -c | sort -k1,1nr -k2 |
  awk '{ print $2 }'
