#!/usr/bin/env bash
# run.sh: the main job. Installs dependencies, builds ward, and runs a model.
#   MODEL=path/to/model.gguf scripts/run.sh        run a real GGUF model
#   scripts/run.sh                                 no MODEL: make and run a random-weight model
# PROMPT and N (tokens to generate) may be set too; extra arguments go to `ward run`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target ward-cli >/dev/null
PROMPT=${PROMPT:-Once upon a time}
N=${N:-64}
if [ -z "${MODEL:-}" ]; then
  MODEL=build/synth-random.gguf
  build/ward synth -o "$MODEL" --layers 4 --embd 256 --ff 688 --heads 8 --kv-heads 4 --seed 1 2>/dev/null
  echo "note: no MODEL given, so this runs a small model with RANDOM weights made by 'ward synth':"
  echo "      its output is noise. Point it at a real model with: MODEL=path/to/model.gguf $0"
  echo
fi
exec build/ward run -m "$MODEL" -p "$PROMPT" -n "$N" --temp 0 "$@"
