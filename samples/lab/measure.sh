#!/usr/bin/env bash
# Reproduces the lab figures recorded in samples/lab/README.md and docs/lab-results.md:
#   samples/lab/measure.sh base|scmoe-dev|rerouting-dev|c3po-dev [MODEL...]   tuning runs (dev splits only)
#   MEASURE_ARGS="--policy scmoe --beta 1" samples/lab/measure.sh test [MODEL...]  the chosen settings, on test
# Results (JSON + HTML per run) go to target/lab-results/<model>/<split>-<label>.
set -euo pipefail
cd "$(dirname "$0")/../.."
what=${1:?usage: measure.sh base|scmoe-dev|rerouting-dev|c3po-dev|test [MODEL...]}; shift
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
    scmoe-dev)
      for beta in 0.25 0.5 1 2; do
        for split in dev dev-shifted; do ev "$model" "$split" "scmoe-b$beta" --policy scmoe --beta "$beta"; done
      done ;;
    rerouting-dev)  # 100 items per dev split: each item runs several batched decodes per step
      for cfg in "default|" "full-20x8|--steps 20 --q 8 --step 1.0 --c 1.0 --layers top:1 --param full" \
                 "scalar-20x8|--steps 20 --q 8 --step 1.0 --c 1.0 --layers top:1 --param scalar"; do
        # shellcheck disable=SC2086
        for split in dev dev-shifted; do ev "$model" "$split" "rr-${cfg%%|*}" --policy rerouting --limit 100 ${cfg#*|}; done
      done ;;
    c3po-dev)
      refs="$OUT/$(basename "$model" .gguf).c3po"
      mkdir -p "$OUT"
      "$JAVA" --enable-native-access=ALL-UNNAMED -cp "$CP" dev.moeadapter.samples.eval.C3poBuildCommand \
        --model "$model" --bench "$TASKS/reference.jsonl" --out "$refs" --threads 1 >/dev/null 2>&1
      for pol in c3po-kr c3po-mode c3po-ngd; do
        for split in dev dev-shifted; do ev "$model" "$split" "$pol" --policy "$pol" --reference "$refs"; done
      done ;;
    test)
      label=$(echo "${MEASURE_ARGS:?set MEASURE_ARGS to the chosen eval arguments}" | tr -s ' /.-' '_' | cut -c1-40)
      # shellcheck disable=SC2086
      for split in test test-shifted; do ev "$model" "$split" "$label" $MEASURE_ARGS; done ;;
    *) echo "unknown: $what" >&2; exit 2 ;;
  esac
done
