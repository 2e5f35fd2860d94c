"""Reference ICL evaluation: LLM-Foundry v0.9.0's own ICL code, as DCLM's eval_openlm_ckpt.py runs it, on CPU.

The evaluation code is LLM-Foundry's, unmodified: `llmfoundry/eval/datasets/in_context_learning_evaluation.py`,
`llmfoundry/eval/datasets/utils.py` and `llmfoundry/eval/metrics/nlp.py`, imported from an unpacked
`llm_foundry-0.9.0` wheel (`--llmfoundry-dir`, the folder holding `llmfoundry/`). Only `llmfoundry/eval` is
imported: the package's own `__init__` (which pulls in all of llm-foundry and composer) is replaced by an empty
package. Composer (0.23.x) is not installed: the few names the ICL code imports come from a small stand-in below
(`DataSpec`, `dist` as a single process, `get_file` as a local copy, `MissingConditionalImportError`), and the
parts of composer 0.23.5's `HuggingFaceModel.eval_forward` / `generate` / `update_metric` that an ICL evaluation
runs are repeated in `run_batches` (label shift, forward with `input_ids` + `attention_mask`, metric on the
logits; `model.generate` with the batch's generation kwargs and `batch_decode` of the new tokens). The model is
open_lm's Hugging Face wrapper `OpenLMforCausalLM` (what DCLM wraps in `SimpleComposerOpenLMCausalLM`) around
the open_lm model described by `--model-dir` (an open_lm model JSON and a safetensors file; weights upcast to
float32, DCLM's eval yamls say `precision: fp32`). Tokenizer: GPT-NeoX (`GPTNeoXTokenizerFast`).

Task settings come from a DCLM task YAML (`--task-yaml`, default `mmlu_and_lowvar.yaml` of the shared DCLM
assets) by `--task-yaml-label`, with `build_icl_evaluators`'s defaults for what the YAML leaves out and
`device_eval_batch_size` 2. Batches are right-padded to the task's `max_seq_len` (2048) exactly as LLM-Foundry
builds them, and the model runs on the full padded batch, as composer does.

Prints one JSON line: task, examples, seconds (wall time of dataset build + evaluation loop + metric, i.e. what
evaluating the task costs after the model is loaded), examples_per_s, cpu_seconds / examples_per_cpu_s (the same
span in user + system CPU time), accuracy (the metric's `compute()`), and details.

Example (the dclm-rs eval conformance set's tiny model, arc_easy 10-shot, first 40 examples):

    ~/.cache/dclm-rs/llmfoundry-venv/bin/python scripts/reference/eval_llmfoundry.py \
        --llmfoundry-dir ~/.cache/dclm-rs/llmfoundry/wheel --model-dir ../shared/conformance/eval \
        --task-file ../shared/data/eval/local_data/world_knowledge/arc_easy.jsonl --task-yaml-label arc_easy \
        --limit 40
"""

import argparse
import contextlib
import glob
import json
import os
import resource
import shutil
import sys
import tempfile
import time
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The shared data folder beside a checkout (`../shared`), or DCLM_SHARED.
SHARED = Path(os.environ.get("DCLM_SHARED", HERE.parent.parent.parent / "shared"))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--llmfoundry-dir", required=True, help="unpacked llm_foundry-0.9.0 wheel (holds llmfoundry/)")
    p.add_argument("--model-dir", required=True, help="folder with an open_lm model JSON and one .safetensors")
    p.add_argument("--model-json", help="the open_lm model JSON (default: the only JSON in --model-dir with hidden_dim and n_layers)")
    p.add_argument("--weights", help="the safetensors file (default: the only *.safetensors in --model-dir)")
    p.add_argument("--task-file", help="the task's jsonl (default: the YAML's dataset_uri under --data-dir)")
    p.add_argument("--task-yaml-label", required=True, help="label of the task in --task-yaml")
    p.add_argument("--task-yaml", default=str(SHARED / "data/dclm/eval/mmlu_and_lowvar.yaml"))
    p.add_argument("--data-dir", default=str(SHARED / "data/eval"), help="folder holding local_data/")
    p.add_argument("--tokenizer", default=str(SHARED / "data/tokenizers/gpt-neox-20b.tokenizer.json"))
    p.add_argument("--limit", type=int, help="evaluate only the first N examples")
    p.add_argument("--batch-size", type=int, default=2, help="device_eval_batch_size (DCLM: 2)")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    p.add_argument("--open-lm-dir", default=str(Path.home() / ".cache/dclm-rs/open_lm-src"),
                   help="open_lm source, put on the path when open_lm is not importable")
    return p.parse_args()


