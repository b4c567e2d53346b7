#!/usr/bin/env bash
# Reproduces the lab figures recorded in samples/lab/README.md and docs/methods.md:
#   samples/lab/measure.sh base|scmoe|rerouting|c3po [MODEL...]
# Results (JSON + HTML per run) go to target/lab-results/<model>/<split>-<policy>.
set -euo pipefail
cd "$(dirname "$0")/../.."
what=${1:?usage: measure.sh base|scmoe|rerouting|c3po [MODEL...]}; shift
models=("$@"); ((${#models[@]})) || models=(samples/lab/models/lab-olmoe.gguf samples/lab/models/lab-mixtral.gguf)
./moe mvn -q -B -ntp -DskipTests package -pl samples -am >&2
JAVA=$(./moe java-home)/bin/java
CP="samples/target/classes:$(cat samples/target/classpath.txt)"
TASKS=samples/lab/tasks
OUT=target/lab-results

# ev MODEL SPLIT POLICY-LABEL [eval args...] -> prints "accuracy [CI]" line of the run
ev() {
  local model=$1 split=$2 label=$3; shift 3
  local dir="$OUT/$(basename "$model" .gguf)/$split-$label"
  "$JAVA" --enable-native-access=ALL-UNNAMED -cp "$CP" dev.moeadapter.samples.eval.EvalCommand \
    --model "$model" --bench "$TASKS/$split.jsonl" --max-tokens 12 --threads 1 --ctx 256 --out "$dir" "$@" \
    2>/dev/null | awk -v m="$(basename "$model")" -v s="$split" -v l="$label" \
      '/^policy /{getline; printf "%-18s %-14s %-16s %s %s %s  n=%s  %s s/item  shift %s\n", m, s, l, $2, $3, $4, $5, $6, $8}'
}

for model in "${models[@]}"; do
  case "$what" in
    base)
      for split in dev test dev-shifted test-shifted; do ev "$model" "$split" none --policy none; done ;;
    scmoe)
      for beta in 0.25 0.5 1 2; do
        for split in dev dev-shifted; do ev "$model" "$split" "scmoe-b$beta" --policy scmoe --beta "$beta"; done
      done ;;
    *) echo "unknown: $what" >&2; exit 2 ;;
  esac
done
