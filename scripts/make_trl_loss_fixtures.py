#!/usr/bin/env python3
"""Generate reference fixtures for aha's GRPO loss from TRL's *real* GRPOTrainer loss code.

Dev-time only. Nothing here reimplements a loss formula: every number in `outputs` comes from
`trl.GRPOTrainer._compute_loss` (TRL's own method, called unmodified), and the vLLM truncated /
masked importance-sampling ratio of the TIS cases comes from executing TRL's own source block
(lifted verbatim, at run time, out of `GRPOTrainer._generate_and_score_completions`, because TRL
computes that ratio inline there and not in a callable helper).

How `_compute_loss` is driven without a model:
  * the trainer is created with `object.__new__(GRPOTrainer)` (no `__init__`, no model, no data);
  * the attributes `_compute_loss` reads are set exactly the way `GRPOTrainer.__init__` sets them from
    a real `GRPOConfig` (so TRL's own defaults, e.g. `use_bias_correction_kl=True`, apply unless a case
    overrides them);
  * `accelerator` is a real single-process CPU `accelerate.Accelerator` (gather/reduce are identities);
  * `_get_per_token_logps_and_entropies` is replaced on the instance by a stub that returns a fixed
    float64 leaf tensor `logps` (requires_grad=True) plus fixed entropies; `loss.backward()` then gives
    d loss / d logps, which is saved as `grad_logp`.

Usage (from the repo root):
    ~/.cache/aha/venv/bin/python scripts/make_trl_loss_fixtures.py
Writes tests/fixtures/trl_loss/*.json and tests/fixtures/trl_loss/README.md. Output is byte-identical
across runs for a given TRL/torch version (fixed seed, single thread, no timestamps).
"""

import inspect
import json
import math
import os
import sys
import tempfile
import textwrap
import warnings
from collections import defaultdict

warnings.filterwarnings("ignore")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402

torch.set_num_threads(1)

import trl  # noqa: E402
from accelerate import Accelerator  # noqa: E402
from trl import GRPOConfig, GRPOTrainer  # noqa: E402
import trl.trainer.grpo_trainer as grpo_mod  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(REPO, "tests", "fixtures", "trl_loss")
SEED = 227  # chosen so every branch is exercised (both clip sides, delta, GSPO clip/unclip, IS mask, OPSM)
N, T = 6, 7
LENGTHS = [1, 7, 4, 6, 3, 5]  # one length-1 sequence, one full-length sequence
# Shape [B] like TRL's `advantages` (TRL unsqueezes to [B,1] inside _compute_loss). Mixed sign, one exact 0.
ADVANTAGES = [1.0, -0.7, -0.3, 0.0, 1.1, -1.1]
DTYPE = torch.float64


# --------------------------------------------------------------------------------------------
# Inputs (deterministic)
# --------------------------------------------------------------------------------------------
def make_inputs():
    g = torch.Generator().manual_seed(SEED)

    def u(lo, hi, shape=(N, T)):
        return lo + (hi - lo) * torch.rand(shape, generator=g, dtype=DTYPE)

    def short(x):
        # Round to 6 decimals (then parse back) so the JSON inputs are short yet exactly the float64 values used.
        return torch.tensor([[float(f"{v:.6f}") for v in row] for row in x.tolist()], dtype=DTYPE)

    mask = torch.zeros(N, T, dtype=torch.long)
    for i, n in enumerate(LENGTHS):
        mask[i, :n] = 1
    logp = short(u(-3.0, -0.05))
    old = short(logp + u(-0.4, 0.4))  # ratios in [e^-0.4, e^0.4] = [0.67, 1.49]: clipped on both sides
    ref = short(logp + u(-0.3, 0.3))
    sampling = short(old + u(-0.5, 0.5))  # vLLM (sampler) logps, for the TIS cases
    entropies = short(u(0.1, 3.0))  # per-token entropies (only matter for the entropy-mask case / metric)
    # Padded positions keep arbitrary (non-zero) values on purpose: a correct implementation must ignore them.
    adv = torch.tensor(ADVANTAGES, dtype=DTYPE)
    return dict(mask=mask, logp=logp, old=old, ref=ref, sampling=sampling, entropies=entropies, adv=adv)


