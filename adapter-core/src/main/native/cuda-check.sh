#!/usr/bin/env bash
# The CUDA route, checked on a machine with an NVIDIA GPU (run it as ./moe cuda-check [--threads N]
# [--prompt N] [--gen N] [--reps N]):
#   1. builds the engine's natives for CUDA into $CACHE/cuda/linux-x64: the prebuilt CUDA libraries of
#      the same node-llama-cpp release (LLAMA_BUILD=prebuilt-cuda, pinned sha512, needs the CUDA 13
#      runtime), or, where that runtime is missing and nvcc is there, llama.cpp built with CMake and
#      -DGGML_CUDA=ON (LLAMA_CUDA_ROUTE=cmake forces that route);
#   2. runs the routing-lever tests and the architecture matrix with every layer on the GPU;
#   3. measures the engine (no plan vs edits on every MoE layer, on the OLMoE-style and the
#      GLM-4.5-style benchmark models) with every layer on the GPU, checks that the CUDA backend was
#      loaded, and appends the table to docs/benchmarks.md.
# Without a GPU (nvidia-smi absent or failing) it says so and exits 0. Nothing here runs in the
# default build or CI.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/../../../.."
ROOT=$(pwd)
CACHE=${MOE_ADAPTER_CACHE:-$HOME/.cache/moe-adapter}
OUT="$CACHE/cuda/linux-x64"
RESULTS="$ROOT/benchmarks/target/results/cuda"

say() { echo "[cuda-check] $*" >&2; }
die() { echo "[cuda-check] ERROR: $*" >&2; exit 1; }

THREADS=4 PROMPT=512 GEN=128 REPS=4
while (($#)); do
  case "$1" in
    --threads) THREADS=${2:?}; shift 2 ;;
    --prompt)  PROMPT=${2:?}; shift 2 ;;
    --gen)     GEN=${2:?}; shift 2 ;;
    --reps)    REPS=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
for v in "$THREADS" "$PROMPT" "$GEN" "$REPS"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || die "--threads, --prompt, --gen and --reps take positive integers, got '$v'"
done

if ! command -v nvidia-smi >/dev/null 2>&1; then
  say "no NVIDIA GPU here (nvidia-smi not found): nothing to check"
  exit 0
fi
if ! GPU=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -n 1) || [[ -z "$GPU" ]]; then
  say "no usable NVIDIA GPU here (nvidia-smi failed: ${GPU:-no output}): nothing to check"
  exit 0
fi
[[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]] || die "JAVA_HOME is not set to a JDK 25; run this through ./moe cuda-check"
say "GPU: $GPU"
mkdir -p "$RESULTS"

# 1. natives. The prebuilt CUDA backend is a plugin ggml loads at run time: with its CUDA libraries
#    missing, ggml would silently fall back to the CPU, so they are checked here.
missing_cuda_libs() { ldd "$OUT/libggml-cuda.so" 2>/dev/null | awk '/not found/ {print $1}' | tr '\n' ' '; }
build() { # MODE [CMAKE ARGS]
  LLAMA_BUILD=$1 LLAMA_CMAKE_ARGS=${2:-} bash adapter-core/src/main/native/build-natives.sh "$OUT" >"$RESULTS/natives-$1.log" 2>&1 \
    || { tail -n 20 "$RESULTS/natives-$1.log" >&2; die "building the $1 natives failed, see $RESULTS/natives-$1.log"; }
}
if [[ "${LLAMA_CUDA_ROUTE:-prebuilt}" != cmake ]]; then
  say "natives: @node-llama-cpp/linux-x64-cuda (LLAMA_BUILD=prebuilt-cuda) into $OUT"
  build prebuilt-cuda
  missing=$(missing_cuda_libs)
  if [[ -n "$missing" ]]; then
    command -v nvcc >/dev/null 2>&1 \
      || die "the prebuilt CUDA backend needs the CUDA 13 runtime, missing here: $missing(install NVIDIA's cuda-cudart-13-0 and libcublas-13-0, or a CUDA toolkit with nvcc for the CMake route)"
    say "the CUDA 13 runtime is missing ($missing); using the CMake route with nvcc instead"
    LLAMA_CUDA_ROUTE=cmake
  fi