def install_stand_ins(llmfoundry_dir):
    """Make `llmfoundry.eval` importable without llm-foundry's package __init__, and provide composer's names."""
    import torch
    from torch.utils.data import DistributedSampler

    pkg_dir = Path(llmfoundry_dir) / "llmfoundry"
    if not (pkg_dir / "eval" / "datasets" / "in_context_learning_evaluation.py").is_file():
        sys.exit(f"{llmfoundry_dir}: no llmfoundry/eval/datasets/in_context_learning_evaluation.py (unpack the wheel)")
    llmfoundry = types.ModuleType("llmfoundry")
    llmfoundry.__path__ = [str(pkg_dir)]
    sys.modules["llmfoundry"] = llmfoundry

    composer = types.ModuleType("composer")
    composer.__path__ = []
    core = types.ModuleType("composer.core")
    data_spec = types.ModuleType("composer.core.data_spec")
    utils = types.ModuleType("composer.utils")

    class DataSpec:
        """composer.core.DataSpec as a plain holder of the dataloader and its hooks."""

        def __init__(self, dataloader, num_samples=None, num_tokens=None, device_transforms=None,
                     split_batch=None, get_num_samples_in_batch=None, get_num_tokens_in_batch=None):
            self.dataloader = dataloader
            self.num_samples = num_samples
            self.num_tokens = num_tokens
            self.device_transforms = device_transforms
            self.split_batch = split_batch
            self.get_num_samples_in_batch = get_num_samples_in_batch
            self.get_num_tokens_in_batch = get_num_tokens_in_batch

    def _split_list(items, microbatch_size):
        # composer.core.data_spec._split_list
        return [items[i:i + microbatch_size] for i in range(0, len(items), microbatch_size)]

    def _default_split_batch(batch, microbatch_size):
        # composer.core.data_spec._default_split_batch for the shapes ICL batches have
        if isinstance(batch, torch.Tensor):
            return batch.split(microbatch_size)
        if isinstance(batch, dict):
            parts = {k: _default_split_batch(v, microbatch_size) for k, v in batch.items()}
            n = len(next(iter(parts.values())))
            return [{k: v[i] for k, v in parts.items()} for i in range(n)]
        if isinstance(batch, (list, tuple)):
            return _split_list(batch, microbatch_size)
        raise NotImplementedError(f"cannot split a {type(batch).__name__}")

    class MissingConditionalImportError(ImportError):
        """composer.utils.MissingConditionalImportError."""

        def __init__(self, extra_deps_group, conda_package, conda_channel="conda-forge"):
            super().__init__(f"install the '{extra_deps_group}' extras ({conda_package} from {conda_channel})")

    dist = types.SimpleNamespace(
        get_local_rank=lambda: 0,
        get_global_rank=lambda: 0,
        get_world_size=lambda: 1,
        barrier=lambda: None,
        all_gather_object=lambda obj: [obj],
        local_rank_zero_download_and_wait=lambda path: contextlib.nullcontext(),
        # composer.utils.dist.get_sampler: a DistributedSampler over this rank's share (all of it here).
        get_sampler=lambda dataset, drop_last=False, shuffle=False: DistributedSampler(
            dataset, num_replicas=1, rank=0, drop_last=drop_last, shuffle=shuffle),
    )

    def get_file(path, destination, overwrite=False):
        # composer.utils.get_file for a local path: copy it to the destination.
        if os.path.exists(destination) and not overwrite:
            raise FileExistsError(destination)
        shutil.copyfile(path, destination)

    core.DataSpec = DataSpec
    data_spec.DataSpec = DataSpec
    data_spec._split_list = _split_list
    data_spec._default_split_batch = _default_split_batch
    utils.MissingConditionalImportError = MissingConditionalImportError
    utils.dist = dist
    utils.get_file = get_file
    composer.core = core
    composer.utils = utils
    core.data_spec = data_spec
    sys.modules.update({"composer": composer, "composer.core": core, "composer.core.data_spec": data_spec,
                        "composer.utils": utils})

    try:
        import xformers.ops  # noqa: F401
    except ImportError:
        # open_lm imports xformers unconditionally; nothing of it runs with torch_attn + swiglu_torch.
        xf = types.ModuleType("xformers")
        xf.ops = types.ModuleType("xformers.ops")
        sys.modules["xformers"] = xf
        sys.modules["xformers.ops"] = xf.ops


