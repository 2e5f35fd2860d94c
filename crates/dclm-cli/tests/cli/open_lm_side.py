"""open_lm's side of the `launch train` round-trip tests (run by launch_train.rs with DCLM_TORCH_PYTHON).

    logits RUN_DIR CKPT IDS_JSON OUT
        Builds open_lm's model from the arguments `dclm launch train` wrote (RUN_DIR/open_lm_args.json, as open_lm
        parsed them when it trained), loads CKPT with open_lm's own checkpoint loader (`open_lm.main.load_model`,
        what --resume/--pretrained use), runs a forward pass on the token ids of IDS_JSON and writes the logits
        (float32, [batch, seq, vocab]) to OUT as safetensors under `logits`.
"""
import json
import sys
import types

try:
    import xformers.ops  # noqa: F401
except ImportError:
    # Nothing of xformers runs with torch_attn and swiglu_torch; open_lm imports it when its model module loads.
    stub = types.ModuleType("xformers")
    stub.ops = types.ModuleType("xformers.ops")
    sys.modules["xformers"] = stub
    sys.modules["xformers.ops"] = stub.ops

import torch
from safetensors.torch import save_file


def logits(run_dir, ckpt, ids_path, out):
    from open_lm.main import load_model
    from open_lm.model import create_model
    from open_lm.params import parse_args

    with open(f"{run_dir}/open_lm_args.json") as f:
        args = parse_args(json.load(f))
    args.resume = ckpt
    args.fsdp = False
    args.distributed = False
    model = create_model(args)
    load_model(args, model, different_seed=True)
    model.eval()
    with open(ids_path) as f:
        ids = torch.tensor(json.load(f), dtype=torch.long)
    with torch.no_grad():
        out_logits = model(ids)[0].float()
    save_file({"logits": out_logits.contiguous()}, out)
    print(json.dumps({"shape": list(out_logits.shape)}))


if __name__ == "__main__":
    cmd, *rest = sys.argv[1:]
    {"logits": logits}[cmd](*rest)
