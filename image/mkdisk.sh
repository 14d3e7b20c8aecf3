#!/usr/bin/env bash
# Build the default data disk: a sparse raw image of SIZE (default 1G)
# that `make run` attaches as vda. It starts blank; `mkfs vda` in ghee
# makes a filesystem on it, and an interactive `make run` mounts it at
# boot from then on (mount=vda).
# Usage: mkdisk.sh OUT.img [SIZE]
set -euo pipefail
out=$1 size=${2:-1G}
truncate -s "$size" "$out"
