#!/bin/sh
# On a lent NVIDIA GPU: measure the per-SM unit rates the profiles assume (benchmarks/gpu_units.py, with
# nvidia-smi's clock state), then time torch SDPA (flash, cuDNN, memory-efficient backends; bf16 and fp16) over
# benchmarks/gpu_validate.py's grid against the model, writing one JSON file per run (rows, GPU name, driver, clocks,
# torch version) under $OUT (default results/gpu-measure). With the device tool:
#   sh scripts/gpu_wheels.sh                                  # here, once: pydantic wheels into .whl/
#   run(command="sh scripts/gpu_measure.sh", carry=[".whl"], timeout_s=540)
# Without a GPU each run says so and exits 0. The measured rows become validation data (docs/gpu.md).
# Each SDPA file is rewritten after every shape. To go on after a call the device's time limit cut off, put the files
# it returned in results/gpu-measure-earlier/ and carry that folder too: they are copied into $OUT, the unit rates
# are not measured again and each run times only the shapes its file lacks (gpu_validate.py --resume).
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ -d .whl ]; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        || exit 1
    export PYTHONPATH=/tmp/site:$PWD
else
    export PYTHONPATH=$PWD
fi
export PYTHONUNBUFFERED=1
out=${OUT:-results/gpu-measure}
mkdir -p "$out"
if [ -d results/gpu-measure-earlier ]; then
    cp results/gpu-measure-earlier/*.json "$out"/ 2>/dev/null
fi
status=0
# The per-SM rates the profiles assume (mma.sync, SFU, FP32, shared memory, L2 and HBM loads) with nvidia-smi's
# clock and power state, then the six SDPA runs: eight files with the log, what the device tool returns.
echo "== units" | tee -a "$out/measure.log"
if [ -s "$out/units.json" ]; then
    echo "kept: units.json of the earlier call" | tee -a "$out/measure.log"
else
    "$PY" benchmarks/gpu_units.py --out "$out/units.json" > "$out/units.txt" 2>&1 || status=1
    cat "$out/units.txt" | tee -a "$out/measure.log"
    rm -f "$out/units.txt"
fi
for backend in cudnn flash efficient; do
    for dtype in bf16 fp16; do
        echo "== $backend $dtype" | tee -a "$out/measure.log"
        if ! "$PY" benchmarks/gpu_validate.py --measure --resume --backend "$backend" --dtype "$dtype" \
                --out "$out/measure-$backend-$dtype.json" >> "$out/measure.log" 2>&1; then
            status=1
            echo "failed: $backend $dtype (see measure.log)"
        fi
        grep -E "^mean \|error\| over|skipping" "$out/measure.log" | tail -1
    done
done
exit $status
