#!/usr/bin/env bash
# Builds the native half of the engine into OUT_DIR: the shim (libmoeshim.so), the model checker
# (moe-check), the llama.cpp libraries they run on, and natives.txt listing them with their sha256.
#
# llama.cpp comes by package name through the npm client, checked against pinned sha512
# integrities, and is cached (MOE_ADAPTER_CACHE, default ~/.cache/moe-adapter), so a second build
# is offline. Modes (LLAMA_BUILD):
#   prebuilt  the CPU libraries of @node-llama-cpp/linux-x64 (default)
#   prebuilt-cuda  the CUDA libraries of @node-llama-cpp/linux-x64-cuda (≈ 140 MB, never fetched by
#             default; needs the CUDA 13 runtime: libcudart.so.13, libcublas.so.13; see cuda-check.sh)
#   cmake     build llama.cpp from the source bundle of node-llama-cpp with CMake;
#             LLAMA_CMAKE_ARGS adds flags, e.g. "-DGGML_CUDA=ON"; LLAMA_CMAKE_CONFIGURE_ONLY=1
#             stops after the configure step (a quick check of a machine's toolchain)
#   local     use an existing llama.cpp build: LLAMA_HOME holds include/ (llama.h, ggml*.h)
#             and lib/ or bin/ (libllama.so, libggml*.so)
set -euo pipefail
shopt -s inherit_errexit

OUT_DIR=${1:?usage: build-natives.sh OUT_DIR}
MODE=${LLAMA_BUILD:-prebuilt}
CACHE=${MOE_ADAPTER_CACHE:-$HOME/.cache/moe-adapter}
HERE=$(cd "$(dirname "$0")" && pwd)

NLC_VERSION=3.22.1
LLAMA_TAG=v0.5.0
SRC_PKG="node-llama-cpp@$NLC_VERSION"
SRC_SHA512="sha512-bltIipuWmc123H7tMIgDGKSsSrhmhlQYeVUC48XTjVW7XGJJiJJyCdlTMzQ/LiWoPkGDpcL4FviDpgw7qfTiDw=="
BIN_PKG="@node-llama-cpp/linux-x64@$NLC_VERSION"
BIN_SHA512="sha512-5uCCDNqWCNfaAm8aR/Uzxbo4HBpKgNF91kCHPepKhgMgV2OAmatoefbOlMihsqCiH2Od35E/eUHQCFbfRBJuOg=="
CUDA_PKG="@node-llama-cpp/linux-x64-cuda@$NLC_VERSION"
CUDA_SHA512="sha512-8rQCjyNNLZJUFit+YpjwlC4hwkKgOMIkB2wuycKBf8NU2O3ySKbiWZQ8aw9ku2nUTXjSnUIrE6KB88itduTBuA=="

say() { echo "[natives] $*" >&2; }
die() { echo "[natives] ERROR: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' is required ($2)"; }

need g++ "install it with: apt-get install g++"
need tar "install it with: apt-get install tar"
need openssl "install it with: apt-get install openssl"
need readelf "install it with: apt-get install binutils"

[[ "$(uname -s)-$(uname -m)" == "Linux-x86_64" ]] || [[ "$MODE" != prebuilt* ]] \
  || die "prebuilt llama.cpp libraries are for linux x86_64; use LLAMA_BUILD=cmake or LLAMA_BUILD=local"

sri() { echo "sha512-$(openssl dgst -sha512 -binary "$1" | base64 -w0)"; }