# --------------------------------------------------------------------------------------------
# Driving TRL
# --------------------------------------------------------------------------------------------
class _TinyModel(torch.nn.Module):
    """Only `.training` is read by `_compute_loss` (train vs eval mode)."""


def accelerator():
    # Built after each GRPOConfig: TrainingArguments.__post_init__ resets accelerate's shared state.
    return Accelerator(cpu=True)


def make_trainer(cfg):
    tmp = tempfile.mkdtemp(prefix="trl_loss_fx_")
    args = GRPOConfig(
        output_dir=tmp,
        report_to="none",
        use_cpu=True,
        bf16=False,
        loss_type=cfg["loss_type"],
        beta=cfg["beta"],
        epsilon=cfg["epsilon_low"],
        epsilon_high=cfg["epsilon_high"],
        delta=cfg["delta"],
        importance_sampling_level=cfg["importance_sampling_level"],
        max_completion_length=cfg["max_completion_length"],
        use_bias_correction_kl=cfg["use_bias_correction_kl"],
        top_entropy_quantile=cfg["top_entropy_quantile"],
        off_policy_mask_threshold=cfg["off_policy_mask_threshold"],
        vllm_importance_sampling_correction=cfg["vllm_importance_sampling_correction"],
        vllm_importance_sampling_mode=cfg["vllm_importance_sampling_mode"],
        vllm_importance_sampling_clip_max=cfg["vllm_importance_sampling_clip_max"],
        vllm_importance_sampling_clip_min=cfg["vllm_importance_sampling_clip_min"],
        gradient_accumulation_steps=cfg["gradient_accumulation_steps"],
        steps_per_generation=cfg["steps_per_generation"],
    )
    os.rmdir(tmp)
    tr = object.__new__(GRPOTrainer)
    # --- exactly the assignments GRPOTrainer.__init__ makes for what _compute_loss reads ---
    tr.args = args
    tr.accelerator = accelerator()
    tr.model = _TinyModel().train()  # mode == "train"
    tr.max_completion_length = args.max_completion_length
    tr.use_vllm = cfg["use_vllm"]  # only read as a flag by _compute_loss; no vLLM is used
    tr.vllm_importance_sampling_correction = args.vllm_importance_sampling_correction
    tr.vllm_importance_sampling_mode = args.vllm_importance_sampling_mode
    tr.vllm_importance_sampling_clip_max = args.vllm_importance_sampling_clip_max
    tr.vllm_importance_sampling_clip_min = args.vllm_importance_sampling_clip_min
    tr.loss_type = args.loss_type
    tr.aux_loss_enabled = False
    tr.importance_sampling_level = args.importance_sampling_level
    tr.off_policy_mask_threshold = args.off_policy_mask_threshold
    tr.top_entropy_quantile = args.top_entropy_quantile
    tr.entropy_coef = args.entropy_coef
    tr.use_adaptive_entropy = args.use_adaptive_entropy
    tr._entropy_bonus_enabled = tr.entropy_coef != 0.0 or tr.use_adaptive_entropy
    tr.num_iterations = args.num_iterations
    tr.epsilon_low = args.epsilon
    tr.epsilon_high = args.epsilon_high if args.epsilon_high is not None else args.epsilon
    tr.beta = args.beta
    tr._metrics = {"train": defaultdict(list), "eval": defaultdict(list)}
    # Set by transformers.Trainer's training loop (number of micro-batches in this optimizer step).
    tr.current_gradient_accumulation_steps = cfg["gradient_accumulation_steps"]
    assert tr._entropy_bonus_enabled is False
    return tr


_IS_START = "if self.use_vllm and self.vllm_importance_sampling_correction:\n"
_IS_FIRST = "mask = completion_mask if tool_mask is None else completion_mask * tool_mask"
_IS_END = "# Compute the per-token log probabilities for the reference model"


