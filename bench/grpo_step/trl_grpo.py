#!/usr/bin/env python3
"""TRL's GRPOTrainer (TRL 1.16, transformers generate, no vLLM) on the workload of an aha run config, for
the GRPO step benchmark (bench/grpo_step/README.md; run.py runs both trainers and prints ratios).

    trl_grpo.py --config RUN/config.json --prompts P.jsonl --out trl_steps.jsonl [--set section.key=value ...]

--config is an aha `train` config: best the resolved one an aha run writes (RUN/config.json), so every
setting is the one aha used; an input config works too (unset keys take aha's documented defaults, below).
--prompts is prompts.py's output: the prompts in aha's draw order, checked byte for byte against an aha
run. One JSON line per aha step (one rollout batch and its mu × minibatches optimizer steps) goes to --out
and stdout: seconds per phase, the step's rewards, peak RSS.

Phases, and where they are cut (wall clock, time.perf_counter; torch.cuda.synchronize() at each cut on GPU):
  timing/generation  GRPOTrainer._generate: tokenizing the prompts, model.generate, cutting at EOS, decoding
                     (aha's timing/rollout: rendering, tokenizing, the engine's generate, decoding)
  timing/reward      GRPOTrainer._calculate_rewards: every reward function (aha's timing/reward: scoring)
  timing/step        on_step_begin of the first optimizer step that uses a rollout batch to on_step_end of
                     its last (mu × minibatches optimizer steps); TrainerCallback hooks
  timing/train       step − generation − reward: padding, the reference (and, when mu > 1, π_old) forwards,
                     advantages, loss forward/backward, clipping, AdamW, the schedule (aha's timing/train:
                     the reference forward, advantages, forward/backward, clipping, AdamW, router biases)
  peak_rss_mib       resource.getrusage(RUSAGE_SELF).ru_maxrss at the end of the step (peak so far, model
                     loading included); peak_rss_children_mib the same for RUSAGE_CHILDREN (none expected)

TRL 1.16 defaults overridden (GRPOConfig and the TrainingArguments it extends), and why:
  loss_type                 "dapo" -> from grpo.aggregation: seq-mean-token-mean -> "grpo" (each completion's
                            token mean, then the mean over completions: TRL divides each micro-batch's
                            sequence mean by gradient_accumulation_steps, equal micro-batches make it the
                            optimizer step's mean); token-mean -> "dapo"; seq-mean-token-sum-norm -> "dr_grpo"
  beta                      0.0 -> grpo.beta (0.001): TRL then loads a reference model, k3 in the loss as aha
  use_bias_correction_kl    True -> False: TRL multiplies k3 by the importance ratio; aha keeps plain k3
  epsilon, epsilon_high     0.2, None -> grpo.clip_low, grpo.clip_high
  scale_rewards             "group" -> grpo.scale_rewards (the same here; set explicitly)
  importance_sampling_level "token" -> grpo.ratio_level
  num_generations           8 -> rollout.group_size
  max_completion_length     512 -> rollout.max_new_tokens
  temperature, top_p, top_k 1.0, 1.0, 0 -> rollout.* (the same here; set explicitly)
  num_iterations            1 -> grpo.mu
  per_device_train_batch_size 8 (transformers) -> grpo.micro_batch_size, or the whole minibatch when 0
  gradient_accumulation_steps 1 -> minibatch / micro-batch: one optimizer step per aha minibatch
  steps_per_generation      None (= gradient_accumulation_steps) -> prompts × group_size / micro-batch:
                            one rollout batch feeds grpo.minibatches optimizer steps per pass
  max_steps                 -> train.steps × mu × minibatches (TRL counts optimizer steps)
  learning_rate             1e-6 -> train.lr
  lr_scheduler_type         "linear" -> aha's schedule (grpo/schedule.cpp) as a LambdaLR: warm-up
                            lr·(s+1)/W from optimizer step 0, cosine to min_lr_ratio·lr. HF's
                            cosine_with_min_lr warms up as s/W (lr 0 on the first step): that offset removed
  warmup_steps              0 -> train.warmup_steps, inside the schedule above
  adam_beta1, adam_beta2    0.9, 0.999 -> train.adam_beta1, train.adam_beta2 (aha: 0.9, 0.99)
  weight_decay, max_grad_norm  0.0, 1.0 -> train.weight_decay, train.max_grad_norm (set explicitly)
  gradient_checkpointing    True (TRL) -> train.gradient_checkpointing (aha's default: false)
  bf16                      True (TRL, when fp16 is unset) -> True only when model.dtype is bfloat16; with
                            bf16 TRL keeps fp32 weights (its default load dtype) under bf16 autocast, the
                            closest HF form of aha's bf16 weights with fp32 master weights
  tf32                      None -> True on CUDA with float32, as aha turns TF32 on for fp32 matmuls
  router_aux_loss_coef      None -> 0.0 for MoE models (aha has no load-balancing loss)
  disable_dropout           False -> True (aha has no dropout; both models here have dropout 0 anyway)
  shuffle_dataset           True -> False: the prompts file is already in aha's draw order
  reward_weights            None (all 1) -> rewards.rules[].weight
  seed                      42 -> train.seed (sampling still differs: different generators)
  logging_steps 10 -> 1, save_strategy "steps" -> "no", report_to -> "none", disable_tqdm -> True:
                            bookkeeping only, so that no checkpoint writing lands inside a timed step
Left at TRL's default on purpose (how TRL users run it): optim (adamw_torch_fused on torch >= 2.8; the same
AdamW update as aha's libtorch AdamW, eps 1e-8 both), cache_implementation (None: transformers' dynamic KV
cache; aha preallocates a static one), use_transformers_continuous_batching (False), the model's
attn_implementation (model.attention is passed: sdpa both sides by default), generation_batch_size (derived).

Not matched (TRL 1.16 cannot express these, or does them differently):
  - Sampling: different random streams, so completions (and their lengths, hence the work per step) differ.
    aha prefills each prompt once and copies its KV cache to its group; TRL repeats each prompt
    group_size times and prefills every copy.
  - Minibatch composition: aha splits the rollout batch into minibatches in order (groups 0..P/M−1 first);
    TRL shuffles the batch (shuffle_sequence_dict) before splitting it across optimizer steps.
  - π_old: aha keeps the rollout's sampling log-probs (grpo.recompute_old_logprobs false); TRL recomputes
    them with a no-grad forward when num_iterations > 1 or a batch feeds several optimizer steps, and
    uses the current log-probs detached otherwise. Same values to ~1e-6; one more forward for TRL.
  - Log-ratio clamp: aha clamps log π_θ − log π_old at ±grpo.max_log_ratio (20) before exp; TRL does not.
  - MoE router biases: aha moves DeepSeek-V3's e_score_correction_bias after each optimizer step
    (auxiliary-loss-free balancing, grpo.bias_update_gamma 0.001); TRL/transformers keep them frozen.
  - bf16: aha holds bf16 weights (generation and forwards run on them) with fp32 master weights and
    moments; TRL holds fp32 weights (and an fp32 reference model) and runs bf16 autocast.
  - Completion text: TRL decodes with skip_special_tokens=True, aha decodes every generated token but the
    final EOS; a sampled special token (e.g. <|im_end|>) is text to aha's rules, not to TRL's.
  - Reward timing: aha scores on every core (a thread pool); the Python rules here run in one thread.
  - Stop strings (rollout.stop), micro_batch_tokens, dynamic sampling, KL in the reward, router replay,
    dual clip, truncated IS and rubric options have no TRL equivalent here: such configs are refused.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# aha's defaults for keys an input config may leave out (grpo/run_config.h, README "Config reference").
AHA_DEFAULTS = {
    "model": {"device": "cpu", "dtype": "", "attention": "sdpa"},
    "rollout": {"prompts_per_step": 16, "group_size": 8, "max_new_tokens": 48, "temperature": 1.0, "top_p": 1.0,
                "top_k": 0, "stop": []},
    "grpo": {"beta": 0.001, "kl_estimator": "k3", "kl_placement": "loss", "clip_low": 0.2, "clip_high": 0.2,
             "dual_clip": 0.0, "ratio_level": "token", "aggregation": "seq-mean-token-mean", "sum_norm": None,
             "scale_rewards": "group", "advantage_eps": 1e-4, "mu": 1, "minibatches": 1, "micro_batch_size": 0,
             "dynamic_sampling": False, "overlong_buffer": 0, "entropy_coef": 0.0, "tis_cap": 0.0,
             "router_replay": False, "ref_refresh_steps": 0, "preset": "grpo"},
    "train": {"steps": 50, "lr": 1e-4, "warmup_steps": 0, "min_lr_ratio": 0.1, "weight_decay": 0.0,
              "adam_beta1": 0.9, "adam_beta2": 0.99, "max_grad_norm": 1.0, "seed": 1, "threads": 0,
              "gradient_checkpointing": False, "micro_batch_tokens": 0},
    "rewards": {"rules": [{"name": "accuracy", "weight": 1.0}]},
}
LOSS_TYPES = {"seq-mean-token-mean": "grpo", "token-mean": "dapo", "seq-mean-token-sum-norm": "dr_grpo"}


def load_config(path: str, overrides: list[str]) -> dict:
    config = json.load(open(path))
    for item in overrides:  # aha's --set: the value as JSON when it parses, else as a string
        key, _, value = item.partition("=")
        section, _, name = key.partition(".")
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        config.setdefault(section, {})[name] = parsed
    for section, defaults in AHA_DEFAULTS.items():
        for key, value in defaults.items():
            config.setdefault(section, {}).setdefault(key, value)
    return config


def refuse_unmatched(c: dict):
    g, r, t = c["grpo"], c["rollout"], c["train"]
    problems = []
    if g["preset"] not in ("grpo", "dapo", "dr_grpo"):
        problems.append(f"grpo.preset {g['preset']}")
    for key, ok in [("kl_estimator", g["kl_estimator"] == "k3"), ("kl_placement", g["kl_placement"] == "loss"),
                    ("dual_clip", g["dual_clip"] == 0), ("dynamic_sampling", not g["dynamic_sampling"]),
                    ("overlong_buffer", g["overlong_buffer"] == 0), ("tis_cap", g["tis_cap"] == 0),
                    ("router_replay", not g["router_replay"]), ("ref_refresh_steps", g["ref_refresh_steps"] == 0),
                    ("advantage_eps", g["advantage_eps"] == 1e-4), ("aggregation", g["aggregation"] in LOSS_TYPES)]:
        if not ok:
            problems.append(f"grpo.{key} {g[key]}")
    if g["aggregation"] == "seq-mean-token-sum-norm" and g.get("sum_norm") not in (None, r["max_new_tokens"]):
        problems.append("grpo.sum_norm other than max_new_tokens")
    if r["stop"]:
        problems.append("rollout.stop")
    if t["micro_batch_tokens"]:
        problems.append("train.micro_batch_tokens")
    if c["rewards"].get("by_source"):
        problems.append("rewards.by_source")
    for rule in c["rewards"]["rules"]:
        if rule.get("options") or rule["name"] not in ("format", "accuracy", "gsm8k"):
            problems.append(f"reward rule {rule['name']} with options {rule.get('options')}")
    if problems:
        sys.exit("trl_grpo.py: not expressible in TRL 1.16 as aha runs it: " + ", ".join(problems))


def aha_learning_rate(step: int, total: int, peak: float, warmup: int, min_ratio: float) -> float:
    """grpo/schedule.cpp: linear warm-up from step 0, then cosine to min_ratio · peak at step == total."""
    if step < warmup:
        return peak * (step + 1) / warmup
    min_lr = min_ratio * peak
    decay = total - warmup
    if decay <= 0:
        return min_lr
    progress = min((step - warmup) / decay, 1.0)
    return min_lr + (peak - min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))


def mib(kib: int) -> float:
    return kib / 1024.0  # ru_maxrss is in KiB on Linux


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True, help="aha train config (best: an aha run's resolved config.json)")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    ap.add_argument("--prompts", required=True, help="prompts.py output, in aha's draw order")
    ap.add_argument("--out", required=True, help="JSON lines, one per aha step")
    ap.add_argument("--model", help="overrides model.path")
    args = ap.parse_args()

    c = load_config(args.config, args.set)
    refuse_unmatched(c)
    m, r, g, t = c["model"], c["rollout"], c["grpo"], c["train"]
    model_path = args.model or m["path"]

    import torch
    if t["threads"] > 0:
        torch.set_num_threads(int(t["threads"]))
    import datasets
    import transformers
    import trl
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    import aha_rewards
    from prompts import hf_tokenizer

    P, G = r["prompts_per_step"], r["group_size"]
    N = P * G
    minibatch = N // g["minibatches"]
    if N % g["minibatches"]:
        sys.exit(f"trl_grpo.py: {N} completions per step do not split into {g['minibatches']} equal minibatches")
    micro = g["micro_batch_size"] or minibatch
    if minibatch % micro:
        sys.exit(f"trl_grpo.py: minibatch {minibatch} is not a multiple of grpo.micro_batch_size {micro}")
    updates_per_step = g["mu"] * g["minibatches"]

    rows = [json.loads(line) for line in open(args.prompts)]
    need = t["steps"] * P
    if len(rows) < need:
        sys.exit(f"trl_grpo.py: {args.prompts} has {len(rows)} prompts; {t['steps']} steps need {need}")
    dataset = datasets.Dataset.from_list([{"prompt": x["prompt"], "answer": x["answer"]} for x in rows[:need]])

    dtype = m["dtype"]
    if not dtype:
        model_config = json.load(open(os.path.join(model_path, "config.json")))
        dtype = model_config.get("dtype") or model_config.get("torch_dtype") or "float32"
    cuda = m["device"] == "cuda"
    if cuda and not torch.cuda.is_available():
        sys.exit("trl_grpo.py: model.device is cuda but torch sees no CUDA device")
    is_moe = "n_routed_experts" in json.load(open(os.path.join(model_path, "config.json")))

    rules = c["rewards"]["rules"]
    verifier = next((x["name"] for x in rules if x["name"] in ("accuracy", "gsm8k")), None)
    output_dir = tempfile.mkdtemp(prefix="trl-grpo-")
    config = GRPOConfig(
        output_dir=output_dir,
        use_vllm=False,
        loss_type=LOSS_TYPES[g["aggregation"]],
        beta=g["beta"],
        use_bias_correction_kl=False,
        epsilon=g["clip_low"],
        epsilon_high=g["clip_high"],
        scale_rewards=g["scale_rewards"],
        importance_sampling_level=g["ratio_level"],
        entropy_coef=g["entropy_coef"],
        num_generations=G,
        max_completion_length=r["max_new_tokens"],
        temperature=r["temperature"],
        top_p=r["top_p"],
        top_k=r["top_k"],
        num_iterations=g["mu"],
        per_device_train_batch_size=micro,
        gradient_accumulation_steps=minibatch // micro,
        steps_per_generation=N // micro,
        max_steps=t["steps"] * updates_per_step,
        learning_rate=t["lr"],
        warmup_steps=0,
        adam_beta1=t["adam_beta1"],
        adam_beta2=t["adam_beta2"],
        weight_decay=t["weight_decay"],
        max_grad_norm=t["max_grad_norm"],
        gradient_checkpointing=bool(t["gradient_checkpointing"]),
        bf16=dtype == "bfloat16",
        tf32=True if cuda and dtype == "float32" else None,
        use_cpu=not cuda,
        router_aux_loss_coef=0.0 if is_moe else None,
        disable_dropout=True,
        shuffle_dataset=False,
        reward_weights=[float(x.get("weight", 1.0)) for x in rules],
        seed=t["seed"],
        model_init_kwargs={"attn_implementation": m["attention"]},
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
    )

    def sync():
        if cuda:
            torch.cuda.synchronize()

    class AhaStepGRPOTrainer(GRPOTrainer):
        """GRPOTrainer with aha's learning-rate schedule and timers around the generation and reward phases."""

        phase = {"generation": 0.0, "reward": 0.0}
        batch_stats: dict = {}

        def create_scheduler(self, num_training_steps, optimizer=None):
            if self.lr_scheduler is None:
                total = t["steps"] * updates_per_step
                self.lr_scheduler = torch.optim.lr_scheduler.LambdaLR(
                    optimizer or self.optimizer,
                    lambda s: aha_learning_rate(s, total, t["lr"], t["warmup_steps"], t["min_lr_ratio"]) / t["lr"])
            return self.lr_scheduler

        def _generate(self, prompts):
            sync()
            start = time.perf_counter()
            out = super()._generate(prompts)
            sync()
            self.phase["generation"] += time.perf_counter() - start
            completion_ids = out[1]
            self.batch_stats["completion_lengths"] = [len(ids) for ids in completion_ids]
            self.batch_stats["prompts"] = list(prompts[::G])  # each prompt comes group_size times in a row
            return out

        def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
            sync()
            start = time.perf_counter()
            rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
            sync()
            self.phase["reward"] += time.perf_counter() - start
            per_rule = rewards_per_func.float().cpu()
            weights = torch.tensor([float(x.get("weight", 1.0)) for x in rules])
            total = (per_rule * weights).sum(dim=1)
            names = [x["name"] for x in rules]
            self.batch_stats["reward"] = total.mean().item()
            if verifier:
                self.batch_stats["accuracy"] = (per_rule[:, names.index(verifier)] >= 1.0).float().mean().item()
            if "format" in names:
                self.batch_stats["format_rate"] = per_rule[:, names.index("format")].mean().item()
            for i, name in enumerate(names):
                self.batch_stats[f"rewards/{name}/mean"] = per_rule[:, i].mean().item()
            return rewards_per_func

    out_file = open(args.out, "w")

    class StepTimer(TrainerCallback):
        """One aha step = the mu × minibatches optimizer steps that share a rollout batch. Its line is built at
        on_step_end of its last optimizer step and written at the on_log that follows (TRL logs each
        optimizer step's loss, KL and entropy there, after on_step_end)."""

        def __init__(self):
            self.start = None
            self.learning_rates = []
            self.logs = []
            self.pending = None

        def on_step_begin(self, targs, state, control, **kwargs):
            if state.global_step % updates_per_step == 0:
                sync()
                self.start = time.perf_counter()
                trainer.phase.update(generation=0.0, reward=0.0)
                self.learning_rates = []
                self.logs = []

        def on_pre_optimizer_step(self, targs, state, control, **kwargs):
            self.learning_rates.append(trainer.optimizer.param_groups[0]["lr"])  # the rate this update runs at

        def on_step_end(self, targs, state, control, **kwargs):
            if state.global_step % updates_per_step:
                return
            sync()
            seconds = time.perf_counter() - self.start
            gen, rew = trainer.phase["generation"], trainer.phase["reward"]
            lengths = trainer.batch_stats.get("completion_lengths", [0])
            line = {
                "step": state.global_step // updates_per_step,
                "timing/generation": gen,
                "timing/reward": rew,
                "timing/train": seconds - gen - rew,
                "timing/step": seconds,
                "optimizer_steps": state.global_step,
                "completions/mean_length": sum(lengths) / len(lengths),
                "num_generated_tokens": sum(lengths),
                "peak_rss_mib": mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss),
                "peak_rss_children_mib": mib(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss),
            }
            for key in ("reward", "accuracy", "format_rate"):
                if key in trainer.batch_stats:
                    line[key] = trainer.batch_stats[key]
            line.update({k: v for k, v in trainer.batch_stats.items() if k.startswith("rewards/")})
            line["learning_rates"] = list(self.learning_rates)
            if cuda:
                line["cuda_peak_allocated_mib"] = torch.cuda.max_memory_allocated() / 2**20
            line["prompts"] = trainer.batch_stats.get("prompts", [])  # this step's, in generation order
            self.pending = line

        def on_log(self, targs, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                self.logs.append(dict(logs))
            if self.pending is not None and state.global_step == self.pending["optimizer_steps"]:
                self.emit()

        def on_train_end(self, targs, state, control, **kwargs):
            if self.pending is not None:
                self.emit()

        def emit(self):
            line, self.pending = self.pending, None
            for key in ("loss", "kl", "entropy", "grad_norm", "clip_ratio/region_mean"):  # over the updates
                values = [float(x[key]) for x in self.logs if key in x]
                if values:
                    line[key] = sum(values) / len(values)
            print(json.dumps(line), flush=True)
            out_file.write(json.dumps(line) + "\n")
            out_file.flush()

    tokenizer = hf_tokenizer(model_path)
    reward_funcs = [aha_rewards.trl_reward_function(x["name"]) for x in rules]
    trainer = AhaStepGRPOTrainer(model=model_path, reward_funcs=reward_funcs, args=config, train_dataset=dataset,
                                 processing_class=tokenizer, callbacks=[StepTimer()])
    print(json.dumps({"trl_grpo": "start", "trl": trl.__version__, "transformers": transformers.__version__,
                      "torch": torch.__version__, "device": "cuda" if cuda else "cpu", "dtype": dtype,
                      "bf16_autocast": config.bf16, "model": model_path,
                      "model_dtype_in_memory": str(trainer.model.dtype),
                      "per_device_train_batch_size": micro, "gradient_accumulation_steps": minibatch // micro,
                      "steps_per_generation": config.steps_per_generation, "num_iterations": g["mu"],
                      "max_steps": config.max_steps, "loss_type": config.loss_type,
                      "torch_threads": torch.get_num_threads()}), flush=True)
    trainer.train()
    out_file.close()


if __name__ == "__main__":
    main()
