"""Regenerate reviews.csv: 480 short product reviews labelled pos/neg.

Templates filled from small word lists with a fixed seed (random.Random(2024)),
so the file is the same on every run: `python make_data.py` rewrites it.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

PRODUCTS = [
    "headphones", "blender", "keyboard", "backpack", "lamp", "kettle", "phone case", "jacket",
    "coffee maker", "desk chair", "camera", "water bottle", "vacuum", "toaster", "monitor", "tent",
]
POSITIVE = [
    "great", "excellent", "wonderful", "fantastic", "sturdy", "reliable", "comfortable", "perfect",
    "lovely", "impressive", "solid", "brilliant", "superb", "handy", "delightful", "amazing",
]
NEGATIVE = [
    "terrible", "awful", "flimsy", "broken", "useless", "disappointing", "cheap", "horrible",
    "noisy", "faulty", "poor", "annoying", "defective", "dreadful", "worthless", "bad",
]
POS_VERBS = ["love", "recommend", "enjoy", "adore", "appreciate", "like"]
NEG_VERBS = ["regret", "returned", "hate", "dislike", "refunded", "abandoned"]
FILLER = [
    "arrived on tuesday", "came in a box", "was a gift", "is blue", "took a week to ship",
    "has a cable", "was on sale", "fits in my bag", "is for the kitchen", "came with a manual",
]
TEMPLATES = [
    "the {p} is {a}",
    "this {p} is really {a} and {a2}",
    "i {v} this {p} it {f}",
    "{a} {p} would buy again" ,
    "my {p} {f} and it is {a}",
    "honestly a {a} {p}",
    "the {p} {f} quality is {a}",
    "i {v} it {a} {p}",
]
NEG_TEMPLATES = [t.replace("would buy again", "never again") for t in TEMPLATES]


def review(rng: random.Random, positive: bool) -> str:
    words, verbs = (POSITIVE, POS_VERBS) if positive else (NEGATIVE, NEG_VERBS)
    template = rng.choice(TEMPLATES if positive else NEG_TEMPLATES)
    return template.format(
        p=rng.choice(PRODUCTS), a=rng.choice(words), a2=rng.choice(words), v=rng.choice(verbs), f=rng.choice(FILLER)
    )


def main() -> None:
    rng = random.Random(2024)
    rows = [(review(rng, i % 2 == 0), "pos" if i % 2 == 0 else "neg") for i in range(480)]
    rng.shuffle(rows)
    out = Path(__file__).resolve().parent / "reviews.csv"
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["review", "label"])
        writer.writerows(rows)


if __name__ == "__main__":
    main()
