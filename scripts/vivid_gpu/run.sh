#!/usr/bin/env bash
# One device call: train the vivid candidates on one GPU (see docs/models/vivid.md).
set -uo pipefail
export PYTHONUNBUFFERED=1
T0=$(date +%s)
PY=${PY:-python3}
[ -n "${SKIPPIP:-}" ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .gpu/whl/*.whl || exit 3
rm -rf /tmp/src && cp -r src /tmp/src && cp -r .gpu/overlay/src/. /tmp/src/ && cp -r .gpu/overlay/configs/. configs/
export PYTHONPATH=/tmp/src:/tmp/site
ln -sfn "$PWD/.gpu/corpus" corpus 2>/dev/null || true
nvidia-smi 2>/dev/null --query-gpu=name,memory.total --format=csv,noheader
$PY -c "import torch, lightning; print('torch', torch.__version__, 'lightning', lightning.__version__, torch.cuda.is_available())"
COMMON=(--set trainer.accelerator=${ACC:-gpu} --set trainer.precision=${PREC:-bf16-mixed} --set data.num_workers=${NW:-12} --set loss.prior=$PWD/.gpu/prior.json --set model.kwargs.pretrained=false ${EXTRA:-})
# 1. timing run: 60 steps of the hybrid (startup included)
$PY -m tinct train configs/vivid.yaml "${COMMON[@]}" --set trainer.max_steps=${SMOKE:-60} --set trainer.val_every_steps=1000 --set output_dir=/tmp/smoke > $OUT/smoke.log 2>&1 || { tail -40 $OUT/smoke.log; exit 4; }
SEC=$($PY -c "import sys; sys.path.insert(0,'/tmp/src'); import tinct.models as m; d=m.load_metadata('/tmp/smoke/model.pt'); print(d['train_seconds_this_run'])")
echo "smoke: ${SMOKE:-60} steps in $SEC s (startup included); elapsed $(( $(date +%s) - T0 )) s"
STEPS_A=$($PY -c "print(int(${SMOKE:-60}/($SEC)*${SEC_A:-230}*0.9)//50*50 or 50)")
STEPS_B=$($PY -c "print(int(${SMOKE:-60}/($SEC)*${SEC_B:-140}*1.1)//50*50 or 50)")
echo "steps: A=$STEPS_A B=$STEPS_B"
$PY -m tinct train configs/vivid.yaml "${COMMON[@]}" --set trainer.max_steps=$STEPS_A --set trainer.max_time=00:00:04:30 --set trainer.val_every_steps=$((STEPS_A/4)) --set trainer.checkpoint_every_steps=100000 --set output_dir=/tmp/A > $OUT/A.log 2>&1; echo "A rc=$? elapsed $(( $(date +%s) - T0 )) s"
cp /tmp/A/model.pt $OUT/A_model.pt; cp /tmp/A/logs/version_0/metrics.csv $OUT/A_metrics.csv
$PY -m tinct train configs/vivid.yaml "${COMMON[@]}" --set model.name=effnet-unet --set loss.name=l1 --set trainer.max_steps=$STEPS_B --set trainer.max_time=00:00:02:45 --set trainer.val_every_steps=$((STEPS_B/4)) --set trainer.checkpoint_every_steps=100000 --set name=l1-long --set output_dir=/tmp/B > $OUT/B.log 2>&1; echo "B rc=$? elapsed $(( $(date +%s) - T0 )) s"
cp /tmp/B/model.pt $OUT/B_model.pt; cp /tmp/B/logs/version_0/metrics.csv $OUT/B_metrics.csv
tail -n 3 $OUT/A.log $OUT/B.log
