"""Reward functions written for TRL/open-r1, usable by aha unchanged through reward_program.py:

    python3 examples/reward_program/reward_program.py examples/reward_program/trl_style_rules.py:format_reward
"""
import re


def format_reward(completions, **kwargs):
    """open-r1's format reward: 1.0 for <think>...</think>\\n<answer>...</answer>, else 0.0."""
    pattern = r"^<think>\n.*?\n</think>\n<answer>\n.*?\n</answer>$"
    return [1.0 if re.match(pattern, c, re.DOTALL | re.MULTILINE) else 0.0 for c in completions]
