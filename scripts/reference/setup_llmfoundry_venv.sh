#!/usr/bin/env bash
# Create the venv eval_llmfoundry.py runs in (~/.cache/dclm-rs/llmfoundry-venv) and unpack LLM-Foundry v0.9.0's
# wheel (~/.cache/dclm-rs/llmfoundry/wheel). torch (2.15 CPU) and open_lm are not installed again: a .pth file
# adds the torch venv's site-packages (~/.cache/dclm-rs/torch-venv, made by .ci/run) *after* this venv's own, so
# the packages below shadow the torch venv's newer ones (transformers 4.57, numpy 2, pandas 3) only here; the
# torch venv itself is untouched. Versions: what llm-foundry 0.9.0 pins (datasets, transformers, tokenizers), an
# era-matched numpy / pyarrow / pandas that datasets 2.19 works with, torchmetrics 1.9.0 as in the conformance set.
set -euo pipefail
CACHE=${DCLM_CACHE:-$HOME/.cache/dclm-rs}
TORCH_VENV=${TORCH_VENV:-$CACHE/torch-venv}
VENV=$CACHE/llmfoundry-venv
WHEEL_DIR=$CACHE/llmfoundry
[ -x "$TORCH_VENV/bin/python" ] || { echo "no torch venv at $TORCH_VENV (run .ci/run first)" >&2; exit 1; }
SITE=$("$TORCH_VENV/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
if [ ! -x "$VENV/bin/python" ]; then
    "$TORCH_VENV/bin/python" -m venv "$VENV"
    VSITE=$("$VENV/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    echo "import site; site.addsitedir('$SITE')" > "$VSITE/zz_torch_venv.pth"
fi
"$VENV/bin/pip" install -q 'datasets==2.19.2' 'fsspec==2023.6.0' 'transformers==4.40.2' 'tokenizers==0.19.1' \
    'torchmetrics==1.9.0' 'numpy==1.26.4' 'pyarrow==16.1.0' 'pandas==2.2.2'
if [ ! -f "$WHEEL_DIR/wheel/llmfoundry/eval/datasets/in_context_learning_evaluation.py" ]; then
    mkdir -p "$WHEEL_DIR"
    "$VENV/bin/pip" download -q 'llm-foundry==0.9.0' --no-deps -d "$WHEEL_DIR"
    "$VENV/bin/python" -m zipfile -e "$WHEEL_DIR/llm_foundry-0.9.0-py3-none-any.whl" "$WHEEL_DIR/wheel"
fi
"$VENV/bin/python" -c "import torch, transformers, datasets, open_lm; print('llmfoundry venv:', torch.__version__, transformers.__version__, datasets.__version__)"
echo "llm-foundry 0.9.0 unpacked at $WHEEL_DIR/wheel"
