# shellcheck shell=bash disable=SC2154
# Sourced by the inference benchmarks (not a benchmark itself: bench/run
# runs bench_*.sh): the CNN they all measure, conv16-pool-conv32-pool-fc10
# trained one epoch on 20k Fashion-MNIST images (enough for speed figures),
# at $work/models/runs/cnn/model.tym; the data under $work/data, the
# trainer's answer in $work/train.json. Needs ROOT, BIN, PY, THREADS, work.
#   bench_cnn_model || exit 0
bench_cnn_model() {
	"$PY" "$ROOT/bench/fmnist_tyd.py" "$work/data/prepared/fmnist" 20000 || return 1
	cat >"$work/cnn.json" <<J
{"data":"prepared/fmnist","output":"runs/cnn","model":{"arch":"cnn","conv":[16,32],"hidden":[]},
 "epochs":1,"batch_size":64,"optimizer":"adam","lr":0.001,"seed":1}
J
	TRAINYARD_DATA_DIR=$work/data TRAINYARD_MODELS_DIR=$work/models \
		TRAINYARD_THREADS=$THREADS "$BIN/trainyard-train" --run "$work/cnn.json" \
		>"$work/train.json" 2>"$work/train.log" || {
		echo "training failed:"
		tail -3 "$work/train.log"
		return 1
	}
}
