"""The HTML report: self-contained, escaped, secrets redacted; rendered in headless Chromium.

Chromium comes from Debian's packages via scripts/browser.sh (installed when missing). The
browser tests skip when it cannot be had, except under CI=true where they fail. The screenshot
is saved to tests/artifacts/html-report.png (gitignored).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kubeward.config import Config
from kubeward.findings import Severity
from kubeward.report.html import render_html, report_data
from kubeward.scan import run_scan

from .conftest import corpus

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "tests" / "artifacts"
KUBEWARD = Path(sys.executable).with_name("kubeward")
SECRETS = ("hunter2-prod-2026", "AKIAIOSFODNN7EXAMPLE", "c3VwZXItc2VjcmV0LXRva2Vu", "super-secret-token")
URL = re.compile(r"""(?:src|href|action|url)\s*[=(]\s*["']?\s*(?:https?:)?//""", re.I)


@pytest.fixture(scope="module")
def insecure_html(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("html") / "report.html"
    proc = subprocess.run([str(KUBEWARD), "scan", "examples/insecure", "-o", "html",
                           "--output-file", str(out)], cwd=REPO, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 1, proc.stderr  # findings: exit 1, like every format
    return out


def test_html_is_self_contained_and_redacted(insecure_html):
    text = insecure_html.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert not URL.search(text), URL.search(text)
    assert "<link" not in text and "@import" not in text
    for secret in SECRETS:
        assert secret not in text
    # the data block cannot be closed early by a value
    block = text.split('<script id="kubeward-data" type="application/json">', 1)[1].split("</script>")[0]
    assert "<" not in block
    data = json.loads(block)
    assert len(data["findings"]) == 18


def test_everything_is_escaped(tmp_path):
    evil = "<script>alert(1)</script>"
    (tmp_path / "evil.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  namespace: a\n"
        f"  annotations: {{note: '{evil}'}}\nspec:\n  containers:\n  - name: c\n"
        f"    image: 'nginx:latest'\n    env: [{{name: X, value: '{evil}'}}]\n")
    html = render_html(run_scan([str(tmp_path)], Config())).decode()
    assert evil not in html and html.count("<script") == 2


def test_secret_findings_carry_no_excerpt():
    report = run_scan([str(REPO / "examples" / "insecure")], Config())
    data = report_data(report)
    rules = data["rules"]
    with_excerpt = 0
    for row in data["findings"]:
        rule_id = rules[row[1]][0]
        ref = data["objects"][row[2]][0] if row[2] >= 0 else ""
        if rule_id.startswith("secrets.") or ref.startswith(("Secret/", "ConfigMap/")):
            assert row[5] is None
        elif row[5] is not None:
            with_excerpt += 1
            first, lines = data["excerpts"][row[5]]
            assert first <= row[3] < first + len(lines)
            assert not any(s in line for line in lines for s in SECRETS)
    assert with_excerpt > 5
    # the excerpt around the env block of the Deployment shows the key, not the value
    joined = "\n".join("\n".join(x[1]) for x in data["excerpts"])
    assert "DB_PASSWORD" in joined and "<redacted>" in joined


@pytest.mark.slow
def test_corpus_report_is_fast_and_small():
    report = run_scan([str(corpus("manifests"))], Config())
    start = time.perf_counter()
    html = render_html(report)
    elapsed = time.perf_counter() - start
    assert len(report.findings) > 3000
    assert elapsed < 2.0, f"render took {elapsed:.2f}s"
    assert len(html) < 5_000_000, f"{len(html)} bytes"


# --- headless Chromium -------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> str:
    proc = subprocess.run(["bash", str(REPO / "scripts" / "browser.sh")], capture_output=True,
                          text=True, timeout=900, check=False)
    path = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    if proc.returncode != 0 or not path or not shutil.which(path):
        if os.environ.get("CI") == "true":
            pytest.fail(f"chromium unavailable under CI: {proc.stderr[-2000:]}")
        pytest.skip(f"chromium unavailable: {proc.stderr.strip()[-300:]}")
    return path


def run_chromium(browser: str, tmp_path: Path, *args: str) -> str:
    profile = tmp_path / f"profile-{time.monotonic_ns()}"
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--disable-extensions", f"--user-data-dir={profile}", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def dom(browser: str, tmp_path: Path, html: Path, fragment: str = "") -> str:
    return run_chromium(browser, tmp_path, "--dump-dom", html.as_uri() + fragment)


def rows(page: str) -> list[str]:
    return re.findall(r'<tr class="finding[^"]*"[^>]*>', page)


def test_browser_renders_checklist_and_table(chromium, insecure_html, tmp_path):
    page = dom(chromium, tmp_path, insecure_html)
    assert len(re.findall(r'<tr class="item status-', page)) == 13
    assert len(rows(page)) == 18
    assert 'data-shown="18"' in page and "18 of 18 findings" in page
    assert "<svg" in page


def test_browser_filter_to_critical(chromium, insecure_html, tmp_path):
    page = dom(chromium, tmp_path, insecure_html, "#severity=critical")
    found = rows(page)
    assert len(found) == 1 and all('data-severity="critical"' in r for r in found)
    page = dom(chromium, tmp_path, insecure_html, "#item=2")
    assert len(rows(page)) == 4 and all('data-item="2"' in r for r in rows(page))
    page = dom(chromium, tmp_path, insecure_html, "#q=web-config")
    assert len(rows(page)) == 1


def test_browser_object_view(chromium, insecure_html, tmp_path):
    page = dom(chromium, tmp_path, insecure_html, "#obj-0")
    view = page.split('<section id="object-view"', 1)[1].split("</section>", 1)[0]
    assert "Deployment/shop/web" in view and 'class="excerpt"' in view and "Fix: " in view
    for secret in SECRETS:
        assert secret not in page


def test_browser_screenshot(chromium, insecure_html, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "html-report.png"
    shot.unlink(missing_ok=True)
    run_chromium(chromium, tmp_path, f"--screenshot={shot}", "--window-size=1400,2000",
                 insecure_html.as_uri())
    assert shot.stat().st_size > 10_000


def test_browser_corpus_report_paginates(chromium, tmp_path):
    report = run_scan([str(corpus("manifests"))], Config())
    out = tmp_path / "corpus.html"
    out.write_bytes(render_html(report))
    page = dom(chromium, tmp_path, out, "#severity=critical")
    crit = sum(f.severity == Severity.CRITICAL for f in report.active)
    assert len(rows(page)) == crit and all('data-severity="critical"' in r for r in rows(page))
    page = dom(chromium, tmp_path, out)
    assert len(rows(page)) == 200 and 'id="pager"' in page


# --- the NetworkPolicy picture -----------------------------------------------------------

NETPOL_SHOP = REPO / "tests" / "fixtures" / "netpol" / "shop.yaml"
EDGE = (0x25, 0x63, 0xEB)  # the arrow colour of kubeward.netpol.render.matrix_svg
CILIUM_DOC = """
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: db-from-frontend, namespace: shop}
specs:
  - endpointSelector: {matchLabels: {app: db}}
    ingress: [{fromEndpoints: [{matchLabels: {app: frontend}}],
               toPorts: [{ports: [{port: "5432", protocol: TCP}]}]}]
  - endpointSelector: {matchLabels: {app: frontend}}
    egress: [{toEndpoints: [{matchLabels: {app: db}}]}]
"""


@pytest.fixture(scope="module")
def netpol_html(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("netpol") / "shop.yaml"
    src.write_text(NETPOL_SHOP.read_text() + CILIUM_DOC)
    out = src.with_name("report.html")
    out.write_bytes(render_html(run_scan([str(src)], Config())))
    return out


def _section(page: str) -> str:
    return page.split('<section id="netpol-matrix">', 1)[1].split("</section>", 1)[0]


def test_netpol_picture_is_inline_svg_per_namespace(netpol_html):
    text = netpol_html.read_text(encoding="utf-8")
    assert not URL.search(text)
    section = _section(text)
    figures = re.findall(r'<figure class="netpol" data-namespace="([^"]+)"', section)
    assert figures == ["shop", "monitoring"]  # most workloads first
    assert section.count("<svg") == 2 and 'id="arrow-np0"' in section and 'id="arrow-np1"' in section
    # NetworkPolicy edges and the Cilium one, with the allowed ports
    assert "frontend -&gt; api: 8080/TCP" in section and "api -&gt; db: 5432/TCP" in section
    assert "frontend -&gt; db: 5432/TCP" in section
    assert "Namespace shop: 3 of 9 source/destination pairs allowed" in section
    assert "<details><summary>as a table</summary>" in section


def test_netpol_picture_absent_or_explained_without_policies(tmp_path):
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: x, namespace: a}\n"
        "spec: {containers: [{name: c, image: 'nginx:1.27'}]}\n")
    page = render_html(run_scan([str(tmp_path)], Config())).decode()
    assert "No NetworkPolicy or Cilium policy in this input" in _section(page)
    (tmp_path / "pod.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    assert 'id="netpol-matrix"' not in render_html(run_scan([str(tmp_path)], Config())).decode()


def _png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """A minimal PNG decoder (8-bit RGB/RGBA, no interlace): width, height, pixel rows."""
    import struct
    import zlib

    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    height = channels = 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and color in (2, 6) and body[12] == 0
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        ftype, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 255
            elif ftype == 2:
                line[i] = (line[i] + b) & 255
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line) if channels == 3 else bytes(
            v for j in range(width) for v in line[j * 4:j * 4 + 3]))
        prev = line
    return width, height, rows


def test_browser_shows_the_netpol_picture(chromium, netpol_html, tmp_path):
    page = dom(chromium, tmp_path, netpol_html)
    section = _section(page)
    assert section.count("<svg") == 2 and "hidden" not in section.split(">", 1)[0]
    shot = tmp_path / "netpol.png"
    run_chromium(chromium, tmp_path, f"--screenshot={shot}", "--window-size=1400,3000",
                 "--hide-scrollbars", netpol_html.as_uri())
    width, height, rows = _png_pixels(shot.read_bytes())
    edge = bytes(EDGE)
    painted = [y for y, row in enumerate(rows) if any(row[x:x + 3] == edge
                                                      for x in range(0, width * 3, 3))]
    # the arrows are drawn (their colour appears nowhere else on the page), below the
    # checklist and inside the window
    assert len(painted) >= 6, f"{len(painted)} rows carry the arrow colour"
    assert 0 < min(painted) < height