def trl_is_ratio_source():
    """TRL's own vLLM-IS-ratio block, verbatim, from GRPOTrainer._generate_and_score_completions."""
    src = inspect.getsource(GRPOTrainer._generate_and_score_completions)
    start = None
    pos = 0
    while True:
        k = src.find(_IS_START, pos)
        if k < 0:
            break
        if src[k + len(_IS_START):].lstrip().startswith(_IS_FIRST):
            start = k
            break
        pos = k + 1
    assert start is not None, "TRL IS-ratio block not found; TRL changed, re-read the source"
    end = src.find(_IS_END, start)
    assert end > start
    # start of the line holding `if ...`
    line_start = src.rfind("\n", 0, start) + 1
    return textwrap.dedent(src[line_start:end])


def trl_is_ratio(trainer, completion_mask, old, sampling):
    code = trl_is_ratio_source()
    ns = dict(
        self=trainer, torch=torch, math=math, completion_mask=completion_mask, tool_mask=None,
        old_per_token_logps=old, sampling_per_token_logps=sampling,
    )
    with torch.no_grad():
        exec(compile(code, "<trl GRPOTrainer._generate_and_score_completions IS block>", "exec"), ns)
    return ns["vllm_importance_sampling_ratio"]


def run_case(cfg, data):
    tr = make_trainer(cfg)
    logps = data["logp"].clone().requires_grad_(True)
    entropies = data["entropies"].clone()

    def fake_logps(self_, model, input_ids, attention_mask, logits_to_keep, *a, **kw):
        assert logits_to_keep == T
        return logps, (entropies if kw.get("compute_entropy") else None), None

    tr._get_per_token_logps_and_entropies = fake_logps.__get__(tr)

    mask = data["mask"]
    inputs = {
        "prompt_ids": torch.zeros(N, 2, dtype=torch.long),
        "prompt_mask": torch.ones(N, 2, dtype=torch.long),
        "completion_ids": torch.zeros(N, T, dtype=torch.long),
        "completion_mask": mask,
        "advantages": data["adv"].clone(),
    }
    if cfg["old_logp"] == "given":
        inputs["old_per_token_logps"] = data["old"].clone()
    if cfg["beta"] != 0.0:
        inputs["ref_per_token_logps"] = data["ref"].clone()
    if cfg["loss_type"] in ("dapo", "cispo", "vespo"):
        inputs["num_items_in_batch"] = torch.tensor(cfg["num_items_in_batch"])
    is_ratio = None
    if cfg["use_vllm"] and cfg["vllm_importance_sampling_correction"]:
        is_ratio = trl_is_ratio(tr, mask, data["old"].clone(), data["sampling"].clone())
        inputs["importance_sampling_ratio"] = is_ratio
        inputs["sampling_per_token_logps"] = data["sampling"].clone()

    loss = tr._compute_loss(tr.model, inputs)
    loss.backward()
    assert loss.dtype == DTYPE and logps.grad.dtype == DTYPE
    metrics = {k: v[-1] for k, v in sorted(tr._metrics["train"].items())}
    return loss, logps.grad, metrics, is_ratio


# --------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------
BASE = dict(
    loss_type="grpo", beta=0.0, epsilon_low=0.2, epsilon_high=0.2, delta=None,
    importance_sampling_level="token", max_completion_length=T, num_items_in_batch=None,
    use_bias_correction_kl=False, top_entropy_quantile=1.0, off_policy_mask_threshold=None,
    use_vllm=False, vllm_importance_sampling_correction=False, vllm_importance_sampling_mode="token_truncate",
    vllm_importance_sampling_clip_max=3.0, vllm_importance_sampling_clip_min=None,
    gradient_accumulation_steps=1, steps_per_generation=1, old_logp="given",
)
ACTIVE = sum(LENGTHS)  # 26 active completion tokens in the batch


