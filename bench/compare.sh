#!/usr/bin/env bash
# compare.sh: ward bench beside llama.cpp's llama-bench on the same models, in one run, for
# bench/RESULTS.md. Makes the models with `ward synth --shape` when they are missing.
#
#   bench/compare.sh [-t THREADS] [-r REPS] [-p N] [-n N] SHAPE:TYPE...
#   e.g. bench/compare.sh tinyllama-1.1b:q4_0 tinyllama-1.1b:q8_0 chatglm3-6b:q4_0
#
# LLAMA_BENCH=/path/to/llama-bench adds llama.cpp's numbers (built by hand from its public
# source, outside this repository; nothing here fetches or builds it). MODELS_DIR (default
# /tmp/ward-models) holds the generated files. Prints the machine, then per model ward's table
# (with --membw) and llama-bench's, each test run right after the other.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=2 reps=3 npp=128 ntg=64
while getopts "t:r:p:n:" o; do
  case $o in t) threads=$OPTARG ;; r) reps=$OPTARG ;; p) npp=$OPTARG ;; n) ntg=$OPTARG ;;
    *) echo "usage: $0 [-t N] [-r N] [-p N] [-n N] SHAPE:TYPE..." >&2; exit 2 ;; esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || { echo "usage: $0 [-t N] [-r N] [-p N] [-n N] SHAPE:TYPE..." >&2; exit 2; }
ward=build/ward
[ -x "$ward" ] || { echo "build ward first (scripts/run.sh or cmake --build build)" >&2; exit 1; }
dir=${MODELS_DIR:-/tmp/ward-models}
mkdir -p "$dir"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
echo "ISA flags: $(grep -m1 -o -w -E 'avx512_vnni|avx512_bf16|avx512f|avx2' /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo "ward $(git rev-parse --short HEAD); threads $threads; repetitions $reps"
for spec in "$@"; do
  shape=${spec%%:*} type=${spec#*:}
  model="$dir/$shape-$type.gguf"
  [ -f "$model" ] || "$ward" synth --shape "$shape" --type "$type" -o "$model" >&2
  echo
  echo "### $shape $type"
  "$ward" bench -m "$model" -t "$threads" -r "$reps" -p "$npp" -n "$ntg" --membw
  if [ -n "${LLAMA_BENCH:-}" ]; then
    "$LLAMA_BENCH" -m "$model" -t "$threads" -r "$reps" -p "$npp" -n "$ntg" 2>/dev/null | grep '^|'
  fi
done
