"""Torch/open_lm side of dclm-train's checkpoint interop tests (run by tests/torch_interop.rs).

write SRC.safetensors OUT_DIR
    torch writes what open_lm and its HF wrapper write for the model in SRC: OUT_DIR/ddp.pt
    (torch.save of {"epoch", "name", "step", "state_dict"} with DDP's `module.` prefix), OUT_DIR/compiled.pt
    (open_lm's model, built from OUT_DIR/open_lm_model.json, under torch.compile: a bare state dict with
    `_orig_mod.` names) and OUT_DIR/hf/ (OpenLMForCausalLM.save_pretrained, sharded, from the config the
    Rust side wrote into OUT_DIR/hf_config.json).
check SRC.safetensors OURS.pt OURS.json OURS_HF_DIR IDS.json OUT.safetensors
    our exports read back by torch.load(weights_only=True) and transformers, compared tensor by tensor with SRC;
    open_lm's own Transformer (built by create_model from OURS.json, weights from OURS.pt, strict load) and
    the HF wrapper run on IDS; their logits are written to OUT.safetensors.
"""

import json
import sys
import types
from collections import OrderedDict

import torch

try:
    import xformers.ops  # noqa: F401
except ImportError:
    # open_lm imports xformers unconditionally; nothing from it runs with torch_attn + swiglu_torch.
    xf = types.ModuleType("xformers")
    xf.ops = types.ModuleType("xformers.ops")
    sys.modules["xformers"] = xf
    sys.modules["xformers.ops"] = xf.ops

from safetensors.torch import load_file, save_file  # noqa: E402

torch.set_num_threads(1)


def write(src, out):
    sd = load_file(src)
    ddp = OrderedDict(("module." + k, v) for k, v in sd.items())
    torch.save({"epoch": 7, "name": "interop", "step": 42, "state_dict": ddp}, f"{out}/ddp.pt")
    # open_lm's own model, its state_dict() (an OrderedDict carrying `_metadata`) through torch.compile's wrapper.
    from open_lm.model import create_model
    from open_lm.params import parse_args

    model = create_model(parse_args(["--model", f"{out}/open_lm_model.json", "--attn-name", "torch_attn"]))
    model.load_state_dict(sd, strict=True)
    compiled = torch.compile(model)
    torch.save(compiled.state_dict(), f"{out}/compiled.pt")

    from open_lm.hf import OpenLMConfig, OpenLMForCausalLM

    with open(f"{out}/hf_config.json") as f:
        cfg = json.load(f)
    model = OpenLMForCausalLM(OpenLMConfig(**cfg))
    model.model.load_state_dict(sd, strict=True)
    model.save_pretrained(f"{out}/hf", max_shard_size="200KB", safe_serialization=True)
    print(json.dumps({"ok": True, "tensors": len(sd)}))


def check(src, ours_pt, ours_json, ours_hf, ids_path, out):
    ref = load_file(src)
    report = {}
    ck = torch.load(ours_pt, map_location="cpu", weights_only=True)
    assert set(ck) == {"state_dict", "epoch"}, sorted(ck)
    sd = ck["state_dict"]
    assert set(sd) == set(ref), (sorted(set(sd) ^ set(ref)))
    for k, v in ref.items():
        assert sd[k].dtype == v.dtype and sd[k].shape == v.shape, k
        assert torch.equal(sd[k], v), f"{k} differs in {ours_pt}"
    report["pt_tensors_equal"] = len(sd)
    # Memory-mapped loading reads records in place: it needs torch's layout (stored, aligned records).
    mm = torch.load(ours_pt, map_location="cpu", weights_only=True, mmap=True)["state_dict"]
    assert all(torch.equal(mm[k], v) for k, v in ref.items()), "mmap load differs"
    report["pt_mmap_load"] = True

    from open_lm.model import create_model
    from open_lm.params import parse_args

    args = parse_args(["--model", ours_json, "--attn-name", "torch_attn"])
    model = create_model(args)
    model.load_state_dict(sd, strict=True)
    model.eval()
    with open(ids_path) as f:
        ids = torch.tensor(json.load(f), dtype=torch.long)
    with torch.no_grad():
        logits = model(ids)[0].float()

    from open_lm.hf import OpenLMForCausalLM  # noqa: F401 (registers the auto classes)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    hf = AutoModelForCausalLM.from_pretrained(ours_hf)
    hf.eval()
    hsd = hf.model.state_dict()
    for k, v in ref.items():
        assert torch.equal(hsd[k], v), f"{k} differs in {ours_hf}"
    report["hf_tensors_equal"] = len(ref)
    with torch.no_grad():
        hf_logits = hf(input_ids=ids).logits.float()
    try:
        tok = AutoTokenizer.from_pretrained(ours_hf)
        report["hf_tokenizer"] = type(tok).__name__
        report["hf_tokenizer_ids"] = tok("Hello world")["input_ids"]
    except (OSError, ValueError) as e:
        report["hf_tokenizer"] = f"none ({e.__class__.__name__})"
    save_file({"open_lm_logits": logits.contiguous(), "hf_logits": hf_logits.contiguous()}, out)
    print(json.dumps(report))


if __name__ == "__main__":
    cmd, *rest = sys.argv[1:]
    {"write": write, "check": check}[cmd](*rest)