def cases():
    out = []

    def add(name, **kw):
        cfg = dict(BASE)
        cfg.update(kw)
        out.append((name, cfg))

    for lt, (el, eh), extra in [
        ("grpo", (0.2, 0.2), {}),
        ("dapo", (0.2, 0.28), {"num_items_in_batch": ACTIVE}),
        ("dr_grpo", (0.2, 0.2), {"max_completion_length": 10}),
    ]:
        add(f"{lt}_beta0", loss_type=lt, epsilon_low=el, epsilon_high=eh, **extra)
        add(f"{lt}_beta0.04_k3", loss_type=lt, epsilon_low=el, epsilon_high=eh, beta=0.04, **extra)
        add(f"{lt}_beta0.04_k3_iscorr", loss_type=lt, epsilon_low=el, epsilon_high=eh, beta=0.04,
            use_bias_correction_kl=True, **extra)
    # bnpo: local active-token mean (no num_items_in_batch).
    add("bnpo_beta0.04_k3", loss_type="bnpo", beta=0.04)
    # DAPO's normaliser is a *global* token count, not the local one: make that visible.
    add("dapo_beta0_global_norm", loss_type="dapo", epsilon_low=0.2, epsilon_high=0.28, num_items_in_batch=40)
    # On-policy (TRL passes no old_per_token_logps -> old = logps.detach(); ratio == 1 but carries gradient).
    add("grpo_onpolicy_beta0.04_k3_iscorr", beta=0.04, use_bias_correction_kl=True, old_logp="detached_logp")
    # GSPO: sequence-level ratio, loss_type grpo (TRL warns for dapo/dr_grpo/bnpo/cispo), GSPO paper eps.
    add("gspo_beta0", importance_sampling_level="sequence", epsilon_low=3e-4, epsilon_high=4e-4)
    add("gspo_beta0.04_k3_iscorr", importance_sampling_level="sequence", epsilon_low=3e-4, epsilon_high=4e-4,
        beta=0.04, use_bias_correction_kl=True)
    # INTELLECT-2 two-sided clipping.
    add("grpo_delta1.25", delta=1.25)
    # vLLM importance-sampling correction (TIS/MIS), with TRL's default loss_type (dapo).
    add("dapo_tis_token_truncate", loss_type="dapo", epsilon_low=0.2, epsilon_high=0.28, num_items_in_batch=ACTIVE,
        use_vllm=True, vllm_importance_sampling_correction=True, vllm_importance_sampling_mode="token_truncate",
        vllm_importance_sampling_clip_max=1.3)
    add("dapo_tis_sequence_mask", loss_type="dapo", epsilon_low=0.2, epsilon_high=0.28, num_items_in_batch=ACTIVE,
        use_vllm=True, vllm_importance_sampling_correction=True, vllm_importance_sampling_mode="sequence_mask",
        vllm_importance_sampling_clip_max=2.0, vllm_importance_sampling_clip_min=0.85)
    # High-entropy token mask ("Beyond the 80/20 rule"), top 50%.
    add("grpo_entropy_mask_q0.5", beta=0.04, top_entropy_quantile=0.5)
    # DeepSeek-V3.2 off-policy sequence mask.
    add("grpo_opsm_0.05", off_policy_mask_threshold=0.05)
    return out


