"""JUnit XML: one test suite per checklist item, one test case per rule and object.

CI systems show JUnit natively (GitLab, Jenkins, Azure DevOps). A rule with no finding is
a passing test case, so the report counts what was checked, not only what failed.
"""

from __future__ import annotations

from collections import defaultdict
from xml.etree import ElementTree as ET

from kubeward.checklist import item
from kubeward.findings import Finding
from kubeward.scan import ScanReport


def render_junit(report: ScanReport) -> bytes:
    by_item: dict[int, dict[str, list[Finding]]] = defaultdict(lambda: defaultdict(list))
    for rule in report.rules:
        by_item[rule.checklist].setdefault(rule.id, [])
    for f in report.active:
        by_item[f.rule.checklist][f.rule.id].append(f)
    root = ET.Element("testsuites", name="kubeward")
    total = failures = 0
    for number in sorted(by_item):
        suite = ET.SubElement(root, "testsuite", name=f"{number}. {item(number).title}")
        s_tests = s_fail = 0
        for rule_id, findings in sorted(by_item[number].items()):
            if not findings:
                ET.SubElement(suite, "testcase", classname=rule_id, name=rule_id)
                s_tests += 1
                continue
            for f in findings:
                where = f"{f.file}:{f.line}" if f.file else ""
                case = ET.SubElement(
                    suite, "testcase", classname=rule_id,
                    name=f"{rule_id} {f.resource.ref if f.resource else ''}".strip(),
                    file=f.file, line=str(f.line),
                )
                failure = ET.SubElement(
                    case, "failure", message=f.message, type=f.severity.label
                )
                failure.text = f"{f.rule.title}\n{where}\n{f.message}\nFix: {f.rule.remediation}"
                s_tests += 1
                s_fail += 1
        suite.set("tests", str(s_tests))
        suite.set("failures", str(s_fail))
        suite.set("errors", "0")
        total += s_tests
        failures += s_fail
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", str(len(report.errors)))
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"
