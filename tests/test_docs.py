"""Generated docs stay in step with the code."""

from __future__ import annotations

from kubeward.report.rules_doc import rules_markdown
from kubeward.rules.catalog import load_catalog
from tests.conftest import REPO


def test_rules_doc_is_generated_from_the_catalog():
    expected = rules_markdown(load_catalog())
    actual = (REPO / "docs" / "rules.md").read_text()
    assert actual == expected, "docs/rules.md is stale: python scripts/gen_docs.py"


def test_every_rule_is_documented_with_references():
    for rule in load_catalog():
        assert rule.description and rule.remediation, rule.id
        assert rule.refs.cis or rule.refs.mitre or rule.refs.nsa, rule.id
        assert 1 <= rule.checklist <= 13
        assert rule.id == rule.id.lower() and " " not in rule.id


def test_help_imports_nothing_heavy():
    """`kubeward --help` must stay fast: the CLI modules import only click at import time."""
    import subprocess
    import sys

    code = (
        "import sys, kubeward.cli.main\n"
        "heavy = {'yaml', 'rich', 'orjson', 'lightkube', 'httpx2', 'ruamel', 'jinja2',"
        " 'kubeward.pss', 'kubeward.rules.catalog', 'kubeward.inventory.sources'}\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_checklist_pages_are_generated_from_the_catalog():
    from kubeward.report.rules_doc import checklist_pages

    pages = checklist_pages(load_catalog())
    assert len(pages) == 13
    for name, text in pages.items():
        path = REPO / "docs" / "checklist" / name
        assert path.read_text() == text, f"{path} is stale: python scripts/gen_docs.py"


def test_docs_site_builds_strictly(tmp_path):
    """MkDocs with --strict: broken links, missing pages or bad anchors fail the build."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q",
                          "-d", str(tmp_path / "site")], cwd=REPO, capture_output=True,
                         text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "site" / "checklist" / "03-pod-security" / "index.html").is_file()
    assert (tmp_path / "site" / "rules" / "index.html").is_file()