# --------------------------------------------------------------------------------------------
# Semantics text (describes what TRL's code above does for this config; derived from reading it)
# --------------------------------------------------------------------------------------------
def semantics(cfg):
    s = []
    s.append("A[i] is given with shape [B] and unsqueezed to [B,1]; mask = completion_mask (no tool_mask).")
    if cfg["old_logp"] == "given":
        s.append("old = old_per_token_logps (a constant input).")
    else:
        s.append("No old_per_token_logps is passed, so TRL uses old = logp.detach(): the ratio is exactly 1 "
                 "in value but still carries d ratio/d logp = ratio.")
    s.append("log_ratio = logp - old, NOT clamped.")
    if cfg["importance_sampling_level"] == "token":
        s.append("Token level: r[i,t] = exp(log_ratio[i,t]).")
    else:
        s.append("Sequence level (GSPO): s[i] = sum_t(log_ratio[i,t]*mask[i,t]) / max(len_i,1); r[i] = exp(s[i]) "
                 "shape [B,1], broadcast over t; gradient flows to every active token of the sequence through s[i] "
                 "(no stop-gradient; the per-token policy term is the same constant-in-t value).")
    if cfg["beta"] != 0.0:
        kl = "kl[i,t] = exp(ref-logp) - (ref-logp) - 1 (k3)"
        if cfg["use_bias_correction_kl"]:
            kl += (", then multiplied by r (use_bias_correction_kl=True, TRL's default; r is the UNclamped ratio, "
                   "not detached, so it adds r*dk3 + k3*dr to the gradient)")
        else:
            kl += " (use_bias_correction_kl=False: plain k3, not multiplied by r)"
        s.append(kl + ".")
    s.append(f"c[i,t] = clamp(r, 1-{cfg['epsilon_low']!r}, 1+{cfg['epsilon_high']!r}).")
    if cfg["delta"] is not None:
        s.append(f"Two-sided clipping: AFTER c is computed, r is replaced by min(r, {cfg['delta']!r}) "
                 "(hard clamp, zero gradient where r > delta); the KL weight above uses the pre-delta r.")
    s.append("pol[i,t] = -min(r*A, c*A).")
    if cfg["off_policy_mask_threshold"] is not None:
        s.append(f"OPSM: keep[i] = (A[i] >= 0) or (sum_t((sampling-logp.detach())*mask)/max(len_i,1) <= "
                 f"{cfg['off_policy_mask_threshold']!r}), sampling = inputs.get('sampling_per_token_logps', old) "
                 "(= old here); pol *= keep[i] (no gradient through keep).")
    if cfg["top_entropy_quantile"] < 1.0:
        s.append(f"Entropy mask: thr = torch.quantile(entropies[mask], {1 - cfg['top_entropy_quantile']!r}) "
                 "(linear interpolation); em = (entropies*mask >= thr) & mask; pol *= em. The KL term is NOT "
                 "entropy-masked and the normaliser still uses mask.")
    if cfg["use_vllm"] and cfg["vllm_importance_sampling_correction"]:
        mode = cfg["vllm_importance_sampling_mode"]
        d = "d = nan_to_num((old - sampling)*mask)"
        if mode.startswith("sequence"):
            d += "; w[i] = exp(sum_t d[i,t]) (SUM, not mean; shape [B,1])"
        else:
            d += "; w[i,t] = exp(d[i,t])"
        if mode.endswith("truncate"):
            d += (f"; w = clamp(w, min={cfg['vllm_importance_sampling_clip_min']!r}, "
                  f"max={cfg['vllm_importance_sampling_clip_max']!r})")
        else:
            d += (f"; w = 0 where w < {cfg['vllm_importance_sampling_clip_min']!r} or w > "
                  f"{cfg['vllm_importance_sampling_clip_max']!r}")
        s.append(f"vLLM IS correction ({mode}): computed without grad at generation time: {d}. Padded tokens get "
                 "d=0 so w=1 there. pol *= w (policy term only; the KL term is NOT multiplied by w).")
    if cfg["beta"] != 0.0:
        s.append(f"per_token_loss = pol + {cfg['beta']!r}*kl.")
    else:
        s.append("beta = 0: per_token_loss = pol (no ref logps used).")
    lt = cfg["loss_type"]
    ga = cfg["gradient_accumulation_steps"]
    if lt == "grpo":
        s.append(f"loss = mean_i( sum_t(per_token_loss*mask) / max(len_i,1) ) / {ga} (grad-accum steps); "
                 "i.e. per-sequence token mean, then mean over all B sequences (a sequence with A=0 still "
                 "counts in the B).")
    elif lt == "bnpo":
        s.append(f"loss = sum_{{i,t}}(per_token_loss*mask) / max(sum(mask),1) / {ga} (grad-accum steps); "
                 f"i.e. mean over the {ACTIVE} active tokens of this local batch.")
    elif lt == "dr_grpo":
        s.append(f"loss = sum_{{i,t}}(per_token_loss*mask) / (B * max_completion_length) / {ga} "
                 f"with B={N}, max_completion_length={cfg['max_completion_length']} (not T={T}).")
    elif lt == "dapo":
        s.append(f"loss = sum_{{i,t}}(per_token_loss*mask) / (num_items_in_batch / num_processes * "
                 f"grad_accum_steps / steps_per_generation) = sum / {cfg['num_items_in_batch']} here "
                 f"(num_items_in_batch={cfg['num_items_in_batch']}, 1 process, grad_accum={ga}, "
                 f"steps_per_generation={cfg['steps_per_generation']}); no further division by grad-accum steps. "
                 f"The batch itself has {ACTIVE} active tokens.")
    s.append("Clip metrics (masked token means): low = (r < 1-eps_low) & (A < 0), high = (r > 1+eps_high) & "
             "(A > 0), region = low | high, where r is the (delta-clamped, if delta) ratio"
             + (", averaged over sequences since r is [B,1]" if cfg["importance_sampling_level"] == "sequence" else "")
             + "; 'kl' metric = masked mean of the (possibly r-weighted) kl; 'entropy' = masked mean of entropies.")
    return " ".join(s)


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------
def _scalar(x):
    if isinstance(x, bool) or x is None or isinstance(x, (int, str)):
        return json.dumps(x)
    if isinstance(x, float):
        if math.isnan(x) or math.isinf(x):
            raise ValueError("non-finite value in fixture")
        return repr(float(x))  # shortest repr that round-trips float64 exactly
    raise TypeError(type(x))


