# Sourced by the benchmark scripts (run.sh, serving.sh) after they set TAG (their log prefix): where
# things are, and how a script reports. Run from the repository root.
ROOT=$(pwd)
CACHE=${MOE_ADAPTER_CACHE:-$HOME/.cache/moe-adapter}
LLAMA_TAG=v0.5.0                      # must match adapter-core/src/main/native/build-natives.sh
SRC="$CACHE/src/llama.cpp-$LLAMA_TAG"
RESULTS="$ROOT/benchmarks/target/results"
# the generator of the random-weight benchmark models: a changed generator writes new files
GEN_SRC="$ROOT/adapter-core/src/test/java/dev/moeadapter/core/testmodels/RandomModels.java"

say() { echo "[$TAG] $*" >&2; }
die() { echo "[$TAG] ERROR: $*" >&2; exit 1; }

# KIND -> path of the random-weight benchmark model (RandomModels.Spec.olmoeLarge / glm4moeLarge), written once
# with the classpath in $CP
bench_model() {
  local file="$CACHE/bench/random-$1-large-f16-$(sha256sum "$GEN_SRC" | cut -c1-12).gguf"
  if [[ ! -f "$file" ]]; then
    say "writing the benchmark model $file"
    mkdir -p "$CACHE/bench"
    find "$CACHE/bench" -maxdepth 1 -name "random-$1-large-f16-*.gguf" -delete
    "$JAVA" -cp "$CP" dev.moeadapter.bench.GenerateModel "$file" "$1" >&2 || die "could not write the $1 benchmark model"
  fi
  echo "$file"
}
