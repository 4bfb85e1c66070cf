"""No secret value reaches the HTML report's YAML excerpts, whatever rules are enabled.

Regression cases from review: a disabled secrets rule, a multi-line private key, a List
whose items neighbour a Secret, and kubectl's JSON-escaped last-applied copy.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from kubeward.config import Config
from kubeward.report.html import render_html
from kubeward.scan import run_scan

POD = """apiVersion: v1
kind: Pod
metadata:
  name: app
  namespace: shop
{annotations}spec:
  containers:
  - name: app
    image: nginx:latest
    env:
    - name: DB_PASSWORD
      value: Sup3rS3cretValue99
    - name: TLS_KEY
      value: |
        -----BEGIN RSA PRIVATE KEY-----
        MIIEpAIBAAKCAQEAsecretLine1
        QW5vdGhlclNlY3JldExpbmUy
        -----END RSA PRIVATE KEY-----
"""


def html_of(tmp_path: Path, text: str, config: Config) -> str:
    path = tmp_path / "in.yaml"
    path.write_text(text)
    return render_html(run_scan([str(path)], config)).decode()


def test_values_are_scrubbed_even_when_the_secrets_rules_are_disabled(tmp_path):
    config = Config(disabled=("secrets.*",))
    out = html_of(tmp_path, POD.format(annotations=""), config)
    assert "image: nginx:latest" in out  # excerpts are there
    for secret in ("Sup3rS3cretValue99", "MIIEpAIBAAKCAQEAsecretLine1", "QW5vdGhlclNlY3JldExpbmUy"):
        assert secret not in out


def test_last_applied_copies_get_no_excerpt(tmp_path):
    annotations = ('  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: '
                   '\'{"env":[{"name":"X","value":"def\\"SECRETxyz123"}]}\'\n')
    out = html_of(tmp_path, POD.format(annotations=annotations), Config())
    assert "SECRETxyz123" not in out


def test_list_items_do_not_spill_into_a_neighbouring_secret(tmp_path):
    items = [
        yaml.safe_load(POD.format(annotations="")),
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "shop"},
         "stringData": {"conf": "user=app\npassword=TopSecretMultiLine77\n"}},
    ]
    text = yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items})
    out = html_of(tmp_path, text, Config())
    assert "TopSecretMultiLine77" not in out
    assert "Sup3rS3cretValue99" not in out
