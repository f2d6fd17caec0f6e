#!/usr/bin/env bash
# screenshots.sh: the workbench's pages as PNG files in docs/screenshots: the browser test
# (tests/clients/workbench.mjs) run with a screenshot directory, on the tiny random models.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target ward-cli >/dev/null
mkdir -p docs/screenshots
node tests/clients/workbench.mjs build/ward "$(cd .. && pwd)/shared/models" docs/screenshots