def dump(obj, ind=0):
    pad = "  " * ind
    if isinstance(obj, dict):
        items = [f'{pad}  {json.dumps(k)}: {dump(v, ind + 1)}' for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list):
        if obj and isinstance(obj[0], list):
            rows = [pad + "  [" + ", ".join(_scalar(v) for v in r) + "]" for r in obj]
            return "[\n" + ",\n".join(rows) + "\n" + pad + "]"
        return "[" + ", ".join(_scalar(v) for v in obj) + "]"
    return _scalar(obj)


def tolist(t):
    return [[float(v) if t.is_floating_point() else int(v) for v in row] for row in t.tolist()] \
        if t.dim() == 2 else [float(v) for v in t.tolist()]


def source_line(needle):
    path = inspect.getsourcefile(grpo_mod)
    with open(path) as f:
        for i, line in enumerate(f, 1):
            if needle in line:
                return i
    raise AssertionError(f"not found in grpo_trainer.py: {needle!r}")


LINE_REFS = [
    ("_compute_loss", "def _compute_loss(self, model, inputs):"),
    ("advantages [B] -> [B,1]", "advantages = advantages.unsqueeze(1)"),
    ("old = logps.detach() if absent", "old_per_token_logps = per_token_logps.detach() if old_per_token_logps is None"),
    ("OPSM call", "off_policy_mask = self.get_off_policy_mask("),
    ("log_ratio", "log_ratio = per_token_logps - old_per_token_logps"),
    ("sequence-level (GSPO) log weight", "log_importance_weights = (log_ratio * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)"),
    ("coef_1 = exp", "coef_1 = torch.exp(log_importance_weights)"),
    ("k3 KL", "torch.exp(ref_per_token_logps - per_token_logps) - (ref_per_token_logps - per_token_logps) - 1"),
    ("KL *= coef_1 (use_bias_correction_kl)", "per_token_kl = per_token_kl * coef_1"),
    ("coef_2 clamp", "coef_2 = torch.clamp(coef_1, 1 - self.epsilon_low, 1 + self.epsilon_high)"),
    ("delta clamp", "coef_1 = torch.clamp(coef_1, max=self.args.delta)"),
    ("-min(...)", "per_token_loss = -torch.min(per_token_loss1, per_token_loss2)"),
    ("entropy mask applied", "per_token_loss = per_token_loss * entropy_mask"),
    ("vLLM IS ratio applied", 'per_token_loss = per_token_loss * inputs["importance_sampling_ratio"]'),
    ("+ beta * KL", "per_token_loss = per_token_loss + self.beta * per_token_kl"),
    ("grpo normaliser", "loss = ((per_token_loss * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).mean()"),
    ("bnpo normaliser", "loss = (per_token_loss * mask).sum() / mask.sum().clamp(min=1.0)"),
    ("dr_grpo normaliser", "loss = (per_token_loss * mask).sum() / (per_token_loss.size(0) * self.max_completion_length)"),
    ("dapo normaliser", 'normalizer = inputs["num_items_in_batch"].clamp(min=1.0) / self.accelerator.num_processes'),
    ("dapo grad-accum rescale", "normalizer = normalizer * self.current_gradient_accumulation_steps / self.args.steps_per_generation"),
    ("clip metrics", "is_low_clipped = (coef_1 < 1 - self.epsilon_low) & (advantages < 0)"),
    ("num_items_in_batch (generation)", "num_items_in_batch = self.accelerator.gather(loss_mask.sum()).sum()"),
    ("vLLM IS ratio (generation)", "vllm_importance_sampling_ratio = torch.exp(logps_diff)"),
    ("get_high_entropy_mask", "def get_high_entropy_mask("),
    ("get_off_policy_mask", "def get_off_policy_mask("),
]


