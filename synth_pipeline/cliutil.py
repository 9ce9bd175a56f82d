"""argparse types shared by the stage CLIs: a bad number is a one-line usage error (exit 2)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def number_type(parse: Callable[[str], float], valid: Callable[[float], bool], requirement: str):
    """An argparse type: parse the text, then require `valid(value)`."""

    def convert(text: str):
        try:
            value = parse(text)
        except ValueError:
            kind = "a whole number" if parse is int else "a number"
            raise argparse.ArgumentTypeError(f"{text!r} is not {kind}") from None
        if not valid(value):
            raise argparse.ArgumentTypeError(f"{text} must be {requirement}")
        return value

    return convert


positive_int = number_type(int, lambda v: v >= 1, "an integer of at least 1")
non_negative_int = number_type(int, lambda v: v >= 0, "an integer >= 0")
positive_float = number_type(float, lambda v: 0 < v < math.inf, "a positive number")
non_negative_float = number_type(float, lambda v: 0 <= v < math.inf, ">= 0")
unit_interval = number_type(float, lambda v: 0.0 <= v <= 1.0, "in [0, 1]")