def task_settings(yaml_path, label, batch_size):
    """The YAML's entry for `label` with build_icl_evaluators' defaults (llm-foundry 0.9.0) filled in."""
    import yaml

    with open(yaml_path) as f:
        cfg = yaml.safe_load(f)
    tasks = [t for t in cfg.get("icl_tasks", []) if t.get("label") == label]
    if not tasks:
        sys.exit(f"{yaml_path}: no icl_tasks entry with label {label!r}")
    t = dict(tasks[0])
    shots = t["num_fewshot"]
    t["num_fewshot"] = shots[0] if isinstance(shots, list) else shots
    t.setdefault("prompt_string", "")
    t.setdefault("example_delimiter", "\n")
    t.setdefault("continuation_delimiter", " ")
    t.setdefault("max_seq_len", cfg.get("max_seq_len", 2048))
    t.setdefault("batch_size", batch_size)
    t.setdefault("pass_at_k", 1)
    t.setdefault("fewshot_random_seed", 1234)
    t.setdefault("generations_per_sample", 1)
    return t


def load_model(args):
    """open_lm's HF wrapper OpenLMforCausalLM around the open_lm model of --model-dir, float32, eval mode."""
    import torch
    from safetensors.torch import load_file

    try:
        import open_lm  # noqa: F401
    except ImportError:
        sys.path.insert(0, args.open_lm_dir)
    from open_lm.model import create_params
    from open_lm.params import parse_args as open_lm_args
    from open_lm.utils.transformers.hf_config import OpenLMConfig
    from open_lm.utils.transformers.hf_model import OpenLMforCausalLM

    def only(pattern, given):
        if given:
            return given
        found = sorted(glob.glob(os.path.join(args.model_dir, pattern)))
        if len(found) != 1:
            sys.exit(f"{args.model_dir}: expected one {pattern}, found {found}; give it explicitly")
        return found[0]

    def is_model_json(path):
        try:
            with open(path) as f:
                cfg = json.load(f)
        except (OSError, ValueError):
            return False
        return isinstance(cfg, dict) and "hidden_dim" in cfg and "n_layers" in cfg

    model_json = args.model_json
    if not model_json:
        found = [p for p in sorted(glob.glob(os.path.join(args.model_dir, "*.json"))) if is_model_json(p)]
        if len(found) != 1:
            sys.exit(f"{args.model_dir}: expected one open_lm model JSON, found {found}; give --model-json")
        model_json = found[0]
    weights = only("*.safetensors", args.weights)
    params = create_params(open_lm_args(["--model", model_json, "--attn-name", "torch_attn"]))
    model = OpenLMforCausalLM(OpenLMConfig(params=params))
    state = {k: v.float() if v.is_floating_point() else v for k, v in load_file(weights).items()}
    model.model.load_state_dict(state, strict=True)
    model.eval()
    return model


def run_batches(model, tokenizer, dataloader, metric, limit_batches=None):
    """composer 0.23.5's evaluation loop for one ICL dataloader: eval_forward + update_metric per batch."""
    import inspect

    import torch

    forward_args = set(inspect.getfullargspec(model.forward).args)
    one_token_space = len(tokenizer(" a", add_special_tokens=False)["input_ids"]) == 1
    with torch.no_grad():
        for batch in dataloader:
            if batch.get("mode") == "generate":
                labels = batch.pop("labels")
                gen = model.generate(
                    input_ids=batch["input_ids"],
                    attention_mask=batch["attention_mask"],
                    max_new_tokens=batch["generation_length"],
                    synced_gpus=False,
                    **batch.get("generation_kwargs", {}),
                )
                if not one_token_space:
                    sys.exit("tokenizers that add a prefix space (sentencepiece) are not handled here")
                outputs = tokenizer.batch_decode(gen[:, batch["input_ids"].shape[1]:], skip_special_tokens=True)
            else:
                labels = batch.pop("labels")
                labels[:, :-1] = labels[:, 1:].clone()
                labels[:, -1] = -100
                out = model(**{k: v for k, v in batch.items() if k in forward_args})
                outputs = out["logits"]
            metric.update(batch, outputs, labels)


