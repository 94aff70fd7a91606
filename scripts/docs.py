"""`make docs`: regenerate every generated table of docs/ from the code it describes. Today
that is docs/api.md's command tables (`<!-- registry:2020 ... -->` and `<!-- registry:v2 ... -->`),
written from the command registry of the declared collections; tests/unit/test_registry.py
fails, naming this command, when they differ.

`--check` writes nothing and exits 1 when a table is out of date.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
API = ROOT / "docs" / "api.md"
PROTOCOLS = ("2020", "v2")


def registry_tables() -> dict[str, str]:
    """The markdown table of each protocol, from this tree's shared/ (not another checkout's
    installed library: the tables describe the collections declared here)."""
    sys.path.insert(0, str(ROOT / "shared"))
    from miniapp.collections import declared
    from miniapp.wiring import registry_of

    registry = registry_of(declared())
    return {protocol: registry.markdown(protocol) for protocol in PROTOCOLS}


def with_tables(text: str, tables: dict[str, str]) -> str:
    """`text` with each registry block's body replaced by its table (the markers stay)."""
    for protocol, table in tables.items():
        block = re.compile(
            rf"(<!-- registry:{protocol} [^>]*-->\n)(.*?)(\n<!-- /registry:"
            rf"{protocol} -->)",
            re.S,
        )
        found = block.search(text)
        if found is None:  # the markers were edited away
            raise SystemExit(f"make docs: {API.relative_to(ROOT)} has no registry:{protocol} block")
        text = text[: found.start(2)] + table + text[found.end(2) :]
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Regenerate the generated tables of docs/ (docs/api.md's command tables, "
        "from the command registry)."
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if a table is out of date (default: rewrite "
        "the tables that differ)",
    )
    args = parser.parse_args(argv)
    before = API.read_text()
    after = with_tables(before, registry_tables())
    if after == before:
        print(f"{API.relative_to(ROOT)}: the tables are up to date")
        return 0
    if args.check:
        print(
            f"{API.relative_to(ROOT)}: the tables are out of date; run make docs", file=sys.stderr
        )
        return 1
    API.write_text(after)
    print(f"{API.relative_to(ROOT)}: tables regenerated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
