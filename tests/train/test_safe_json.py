"""Untrusted JSON: bounded nesting, no duplicate keys, bounded integers (issue 24, items 7, 9, 10)."""

from __future__ import annotations

import math
import sys

import pytest

from volta_core.train import safe_json


def test_valid_json_parses_as_json_does() -> None:
    text = '{"a": [1, 2.5, "x[[[{", null, true], "b": {"c": NaN}, "d": -Infinity}'
    data = safe_json.loads(text)
    assert data["a"] == [1, 2.5, "x[[[{", None, True]
    assert math.isnan(data["b"]["c"]) and data["d"] == -math.inf


def test_brackets_inside_strings_do_not_count() -> None:
    assert safe_json.nesting_depth('["[[[[", "\\"[[["]') == 1
    assert safe_json.loads('{"k": "' + "[" * 1000 + '"}') == {"k": "[" * 1000}


@pytest.mark.parametrize(("text", "needle"), [
    ("[" * 200_000, "nested 200000 levels deep"),
    ("[" * 65 + "]" * 65, "nested 65 levels deep"),
    ('{"a": 1, "a": 2}', "the key `a` appears twice"),
    ('{"x": ' + "7" * 5000 + "}", "a number with 5000 digits"),
    ("{not json", "line 1, column 2"),
])
def test_rejections_are_json_errors(text: str, needle: str) -> None:
    with pytest.raises(safe_json.JsonError) as info:
        safe_json.loads(text)
    assert needle in info.value.message


def test_deep_nesting_is_safe_under_a_raised_recursion_limit() -> None:
    # Session raises the limit for deep Volta recursion; json's C parser would then
    # overflow the C stack (a segfault) before Python noticed.
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(61_200)
    try:
        with pytest.raises(safe_json.JsonError):
            safe_json.loads("[" * 200_000 + "]" * 200_000)
    finally:
        sys.setrecursionlimit(old)