def normaliser_text(cfg):
    lt = cfg["loss_type"]
    if lt == "grpo":
        return "per-sequence: sum_t(l*mask)/max(len_i,1), then mean over B=6"
    if lt == "bnpo":
        return f"local active tokens sum(mask) = {ACTIVE}"
    if lt == "dr_grpo":
        return f"B*max_completion_length = {N}*{cfg['max_completion_length']} = {N * cfg['max_completion_length']}"
    if lt == "dapo":
        return f"num_items_in_batch = {cfg['num_items_in_batch']}"
    raise AssertionError(lt)


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    data = make_inputs()
    written = []
    rows = []
    for name, cfg in cases():
        loss, grad, metrics, is_ratio = run_case(cfg, data)
        config = {k: cfg[k] for k in [
            "loss_type", "beta", "epsilon_low", "epsilon_high", "delta", "importance_sampling_level",
            "max_completion_length", "num_items_in_batch", "use_bias_correction_kl", "top_entropy_quantile",
            "off_policy_mask_threshold", "use_vllm", "vllm_importance_sampling_correction"]}
        if cfg["use_vllm"] and cfg["vllm_importance_sampling_correction"]:
            config["vllm_importance_sampling_mode"] = cfg["vllm_importance_sampling_mode"]
            config["vllm_importance_sampling_clip_min"] = cfg["vllm_importance_sampling_clip_min"]
            config["vllm_importance_sampling_clip_max"] = cfg["vllm_importance_sampling_clip_max"]
        config.update(num_processes=1, gradient_accumulation_steps=cfg["gradient_accumulation_steps"],
                      steps_per_generation=cfg["steps_per_generation"], mode="train", entropy_coef=0.0,
                      old_logp=cfg["old_logp"])
        inputs = {
            "N": N, "T": T, "lengths": LENGTHS,
            "mask": tolist(data["mask"]),
            "advantages": tolist(data["adv"]),
            "logp": tolist(data["logp"]),
        }
        if cfg["old_logp"] == "given":
            inputs["old_logp"] = tolist(data["old"])
        if cfg["beta"] != 0.0:
            inputs["ref_logp"] = tolist(data["ref"])
        if cfg["top_entropy_quantile"] < 1.0:
            inputs["entropies"] = tolist(data["entropies"])
        if is_ratio is not None:
            inputs["sampling_logp"] = tolist(data["sampling"])
            inputs["importance_sampling_ratio"] = tolist(is_ratio)
        outputs = {"loss": float(loss.item()), "grad_logp": tolist(grad), "metrics": metrics}
        if "entropies" not in inputs:
            # The 'entropy' metric needs the (otherwise irrelevant) entropies; report only what depends on logp.
            outputs["metrics"] = {k: v for k, v in metrics.items() if k != "entropy"}
        fx = {
            "case": name,
            "trl_version": trl.__version__,
            "torch_version": torch.__version__.split("+")[0],
            "dtype": "float64",
            "config": config,
            "semantics": semantics(cfg),
            "inputs": inputs,
            "outputs": outputs,
        }
        if is_ratio is not None:
            fx["importance_sampling_ratio_source"] = (
                "inputs.importance_sampling_ratio was produced by executing TRL's own block from "
                "GRPOTrainer._generate_and_score_completions (the code starting at "
                f"grpo_trainer.py:{source_line('per_token_logps_diff = (old_per_token_logps - sampling_per_token_logps) * mask')}) "
                "on old_logp/sampling_logp/mask; _compute_loss only multiplies by it."
            )
        path = os.path.join(OUT_DIR, f"{name}.json")
        with open(path, "w") as f:
            f.write(dump(fx) + "\n")
        written.append(name)
        rows.append((name, cfg, float(loss.item())))
        print(f"{name:36s} loss={loss.item()!r}", file=sys.stderr)

    refs = "\n".join(f"| {label} | {source_line(n)} |" for label, n in LINE_REFS)
    table = "\n".join(
        f"| `{name}` | {cfg['loss_type']} | {cfg['importance_sampling_level']} | {cfg['beta']!r} | "
        f"{cfg['use_bias_correction_kl']} | ({cfg['epsilon_low']!r}, {cfg['epsilon_high']!r}) | "
        f"{normaliser_text(cfg)} | "
        + ", ".join(x for x in [
            f"delta={cfg['delta']!r}" if cfg["delta"] is not None else "",
            "old=logp.detach()" if cfg["old_logp"] != "given" else "",
            (f"vLLM IS {cfg['vllm_importance_sampling_mode']} [{cfg['vllm_importance_sampling_clip_min']!r}, "
             f"{cfg['vllm_importance_sampling_clip_max']!r}]") if cfg["use_vllm"] else "",
            f"top_entropy_quantile={cfg['top_entropy_quantile']!r}" if cfg["top_entropy_quantile"] < 1 else "",
            f"off_policy_mask_threshold={cfg['off_policy_mask_threshold']!r}"
            if cfg["off_policy_mask_threshold"] is not None else "",
        ] if x)
        + " |"
        for name, cfg, _ in rows)
    readme = f"""# TRL GRPO loss reference fixtures

Generated by `scripts/make_trl_loss_fixtures.py` from **TRL {trl.__version__}**
(torch {torch.__version__.split('+')[0]}, CPU, float64) — do not edit by hand. Regenerate (byte-identical) with:

```
~/.cache/aha/venv/bin/pip install trl=={trl.__version__}
~/.cache/aha/venv/bin/python scripts/make_trl_loss_fixtures.py
```

Every `outputs` value comes from TRL's own `GRPOTrainer._compute_loss`, called unmodified on a trainer
built with `object.__new__(GRPOTrainer)` whose attributes are set the way `GRPOTrainer.__init__` sets them
from a real `GRPOConfig`; `_get_per_token_logps_and_entropies` is stubbed to return a fixed float64 leaf
`logp` [N,T] (requires_grad), and `grad_logp` = d loss / d logp from `loss.backward()`. The vLLM IS ratio of
the `*_tis_*` cases is produced by executing TRL's own source block out of
`_generate_and_score_completions` (TRL computes it inline there). Nothing is reimplemented.

Shared inputs (seed {SEED}): N={N} sequences (two groups of 3), T={T}, lengths {LENGTHS}, advantages
{ADVANTAGES} (shape [B]; TRL unsqueezes to [B,1]), logp ~ U[-3,-0.05], old = logp + U[-0.4,0.4]
(ratios both below 0.8 and above 1.28), ref = logp + U[-0.3,0.3], sampling = old + U[-0.5,0.5],
entropies ~ U[0.1,3]. Padded positions hold arbitrary values; their gradient must be 0.
Setting: 1 process, train mode, gradient_accumulation_steps=1, steps_per_generation=1, no entropy bonus,
no tool mask, no MoE aux loss. Each JSON has `config`, `semantics` (one paragraph, exact), `inputs`,
`outputs.loss`, `outputs.grad_logp` [N,T] and `outputs.metrics` (TRL's logged values: `kl`,
`clip_ratio/{{low_mean,high_mean,region_mean,low_min,high_max}}`, and `entropy` where entropies are an input;
metrics go through float32 in TRL, so compare them loosely).

## Cases

| case | loss_type | IS level | beta | KL*ratio | (eps_low, eps_high) | normaliser | extra |
|---|---|---|---|---|---|---|---|
{table}

"KL*ratio" is `use_bias_correction_kl` (TRL's default is True: the k3 KL is multiplied by the
un-detached importance ratio). `*_k3` cases turn it off (plain k3 as in the GRPO paper).

## Where in TRL {trl.__version__} (`trl/trainer/grpo_trainer.py` line numbers)

| what | line |
|---|---|
{refs}
"""
    with open(os.path.join(OUT_DIR, "README.md"), "w") as f:
        f.write(readme)
    print(f"wrote {len(written)} fixtures + README.md to {OUT_DIR}", file=sys.stderr)


if __name__ == "__main__":
    main()