def cpu_seconds():
    """User + system CPU time of this process (the honest cost on a machine shared with other work)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main():
    args = parse_args()
    import torch

    torch.set_num_threads(args.threads)
    install_stand_ins(args.llmfoundry_dir)
    from llmfoundry.eval.datasets.in_context_learning_evaluation import get_icl_task_dataloader
    from llmfoundry.eval.metrics import nlp
    from torch.utils.data import DataLoader
    from transformers import GPTNeoXTokenizerFast

    t = task_settings(args.task_yaml, args.task_yaml_label, args.batch_size)
    task_file = args.task_file or os.path.join(args.data_dir, t["dataset_uri"])
    tokenizer = GPTNeoXTokenizerFast(tokenizer_file=args.tokenizer)
    pad_tok_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    model = load_model(args)
    metric_cls = {
        "multiple_choice": nlp.InContextLearningMultipleChoiceAccuracy,
        "schema": nlp.InContextLearningMultipleChoiceAccuracy,
        "language_modeling": nlp.InContextLearningLMAccuracy,
        "generation_task_with_answers": nlp.InContextLearningGenerationExactMatchAccuracy,
    }[t["icl_task_type"]]

    # LLM-Foundry copies the task file to destination_path and the datasets library caches its tables; both go
    # to a fresh folder so that every run does the same work.
    scratch = tempfile.mkdtemp(prefix="eval_llmfoundry_")
    os.environ["HF_DATASETS_CACHE"] = os.path.join(scratch, "hf_datasets")
    import datasets

    datasets.config.HF_DATASETS_CACHE = Path(os.environ["HF_DATASETS_CACHE"])
    datasets.disable_progress_bars()
    try:
        start, cpu_start = time.perf_counter(), cpu_seconds()
        specs = get_icl_task_dataloader(
            t["icl_task_type"],
            task_file,
            tokenizer,
            batch_size=t["batch_size"],
            max_seq_len=t["max_seq_len"],
            pad_tok_id=pad_tok_id,
            num_fewshot=t["num_fewshot"],
            prompt_string=t["prompt_string"],
            example_delimiter=t["example_delimiter"],
            hf_loading_vars=t.get("hf_loading_vars", {}),
            hf_parsing_map=t.get("hf_parsing_map", {}),
            continuation_delimiter=t["continuation_delimiter"],
            question_prelimiter=t.get("question_prelimiter", ""),
            destination_path=os.path.join(scratch, f"{t['label']}-{t['num_fewshot']}.jsonl"),
            fewshot_random_seed=t["fewshot_random_seed"],
            pass_at_k=t["pass_at_k"],
            generations_per_sample=t["generations_per_sample"],
            has_categories=t.get("has_categories", False),
            cot_delimiter=t.get("cot_delimiter", ""),
            generation_kwargs=t.get("generation_kwargs", {}),
            early_stopping_criteria=t.get("early_stopping_criteria"),
            do_normalization=t.get("do_normalization", True),
        )
        built = time.perf_counter()
        parts = specs if isinstance(specs, dict) else {None: specs}
        examples = 0
        accuracies = {}
        for name, spec in parts.items():
            dl = spec.dataloader
            n = len(dl.dataset)
            if args.limit is not None:
                n = min(n, args.limit)
                # The same dataset, collate function and batch size, over the first n examples in order.
                dl = DataLoader(dl.dataset, batch_size=dl.batch_size, sampler=range(n), collate_fn=dl.collate_fn)
            metric = metric_cls()
            run_batches(model, tokenizer, dl, metric)
            accuracies[name] = float(metric.compute())
            examples += n
        end, cpu_end = time.perf_counter(), cpu_seconds()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    # has_categories: DCLM reports the plain mean of the per-category accuracies.
    accuracy = sum(accuracies.values()) / len(accuracies)
    seconds = end - start
    print(json.dumps({
        "task": t["label"],
        "examples": examples,
        "seconds": seconds,
        "examples_per_s": examples / seconds if seconds > 0 else None,
        "cpu_seconds": cpu_end - cpu_start,
        "examples_per_cpu_s": examples / (cpu_end - cpu_start),
        "accuracy": accuracy,
        "num_fewshot": t["num_fewshot"],
        "icl_task_type": t["icl_task_type"],
        "batch_size": t["batch_size"],
        "max_seq_len": t["max_seq_len"],
        "threads": torch.get_num_threads(),
        "seconds_dataset_build": built - start,
        "seconds_eval_loop": end - built,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "task_file": os.path.abspath(task_file),
        "llmfoundry_dir": os.path.abspath(args.llmfoundry_dir),
        "versions": {m: sys.modules[m].__version__ for m in ("torch", "transformers", "datasets", "torchmetrics")},
    }))


if __name__ == "__main__":
    main()
