"""`make bench`'s list figures (scripts/bench.py): every size of both protocols in every round,
so noise lands on all of them alike, and the 10-row lists, which the ratios divide by, run most."""

from __future__ import annotations

from collections import Counter

from scripts.bench import LIST_2020, LIST_V2, SIZES, _print_lists, list_schedule


def test_every_round_runs_every_list_and_the_10_rows_most() -> None:
    rounds, repeats = 3, 5
    schedule = list_schedule(rounds, repeats)
    per_round = len(schedule) // rounds
    assert schedule == schedule[:per_round] * rounds
    counts = Counter(schedule[:per_round])
    assert counts[(LIST_2020, 10_000)] == 1
    assert counts[(LIST_2020, 10)] == counts[(LIST_V2, 10)] == 2 * repeats
    assert counts[(LIST_2020, 1_000)] == counts[(LIST_V2, 10_000)] == repeats
    # 10-row runs right before and right after the 10,000-row 2020 list, not in one block
    big = schedule.index((LIST_2020, 10_000))
    assert schedule[big - 1] == schedule[big + 1] == (LIST_2020, 10)


def test_the_figures_are_medians_and_the_ratio_is_to_the_10_row_median(capsys) -> None:
    runs = {size: [0.010 * size / 10, 0.001, 1.0] for size in SIZES}  # median: the first
    _print_lists({LIST_2020: runs, LIST_V2: runs}, kept=True)
    out = capsys.readouterr().out
    assert "median of 3 runs" in out
    assert "|     10 |      10.0 ms (  1.0x) |" in out
    assert "| 10,000 |     1,000 ms (100.0x) |" in out
