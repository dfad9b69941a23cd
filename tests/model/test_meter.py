"""Meters nest: an inner block's calls also reach the meter around it, however the block ends."""

from __future__ import annotations

import pytest

from drafter.model.meter import count, metered


def test_an_inner_meter_adds_its_calls_to_the_outer_one() -> None:
    with metered() as outer:
        count(10, 2)
        with metered() as inner:
            count(5, 1)
            count(calls=1)
        assert inner == {"prompt_tokens": 5, "completion_tokens": 1, "calls": 2}
        count(1, 1)
    assert outer == {"prompt_tokens": 16, "completion_tokens": 4, "calls": 4}


def test_calls_before_an_exception_still_reach_the_outer_meter() -> None:
    with metered() as outer:
        with pytest.raises(RuntimeError), metered():
            count(7, 3)
            raise RuntimeError("a chain failed")
    assert outer["calls"] == 1 and outer["prompt_tokens"] == 7


def test_no_meter_counts_nothing() -> None:
    count(1, 1)  # nothing in effect: no error
    with metered() as usage:
        pass
    assert usage == {"prompt_tokens": 0, "completion_tokens": 0, "calls": 0}