fi
if [[ "${LLAMA_CUDA_ROUTE:-prebuilt}" == cmake ]]; then
  command -v nvcc >/dev/null 2>&1 || die "the CMake CUDA route needs nvcc (a CUDA toolkit) on PATH"
  say "natives: llama.cpp with CMake and -DGGML_CUDA=ON into $OUT (tens of minutes the first time)"
  build cmake "-DGGML_CUDA=ON"
  missing=$(missing_cuda_libs)
  [[ -f "$OUT/libggml-cuda.so" && -z "$missing" ]] || die "the CMake build has no loadable libggml-cuda.so (missing: ${missing:-the library itself})"
fi
ROUTE=$(awk '{print $1}' "$OUT.stamp")

# 2. the routing lever and the architecture matrix, every layer offloaded
say "tests: RoutingLeverTest and ArchitectureMatrixTest on the GPU ($ROUTE natives, all layers offloaded)"
./mvnw -B -ntp -pl adapter-core -am test -Dtest='RoutingLeverTest,ArchitectureMatrixTest' -Dsurefire.failIfNoSpecifiedTests=false \
  -Dmoe.adapter.native.dir="$OUT" -Dmoe.adapter.test.gpuLayers=-1 >"$RESULTS/tests.log" 2>&1 \
  || { grep -E 'Tests run|FAIL|ERROR' "$RESULTS/tests.log" | tail -n 20 >&2; die "tests failed on the GPU, see $RESULTS/tests.log"; }
grep -E 'Tests run:.*(RoutingLever|ArchitectureMatrix)' "$RESULTS/tests.log" >&2 || true

# 3. the engine benchmark, every layer offloaded
say "benchmark: building (Maven, -Pbench)"
./mvnw -q -B -ntp -Pbench -DskipTests package -pl benchmarks -am >"$RESULTS/maven.log" 2>&1 \
  || { tail -n 40 "$RESULTS/maven.log" >&2; die "Maven build failed, see $RESULTS/maven.log"; }
CP="$ROOT/benchmarks/target/classes:$(cat "$ROOT/benchmarks/target/classpath.txt")"
GEN_SRC="$ROOT/adapter-core/src/test/java/dev/moeadapter/core/testmodels/RandomModels.java"
COMMON=(--threads "$THREADS" --prompt "$PROMPT" --gen "$GEN" --reps "$REPS" --gpu-layers -1)
REPORT=()
for kind in olmoe glm4moe; do
  model="$CACHE/bench/random-$kind-large-f16-$(sha256sum "$GEN_SRC" | cut -c1-12).gguf"
  if [[ ! -f "$model" ]]; then
    mkdir -p "$CACHE/bench"
    "$JAVA_HOME/bin/java" -cp "$CP" dev.moeadapter.bench.GenerateModel "$model" "$kind" >&2 || die "could not write the $kind benchmark model"
  fi
  rows=engine report=--engine-cuda
  [[ $kind == olmoe ]] || { rows=sigmoid-bias; report=--engine-sigmoid-bias; }
  [[ $kind == olmoe ]] && MODEL=$model
  say "benchmark: engine on the GPU, $kind model, pp$PROMPT / tg$GEN x $REPS"
  "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Dmoe.adapter.native.dir="$OUT" -cp "$CP" dev.moeadapter.bench.EngineBenchmark \
    engine --natives cuda --rows "$rows" --model "$model" "${COMMON[@]}" --out "$RESULTS/$kind.json" >"$RESULTS/$kind.log" 2>&1 \
    || { tail -n 30 "$RESULTS/$kind.log" >&2; die "the engine failed on the GPU, see $RESULTS/$kind.log"; }
  grep -q 'libggml-cuda.so' "$RESULTS/$kind.json" || die "the CUDA backend was not loaded (see llama_cpp_libraries in $RESULTS/$kind.json)"
  REPORT+=("$report" "$RESULTS/$kind.json")
done
"$JAVA_HOME/bin/java" -cp "$CP" dev.moeadapter.bench.EngineBenchmark report --model "$MODEL" "${COMMON[@]}" \
  "${REPORT[@]}" --out "$RESULTS/latest.json" >"$RESULTS/report.txt" || die "the report failed"
{
  echo
  echo "## CUDA ($(date -u +%Y-%m-%d), $GPU, $ROUTE natives, all layers offloaded, \`./moe cuda-check --threads $THREADS --prompt $PROMPT --gen $GEN --reps $REPS\`)"
  echo
  echo "RoutingLeverTest and ArchitectureMatrixTest passed with every layer on the GPU. No llama-bench anchor on this route."
  echo
  sed '/^results: /d' "$RESULTS/report.txt"
} >>docs/benchmarks.md
say "recorded in docs/benchmarks.md (results: $RESULTS)"
