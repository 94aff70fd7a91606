"""README.md's "Speed and cost" quotes `make bench`: its quoted lines are the run docs/speed.md
shows in full, and the goals it states carry that run's figures (a new run quoted with the old
figures left in the text fails here)."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def _section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## Speed and cost\n")
    return text[start : text.index("\n## ", start + 1)]


def _quote() -> str:
    return re.findall(r"```\n(.*?)```", _section(), flags=re.S)[0]


def test_the_quote_is_from_the_run_docs_speed_md_shows() -> None:
    speed = (ROOT / "docs" / "speed.md").read_text(encoding="utf-8")
    run = re.findall(r"```\n(make bench: .*?)```", speed, flags=re.S)[0].splitlines()
    quoted = [line for line in _quote().splitlines() if line]
    assert quoted and all(line in run for line in quoted)
    assert [run.index(line) for line in quoted] == sorted(run.index(line) for line in quoted)
    for part in ("Cold start:", "Lists of one user's rows", "Peak memory", "Cost of 1,000,000"):
        assert any(line.startswith(part) for line in quoted), part


def test_the_goals_carry_the_quoted_figures() -> None:
    quote, text = _quote(), " ".join(_section().split())
    cold = dict(
        (name, (median, fastest))
        for name, median, fastest in re.findall(
            r"^\| (\w+) +\| +[\d.]+ ms \| +[\d.]+ ms \| +([\d.]+)x \| +([\d.]+)x \|$", quote, re.M
        )
    )
    assert set(cold) == {"session", "db"}
    assert "db is {}× `node -e 0` by the median and {}× by the fastest".format(*cold["db"]) in text
    assert "session {}× and {}×".format(*cold["session"]) in text
    (ratio,) = re.findall(r"^\| 10,000 \| +[\d.]+ ms \( *([\d.]+)x\)", quote, re.M)
    assert f"10,000 rows takes {ratio}× the time of 10 rows" in text
    (total,) = re.findall(r"^FC .*: ([\d.]+) CNY", quote, re.M)
    assert f"{total} CNY for a million requests" in text
    (month,) = re.findall(r"^ProvisionedInstances: .* at most session ([\d.]+) CNY", quote, re.M)
    assert f"at most {month} CNY a month" in text
