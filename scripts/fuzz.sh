#!/usr/bin/env bash
# Fuzzes every target of fuzz/ with libFuzzer (cargo fuzz, nightly toolchain)
# for FUZZ_SECONDS each (60 by default), starting from the committed seed
# corpora. Any crash fails; its input is left in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
seconds="${FUZZ_SECONDS:-60}"
cargo +nightly fuzz build
for target in engine_payload contract_folder period_query eval_envelope; do
    # New inputs go to a scratch folder; the committed corpus is only read.
    scratch="$(mktemp -d)"
    log="$(mktemp)"
    if ! cargo +nightly fuzz run "$target" "$scratch" "corpus/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
        tail -60 "$log"
        echo "fuzz: $target crashed; the input is in fuzz/artifacts/$target/"
        exit 1
    fi
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    echo "fuzz: $target: $runs executions in ${seconds} s, no crash"
    rm -rf "$scratch" "$log"
done
