#!/bin/sh
# run.sh: run one libFuzzer target for a bounded time, seeded from the repository and ../shared.
#
#   run.sh FUZZ_BINARY CORPUS_SEED_DIR SHARED_DIR SECONDS
#
# The seed dir (fuzz/<target>/, committed) is copied to a temporary working corpus, so a run never
# grows the repository; whole real GGUF files from SHARED_DIR up to 1 MB are added to it (they
# may not be copied into the repository), with a mode byte in front for a target whose input
# starts with one (the table below; fuzz_gguf takes them as they are). 1 MB still takes in a
# 32000-token vocab and most quant types, and runs about twice as fast as 2 MB: each run copies
# its input, and the parse itself only reads the header. A crash input is saved into the seed dir as
# regression-<sha1>, where the next run (and ctest) replays it. Exit status: 0 when no crash was
# found, 1 when one was, 2 on bad usage. Prints one summary line.
set -u
if [ $# -ne 4 ]; then
    echo "usage: $0 FUZZ_BINARY CORPUS_SEED_DIR SHARED_DIR SECONDS" >&2
    exit 2
fi
bin=$1 seeds=$2 shared=$3 secs=$4
name=$(basename "$bin")
[ -x "$bin" ] || { echo "$name: $bin is not an executable" >&2; exit 2; }
[ -d "$seeds" ] || { echo "$name: seed dir $seeds missing" >&2; exit 2; }
[ -d "$shared" ] || { echo "$name: shared dir $shared missing" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/ward-fuzz-$name.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT INT TERM
mkdir "$work/corpus" "$work/artifacts"
cp "$seeds"/* "$work/corpus/" 2>/dev/null
# Mode byte that makes a target read its input as a whole GGUF file ("" = none).
case $name in
fuzz_tokenizer) prefix=g ;; # 'g': the rest is a vocabulary GGUF (see fuzz_tokenizer.c)
*) prefix= ;;
esac
find "$shared/models" "$shared/tokenizers" -maxdepth 1 -name '*.gguf' -size -1025k 2>/dev/null |
    while read -r f; do
        { printf '%s' "$prefix"; cat "$f"; } >"$work/corpus/$(basename "$f")"
    done
n_seeds=$(ls "$work/corpus" | wc -l)

# max_len covers the largest seed (1 MB and a mode byte); libFuzzer would truncate longer ones.
"$bin" "$work/corpus" -max_total_time="$secs" -max_len=1048592 -rss_limit_mb=2048 \
    -timeout=10 -artifact_prefix="$work/artifacts/" -print_final_stats=1 >"$work/log" 2>&1
rc=$?

crashes=0
for f in "$work"/artifacts/*; do
    [ -f "$f" ] || continue
    sum=$(sha1sum "$f" | cut -c1-16)
    cp "$f" "$seeds/regression-$sum"
    crashes=$((crashes + 1))
done
runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log" | grep -o '[0-9]*$')
if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    grep -m1 -E 'ERROR|SUMMARY|runtime error' "$work/log" >&2
    echo "$name: FAILED after ${runs:-?} runs (exit $rc):" \
        "$crashes crash input(s) saved to $seeds/regression-*"
    exit 1
fi
echo "$name: ok, ${runs:-?} runs in ${secs}s from $n_seeds seeds, no crash"
exit 0
