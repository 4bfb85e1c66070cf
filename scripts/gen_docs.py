"""Regenerate the docs pages that come from the rule catalog (docs/rules.md, docs/checklist/).

Run: .venv/bin/python scripts/gen_docs.py  (tests/test_docs.py fails when they are stale).
"""

from __future__ import annotations

from pathlib import Path

from kubeward.report.rules_doc import checklist_pages, rules_markdown
from kubeward.rules.catalog import load_catalog

DOCS = Path(__file__).resolve().parents[1] / "docs"


def main() -> None:
    rules = load_catalog()
    (DOCS / "rules.md").write_text(rules_markdown(rules))
    (DOCS / "checklist").mkdir(exist_ok=True)
    for name, text in checklist_pages(rules).items():
        (DOCS / "checklist" / name).write_text(text)


if __name__ == "__main__":
    main()
