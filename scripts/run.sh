#!/usr/bin/env bash
# run.sh: the main job. Installs dependencies, builds ward, and starts the clinical workbench
# (ward serve: the web app at /, the OpenAI API under /v1/), printing its URL. Ctrl-C stops it.
#   scripts/run.sh      demo: three small RANDOM-weight models made by `ward synth` (Qwen2-,
#                       ChatGLM- and Baichuan-shaped) and the 20 fictional demo cases. The
#                       models' answers are noise: the demo shows the workflow, not medicine.
#   MODELS="qwen=/models/qwen-med.gguf glm=/models/glm4-med" scripts/run.sh
#                       real models (GGUF files or HuggingFace directories; add QUANT=q4_0 to
#                       quantize a directory while loading)
# PORT (default 8080), HOST (default 127.0.0.1: this machine only), DB (default
# build/workbench.db) may be set too; extra arguments go to `ward serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target ward-cli >/dev/null
PORT=${PORT:-8080} HOST=${HOST:-127.0.0.1} DB=${DB:-build/workbench.db}
args=()
if [ -z "${MODELS:-}" ]; then
  for arch in qwen2 chatglm baichuan; do # Baichuan at 2 layers: the 13B's ALiBi attention
    f=build/demo-$arch.gguf
    extra=(); [ "$arch" = baichuan ] && extra=(--alibi 8)
    [ -f "$f" ] || build/ward synth -o "$f" --arch "$arch" --layers 2 --embd 256 --ff 512 \
                     --heads 4 --kv-heads 2 --seed "${#args[@]}" "${extra[@]}" >/dev/null
    args+=(-m "demo-$arch=$f")
  done
  demo=1
  echo "note: no MODELS given, so the workbench runs on three small models with RANDOM weights"
  echo "      made by 'ward synth': their answers are noise. Point it at real medical models with:"
  echo "      MODELS=\"qwen=/path/to/qwen-med.gguf glm=/path/to/chatglm-dir\" $0"
else
  for m in $MODELS; do args+=(-m "$m"); done
  [ -n "${QUANT:-}" ] && args+=(--quant "$QUANT")
  demo=0
fi
# a doctor's account for the first run: its password is printed once (ward user passwd
# doctor --db "$DB" sets another)
password=""
if ! build/ward user list --db "$DB" 2>/dev/null | grep -q '^doctor '; then
  password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=' | head -c 16)
  printf '%s\n' "$password" |
    build/ward user add doctor --role doctor --display-name 演示医生 --db "$DB" 2>/dev/null
fi
build/ward serve "${args[@]}" --host "$HOST" --port "$PORT" --db "$DB" --ctx 4096 "$@" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server' INT TERM
for _ in $(seq 1 600); do
  curl -sf "http://$HOST:$PORT/health" >/dev/null 2>&1 && break
  kill -0 $server 2>/dev/null || exit 1
  sleep 0.5
done
if [ "$demo" = 1 ] && [ -n "$password" ]; then # signed in as the new doctor, once
  jar=$(mktemp)
  csrf=$(curl -sf -c "$jar" -H 'Content-Type: application/json' \
           -d "{\"name\":\"doctor\",\"password\":\"$password\"}" "http://$HOST:$PORT/api/login" |
         sed -n 's/.*"csrf":"\([^"]*\)".*/\1/p')
  curl -sf -b "$jar" -H 'Content-Type: application/json' -H "X-CSRF-Token: $csrf" \
    -X POST "http://$HOST:$PORT/api/demo-cases" -d '{}' >/dev/null &&
    echo "the 20 fictional demo cases are in the workbench"
  rm -f "$jar"
fi
echo
echo "ward workbench: http://$HOST:$PORT/   (Ctrl-C stops it; records in $DB)"
if [ -n "$password" ]; then
  echo "sign in as: doctor / $password   (shown once; more accounts: build/ward user --help)"
else
  echo "sign in with your account (new ones: build/ward user add NAME --role doctor --db $DB)"
fi
wait $server
