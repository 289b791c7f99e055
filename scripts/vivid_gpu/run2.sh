#!/usr/bin/env bash
# Second device call: two ablations of the vivid recipe (see docs/results/quality.md).
set -uo pipefail
export PYTHONUNBUFFERED=1
T0=$(date +%s)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .gpu/whl/*.whl || exit 3
rm -rf /tmp/src && cp -r src /tmp/src && cp -r .gpu/overlay/src/. /tmp/src/ && cp -r .gpu/overlay/configs/. configs/
export PYTHONPATH=/tmp/src:/tmp/site
ln -sfn "$PWD/.gpu/corpus" corpus
COMMON=(--set trainer.accelerator=gpu --set trainer.precision=bf16-mixed --set data.num_workers=12 --set loss.prior=$PWD/.gpu/prior.json --set model.kwargs.pretrained=false --set trainer.batch_size=64 --set data.samples_per_epoch=64000 --set trainer.checkpoint_every_steps=100000)
python3 -m tinct train configs/vivid.yaml "${COMMON[@]}" --set trainer.max_steps=300 --set trainer.val_every_steps=100 --set output_dir=/tmp/C > $OUT/C.log 2>&1; echo "C rc=$? elapsed $(( $(date +%s) - T0 )) s"
cp /tmp/C/model.pt $OUT/C_model.pt; cp /tmp/C/logs/version_0/metrics.csv $OUT/C_metrics.csv
python3 -m tinct train configs/vivid.yaml "${COMMON[@]}" --set loss.name=unbalanced --set trainer.max_steps=1100 --set trainer.max_time=00:00:03:00 --set trainer.val_every_steps=275 --set output_dir=/tmp/D > $OUT/D.log 2>&1; echo "D rc=$? elapsed $(( $(date +%s) - T0 )) s"
cp /tmp/D/model.pt $OUT/D_model.pt; cp /tmp/D/logs/version_0/metrics.csv $OUT/D_metrics.csv
tail -n 2 $OUT/C.log $OUT/D.log