# fetch PKG SHA512 -> path of the verified tarball in the cache
fetch() {
  local pkg=$1 want=$2 dir="$CACHE/npm"
  local file="$dir/$(echo "$pkg" | sed 's|^@||; s|/|-|; s|@|-|').tgz"
  mkdir -p "$dir"
  if [[ ! -f "$file" ]] || [[ "$(sri "$file")" != "$want" ]]; then
    need npm "install Node.js and npm (apt-get install npm) to download $pkg"
    say "downloading $pkg"
    local tmp; tmp=$(mktemp -d "$dir/.dl.XXXXXX")
    (cd "$tmp" && npm pack --silent "$pkg" >/dev/null) || { rm -rf "$tmp"; die "npm pack $pkg failed"; }
    mv "$tmp"/*.tgz "$file.part" && rm -rf "$tmp"
    local got; got=$(sri "$file.part")
    [[ "$got" == "$want" ]] || { rm -f "$file.part"; die "integrity mismatch for $pkg: got $got, want $want"; }
    mv "$file.part" "$file"
  fi
  echo "$file"
}

# unpack TARBALL -> directory in the cache (once)
unpack() {
  local tgz=$1 dir="$CACHE/unpacked/$(basename "$1" .tgz)"
  if [[ ! -f "$dir/.done" ]]; then
    rm -rf "$dir" && mkdir -p "$dir"
    tar xzf "$tgz" -C "$dir"
    touch "$dir/.done"
  fi
  echo "$dir/package"
}

llama_source() {
  local src="$CACHE/src/llama.cpp-$LLAMA_TAG"
  if [[ ! -f "$src/.done" ]]; then
    need git "install it with: apt-get install git"
    local tgz pkg
    tgz=$(fetch "$SRC_PKG" "$SRC_SHA512")
    pkg=$(unpack "$tgz")
    say "unpacking llama.cpp $LLAMA_TAG source from the git bundle"
    rm -rf "$src" && mkdir -p "$(dirname "$src")"
    git clone --quiet "$pkg/llama/gitRelease.bundle" "$src" 2>/dev/null
    touch "$src/.done"
  fi
  echo "$src"
}

SRC=$(llama_source)
case "$MODE" in
  prebuilt|prebuilt-cuda)
    INC="-I$SRC/include -I$SRC/ggml/include"
    if [[ "$MODE" == prebuilt ]]; then
      LIB_DIR="$(unpack "$(fetch "$BIN_PKG" "$BIN_SHA512")")/bins/linux-x64"
    else
      LIB_DIR="$(unpack "$(fetch "$CUDA_PKG" "$CUDA_SHA512")")/bins/linux-x64-cuda"
    fi
    # libllama.v0.5.0.so / libllama.cuda.v0.5.0.so; the CUDA backend (libggml-cuda.so) is loaded at run time
    LIBS=("$LIB_DIR"/libllama.*.so "$LIB_DIR"/libggml.*.so "$LIB_DIR"/libggml-base.so "$LIB_DIR"/libggml-cpu-*.so)
    [[ "$MODE" == prebuilt ]] || LIBS+=("$LIB_DIR"/libggml-cuda.so)
    LINK="-L$LIB_DIR -l:$(basename "$LIB_DIR"/libllama.*.so) -l:$(basename "$LIB_DIR"/libggml.*.so) -l:libggml-base.so"
    ;;
  cmake)
    need cmake "install it with: apt-get install cmake"
    ARGS=${LLAMA_CMAKE_ARGS:-}
    BUILD="$CACHE/build/cmake-$(echo "$LLAMA_TAG $ARGS" | sha256sum | cut -c1-12)"
    say "building llama.cpp $LLAMA_TAG with CMake ($BUILD) $ARGS"
    mkdir -p "$CACHE/build"  # holds the build trees and their logs
    # shellcheck disable=SC2086
    cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON -DGGML_BACKEND_DL=ON \
      -DGGML_CPU_ALL_VARIANTS=ON -DGGML_NATIVE=OFF -DCMAKE_BUILD_RPATH_USE_ORIGIN=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
      -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_COMMON=OFF -DLLAMA_CURL=OFF $ARGS >"$BUILD.log" 2>&1 \
      || die "cmake configure failed, see $BUILD.log"
    if [[ -n "${LLAMA_CMAKE_CONFIGURE_ONLY:-}" ]]; then
      say "configured llama.cpp in $BUILD (LLAMA_CMAKE_CONFIGURE_ONLY set: not building)"
      exit 0
    fi
    cmake --build "$BUILD" --config Release -j "$(nproc)" --target llama ggml >>"$BUILD.log" 2>&1 \
      || die "cmake build failed, see $BUILD.log"
    INC="-I$SRC/include -I$SRC/ggml/include"
    LIB_DIR="$BUILD/bin"
    mapfile -t LIBS < <(find "$LIB_DIR" -maxdepth 1 -name 'lib*.so*')
    LINK="-L$LIB_DIR -lllama -lggml -lggml-base"
    ;;
  local)
    [[ -n "${LLAMA_HOME:-}" ]] || die "LLAMA_BUILD=local needs LLAMA_HOME (a directory with include/ and lib/ or bin/)"
    [[ -f "$LLAMA_HOME/include/llama.h" ]] || die "$LLAMA_HOME/include/llama.h not found"
    LIB_DIR=""
    for d in lib lib64 bin; do [[ -e "$LLAMA_HOME/$d/libllama.so" ]] && LIB_DIR="$LLAMA_HOME/$d" && break; done
    [[ -n "$LIB_DIR" ]] || die "libllama.so not found under $LLAMA_HOME/lib, lib64 or bin"
    INC="-I$LLAMA_HOME/include"
    [[ -d "$LLAMA_HOME/ggml/include" ]] && INC="$INC -I$LLAMA_HOME/ggml/include"
    mapfile -t LIBS < <(find "$LIB_DIR" -maxdepth 1 -name 'lib*.so*')
    LINK="-L$LIB_DIR -lllama -lggml -lggml-base"
    ;;
  *) die "unknown LLAMA_BUILD '$MODE' (prebuilt, prebuilt-cuda, cmake or local)" ;;
esac

STAMP="$MODE ${LLAMA_CMAKE_ARGS:-} ${LLAMA_HOME:-} $(cat "$HERE"/moe_shim.cpp "$HERE"/moe_shim.h "$HERE"/moe_check.cpp "$0" | sha256sum | cut -c1-16)"
if [[ -f "$OUT_DIR.stamp" ]] && [[ "$(cat "$OUT_DIR.stamp")" == "$STAMP" ]]; then
  say "up to date ($MODE)"
  exit 0
fi

rm -rf "$OUT_DIR" && mkdir -p "$OUT_DIR"
say "compiling the shim against llama.cpp ($MODE)"
# DT_RPATH (not RUNPATH): it also applies to the libraries the shim pulls in, so an installed
# llama.cpp whose libggml carries no rpath still finds libggml-cpu next to it
# shellcheck disable=SC2086
g++ -std=c++17 -O2 -fPIC -shared -Wall -Wextra -DMAE_LLAMA_TAG="\"$LLAMA_TAG\"" $INC \
  "$HERE/moe_shim.cpp" -o "$OUT_DIR/libmoeshim.so" $LINK -Wl,-rpath,'$ORIGIN' -Wl,--disable-new-dtags
# the model checker: loads a model in a child process, where a llama.cpp assertion cannot abort the JVM
# shellcheck disable=SC2086
g++ -std=c++17 -O2 -Wall -Wextra "$HERE/moe_check.cpp" -o "$OUT_DIR/moe-check" -L"$OUT_DIR" -lmoeshim $LINK \
  -Wl,-rpath,'$ORIGIN' -Wl,--disable-new-dtags
# One file per library, named by its SONAME (what NEEDED entries ask for). Copying every symlink
# alias as a file of its own would let the loader map the same library twice (ggml aborts on that).
for f in "${LIBS[@]}"; do
  name=$(readelf -d "$f" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
  name=${name:-$(basename "$f")}
  [[ -e "$OUT_DIR/$name" ]] || cp -L "$f" "$OUT_DIR/$name"
done
(cd "$OUT_DIR" && for f in *.so* moe-check; do echo "$(sha256sum "$f" | cut -c1-64) $f"; done) >"$OUT_DIR/natives.txt"
echo "$STAMP" >"$OUT_DIR.stamp"
say "packaged $(wc -l <"$OUT_DIR/natives.txt") libraries into $OUT_DIR"
