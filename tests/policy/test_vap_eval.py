"""ValidatingAdmissionPolicy evaluation semantics (policy.vap).

Each test follows a behaviour of kubernetes/kubernetes
staging/src/k8s.io/apiserver/pkg/admission/plugin/policy/validating: validator.go
`Validate` (messages, reasons, failurePolicy, auditAnnotations), dispatcher.go `Dispatch`
and `collectParams` (bindings, params, validationActions), .../webhook/matchconditions/
matcher.go `Match` (matchConditions), .../plugin/cel/composition.go (lazy variables), and
the cases of validating/admission_test.go (TestBasicPolicyDefinitionFailure,
TestDefinitionDoesntMatch, TestMultiplePoliciesSharedParamType, TestNativeTypeParam,
TestEmptyParamSource, TestAuditValidationAction, TestWarnValidationAction,
TestAllValidationActions, TestNamespaceParamRefName, TestParamRef...). Must-deny and
must-allow cases for each feature.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeward.inventory.sources import LoadResult, load_text
from kubeward.policy import vap

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vap"


def policy(name: str = "p", validations: list[dict[str, Any]] | None = None,
           **spec: Any) -> dict[str, Any]:
    full: dict[str, Any] = {
        "matchConstraints": {"resourceRules": [{
            "apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
            "resources": ["deployments"]}]},
        "validations": validations if validations is not None
        else [{"expression": "object.spec.replicas <= 5", "message": "too many"}],
        **spec,
    }
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": name}, "spec": full}


def binding(name: str = "b", policy_name: str = "p", actions: tuple[str, ...] = ("Deny",),
            **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding", "metadata": {"name": name},
            "spec": {"policyName": policy_name, "validationActions": list(actions), **spec}}


def deploy(replicas: int = 3, namespace: str = "app", name: str = "web",
           labels: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [
                {"name": "c", "image": "nginx:1.25"}]}}}}


def cm(name: str, namespace: str | None = None, labels: dict[str, str] | None = None,
       **data: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


def load(*objs: dict[str, Any], implicit: bool = False) -> vap.VapSet:
    vs = vap.load(objs, implicit_binding=implicit)
    assert vs.errors == [], vs.errors
    return vs


def allowed(decisions: list[vap.VapDecision]) -> bool:
    return vap.verdict(decisions)[0]


# --- validations, messages, reasons ---------------------------------------------------

def test_validation_denies_and_allows() -> None:
    vs = load(policy(), binding())
    assert not allowed(vs.evaluate(deploy(10)))
    assert allowed(vs.evaluate(deploy(3)))


def test_each_failed_validation_is_one_decision_in_order() -> None:
    vs = load(policy(validations=[
        {"expression": "object.spec.replicas <= 5", "message": "too many"},
        {"expression": "object.metadata.name != 'web'", "message": "bad name"},
        {"expression": "true"},
    ]), binding())
    decisions = vs.evaluate(deploy(10))
    assert [(d.validation, d.message) for d in decisions] == [(0, "too many"), (1, "bad name")]
    assert vap.verdict(decisions)[1] == (
        "ValidatingAdmissionPolicy 'p' with binding 'b' denied request: too many")


def test_message_expression_is_preferred() -> None:
    vs = load(policy(validations=[{
        "expression": "object.spec.replicas <= 5", "message": "static",
        "messageExpression": "'replicas ' + string(object.spec.replicas) + ' > 5'"}]), binding())
    assert vs.evaluate(deploy(7))[0].message == "replicas 7 > 5"


@pytest.mark.parametrize("message_expression", [
    "object.missing",  # an error
    "'  '",  # blank after trimming
    "'two\\nlines'",  # line breaks are refused
])
def test_message_expression_falls_back_to_message(message_expression: str) -> None:
    vs = load(policy(validations=[{
        "expression": "object.spec.replicas <= 5", "message": "static",
        "messageExpression": message_expression}]), binding())
    assert vs.evaluate(deploy(7))[0].message == "static"


def test_without_message_the_expression_is_quoted() -> None:
    vs = load(policy(validations=[{"expression": " object.spec.replicas <= 5 "}]), binding())
    assert vs.evaluate(deploy(7))[0].message == "failed expression: object.spec.replicas <= 5"


def test_reason_defaults_to_invalid_and_can_be_set() -> None:
    vs = load(policy(validations=[
        {"expression": "false", "message": "a"},
        {"expression": "false", "message": "b", "reason": "Forbidden"}]), binding())
    assert [d.reason for d in vs.evaluate(deploy())] == ["Invalid", "Forbidden"]


# --- failurePolicy ---------------------------------------------------------------------

def test_runtime_error_denies_with_fail() -> None:
    vs = load(policy(validations=[{"expression": "object.spec.missing > 1"}]), binding())
    [d] = vs.evaluate(deploy())
    assert d.denied and d.error is not None
    assert d.error == ("expression 'object.spec.missing > 1' resulted in error: "
                       "no such key: missing")


def test_runtime_error_is_ignored_with_ignore() -> None:
    vs = load(policy(validations=[{"expression": "object.spec.missing > 1"}],
                     failurePolicy="Ignore"), binding())
    [d] = vs.evaluate(deploy())
    assert d.allowed and not d.denied and d.error is not None
    assert allowed([d])


def test_authorizer_is_an_offline_error_following_failure_policy() -> None:
    expr = "authorizer.group('apps').resource('deployments').check('create').allowed()"
    fail = load(policy(validations=[{"expression": expr}]), binding())
    [d] = fail.evaluate(deploy())
    assert d.denied and "authorizer is not available offline" in (d.error or "")
    ignore = load(policy(validations=[{"expression": expr}], failurePolicy="Ignore"), binding())
    assert allowed(ignore.evaluate(deploy()))


# --- matchConditions -------------------------------------------------------------------

def test_false_match_condition_skips_the_policy() -> None:
    vs = load(policy(matchConditions=[
        {"name": "not-kube", "expression": "!object.metadata.namespace.startsWith('kube-')"}]),
        binding())
    assert vs.evaluate(deploy(10, namespace="kube-system")) == []
    assert not allowed(vs.evaluate(deploy(10)))


def test_match_condition_error_follows_failure_policy() -> None:
    cond = [{"name": "broken", "expression": "object.spec.nothing == 1"}]
    fail = load(policy(matchConditions=cond), binding())
    [d] = fail.evaluate(deploy(1))
    assert d.denied and "no such key: nothing" in (d.error or "")
    ignore = load(policy(matchConditions=cond, failurePolicy="Ignore"), binding())
    assert allowed(ignore.evaluate(deploy(10)))


def test_false_match_condition_wins_over_an_error() -> None:
    vs = load(policy(matchConditions=[
        {"name": "broken", "expression": "object.spec.nothing == 1"},
        {"name": "no", "expression": "false"}]), binding())
    assert vs.evaluate(deploy(10)) == []


# --- variables -------------------------------------------------------------------------

def test_variables_in_order_and_composed() -> None:
    vs = load(policy(variables=[
        {"name": "replicas", "expression": "object.spec.replicas"},
        {"name": "double", "expression": "variables.replicas * 2"}],
        validations=[{"expression": "variables.double <= 10", "message": "too many"}]),
        binding())
    assert allowed(vs.evaluate(deploy(5)))
    assert not allowed(vs.evaluate(deploy(6)))


def test_unused_failing_variable_is_not_evaluated() -> None:
    vs = load(policy(variables=[
        {"name": "broken", "expression": "object.spec.nothing"},
        {"name": "replicas", "expression": "object.spec.replicas"}],
        validations=[{"expression": "variables.replicas <= 5"}]), binding())
    assert allowed(vs.evaluate(deploy(5)))


def test_used_failing_variable_fails_the_expression() -> None:
    vs = load(policy(variables=[{"name": "broken", "expression": "object.spec.nothing"}],
                     validations=[{"expression": "variables.broken == 1"}]), binding())
    [d] = vs.evaluate(deploy())
    assert d.denied
    assert 'composited variable "broken" fails to evaluate' in (d.error or "")


def test_variables_see_only_earlier_variables() -> None:
    vs = vap.load([policy(variables=[
        {"name": "a", "expression": "variables.b + 1"},
        {"name": "b", "expression": "1"}],
        validations=[{"expression": "variables.nope == 1"}]), binding()])
    assert len(vs.errors) == 2
    assert "spec.variables[0].expression: compilation failed: undefined field 'b'" in vs.errors[0]
    assert "spec.validations[0].expression: compilation failed: undefined field 'nope'" in (
        vs.errors[1])


# --- params ----------------------------------------------------------------------------

PARAM_KIND = {"apiVersion": "v1", "kind": "ConfigMap"}
MAX_FROM_PARAMS = [{"expression": "object.spec.replicas <= int(params.data.max)",
                    "messageExpression": "'max is ' + params.data.max"}]


def param_policy(**spec: Any) -> dict[str, Any]:
    return policy(paramKind=PARAM_KIND, validations=MAX_FROM_PARAMS, **spec)


def test_param_by_name_and_namespace() -> None:
    vs = load(param_policy(), binding(paramRef={"name": "limits", "namespace": "cfg"}))
    params = [cm("limits", "cfg", max="5"), cm("limits", "other", max="100")]
    assert allowed(vs.evaluate(deploy(5), params_objects=params))
    [d] = vs.evaluate(deploy(6), params_objects=params)
    assert d.denied and d.message == "max is 5" and d.param == "cfg/limits"


def test_param_namespace_defaults_to_the_request_namespace() -> None:
    vs = load(param_policy(), binding(paramRef={"name": "limits"}))
    params = [cm("limits", "app", max="2"), cm("limits", "other", max="100")]
    assert not allowed(vs.evaluate(deploy(3, namespace="app"), params_objects=params))
    assert allowed(vs.evaluate(deploy(3, namespace="other"), params_objects=params))


def test_param_selector_evaluates_every_match() -> None:
    vs = load(param_policy(), binding(paramRef={
        "selector": {"matchLabels": {"limit": "yes"}}, "namespace": "cfg",
        "parameterNotFoundAction": "Allow"}))
    params = [cm("a", "cfg", {"limit": "yes"}, max="10"), cm("b", "cfg", {"limit": "yes"}, max="4"),
              cm("c", "cfg", {"limit": "no"}, max="1")]
    decisions = vs.evaluate(deploy(5), params_objects=params)
    assert [(d.param, d.allowed) for d in decisions] == [("cfg/a", True), ("cfg/b", False)]


def test_missing_param_denies_by_default() -> None:
    vs = load(param_policy(), binding(paramRef={"name": "nope", "namespace": "cfg"}))
    [d] = vs.evaluate(deploy())
    assert d.denied
    assert d.error == ("failed to configure binding: no params found for policy binding "
                       "with `Deny` parameterNotFoundAction")


def test_missing_param_with_allow_skips_the_binding() -> None:
    vs = load(param_policy(), binding(paramRef={"name": "nope", "namespace": "cfg",
                                                "parameterNotFoundAction": "Allow"}))
    assert vs.evaluate(deploy(100)) == []


def test_missing_param_is_ignored_with_failure_policy_ignore() -> None:
    vs = load(param_policy(failurePolicy="Ignore"),
              binding(paramRef={"name": "nope", "namespace": "cfg"}))
    assert allowed(vs.evaluate(deploy(100)))


def test_param_kind_without_param_ref_is_a_configuration_error() -> None:
    vs = load(param_policy(), binding())
    [d] = vs.evaluate(deploy())
    assert d.denied and "paramRef is nil" in (d.error or "")


def test_configuration_errors_deny_even_for_a_warn_binding() -> None:
    # dispatcher.go addConfigError appends to deniedDecisions whatever validationActions say
    vs = load(param_policy(), binding(actions=("Warn",)))
    [d] = vs.evaluate(deploy())
    assert d.denied and d.actions == ("Deny",)


def test_evaluation_errors_follow_validation_actions() -> None:
    vs = load(policy(validations=[{"expression": "object.spec.nothing == 1"}]),
              binding(actions=("Warn",)))
    [d] = vs.evaluate(deploy())
    assert not d.denied and d.warning is not None and "no such key" in d.warning


def test_params_is_undeclared_without_param_kind() -> None:
    vs = vap.load([policy(validations=[{"expression": "params == null"}]), binding()])
    assert len(vs.errors) == 1 and "undeclared reference to 'params'" in vs.errors[0]


# --- validationActions and auditAnnotations ------------------------------------------

def test_warn_action_allows_with_a_warning() -> None:
    vs = load(policy(), binding(actions=("Warn",)))
    [d] = vs.evaluate(deploy(10))
    assert not d.allowed and not d.denied
    assert d.warning == ("Validation failed for ValidatingAdmissionPolicy 'p' with binding "
                         "'b': too many")
    assert allowed([d])


def test_audit_action_only_records() -> None:
    vs = load(policy(), binding(actions=("Audit",)))
    [d] = vs.evaluate(deploy(10))
    assert d.actions == ("Audit",) and not d.denied and d.warning is None


def test_deny_and_audit_together_deny() -> None:
    vs = load(policy(), binding(actions=("Deny", "Audit")))
    assert not allowed(vs.evaluate(deploy(10)))


def test_deny_with_warn_is_rejected_at_load() -> None:
    vs = vap.load([policy(), binding(actions=("Deny", "Warn"))])
    assert any("Deny and Warn" in e for e in vs.errors)


def test_audit_annotations() -> None:
    vs = load(policy(auditAnnotations=[
        {"key": "replicas", "valueExpression": "string(object.spec.replicas)"},
        {"key": "skipped", "valueExpression": "null"}]), binding())
    [d] = vs.evaluate(deploy(3))
    assert d.allowed and d.audit_annotations == {"p/replicas": "3"}


def test_several_bindings_of_one_policy() -> None:
    vs = load(policy(), binding("deny-prod", matchResources={
        "namespaceSelector": {"matchLabels": {"env": "prod"}}}),
        binding("warn-all", actions=("Warn",)))
    prod = {"metadata": {"name": "app", "labels": {"env": "prod"}}}
    decisions = vs.evaluate(deploy(10), namespace_object=prod)
    assert [(d.binding, d.denied) for d in decisions] == [("deny-prod", True),
                                                          ("warn-all", False)]
    dev = {"metadata": {"name": "app", "labels": {"env": "dev"}}}
    assert [d.binding for d in vs.evaluate(deploy(10), namespace_object=dev)] == ["warn-all"]


# --- the request, oldObject and namespaceObject -----------------------------------------

def test_request_fields() -> None:
    vs = load(policy(validations=[
        {"expression": "request.operation == 'UPDATE'"},
        {"expression": "request.kind.kind == 'Deployment' && request.kind.group == 'apps'"},
        {"expression": "request.resource.resource == 'deployments'"},
        {"expression": "request.name == 'web' && request.namespace == 'app'"},
        {"expression": "request.userInfo.username == 'alice'"},
        {"expression": "'admins' in request.userInfo.groups"},
        {"expression": "oldObject.spec.replicas == 1"},
        {"expression": "request.dryRun == false"},
    ]), binding())
    decisions = vs.evaluate(deploy(3), operation="UPDATE", old_object=deploy(1),
                            user_info={"username": "alice", "groups": ["admins"]})
    assert [d.allowed for d in decisions] == [True]


def test_old_object_is_null_on_create() -> None:
    vs = load(policy(validations=[{"expression": "oldObject == null"}]), binding())
    assert allowed(vs.evaluate(deploy()))


def test_namespace_object_labels() -> None:
    vs = load(policy(validations=[{
        "expression": "namespaceObject.metadata.labels['kubernetes.io/metadata.name'] == "
                      "'app' && namespaceObject.metadata.?labels[?'tier'].orValue('') != 'x'",
        "message": "bad namespace"}]), binding())
    assert allowed(vs.evaluate(deploy()))
    ns = {"apiVersion": "v1", "kind": "Namespace",
          "metadata": {"name": "app", "labels": {"tier": "x"}, "managedFields": [{}]}}
    assert not allowed(vs.evaluate(deploy(), namespace_object=ns))


# --- loading ---------------------------------------------------------------------------

def test_compile_errors_name_file_line_and_field() -> None:
    result = LoadResult()
    load_text((FIXTURES / "broken.yaml").read_text(), "broken.yaml", result)
    vs = vap.load(result.resources, implicit_binding=True)
    assert [p.name for p in vs.policies] == ["fine"]
    assert len(vs.errors) == 2
    assert vs.errors[0].startswith("broken.yaml:13: ValidatingAdmissionPolicy 'broken': "
                                   "spec.validations[0].expression: compilation failed")
    assert vs.errors[1].startswith("broken.yaml:14: ValidatingAdmissionPolicy 'broken': "
                                   "spec.validations[1].expression: compilation failed: ")
    assert "undeclared reference to 'params" in vs.errors[1]


@pytest.mark.parametrize("version", ["v1", "v1beta1", "v1alpha1"])
def test_api_versions(version: str) -> None:
    p, b = policy(), binding()
    p["apiVersion"] = b["apiVersion"] = f"admissionregistration.k8s.io/{version}"
    if version == "v1alpha1":
        del b["spec"]["validationActions"]  # v1alpha1 bindings predate validationActions
    vs = load(p, b)
    assert not allowed(vs.evaluate(deploy(10)))


def test_bad_objects_are_errors_not_exceptions() -> None:
    bad_version = copy.deepcopy(policy("v9"))
    bad_version["apiVersion"] = "admissionregistration.k8s.io/v9"
    no_rules = policy("no-rules")
    del no_rules["spec"]["matchConstraints"]
    not_bool = policy("not-bool", validations=[{"expression": "'a string'"}])
    vs = vap.load([bad_version, no_rules, not_bool, {"kind": "ValidatingAdmissionPolicy"},
                   binding(actions=()), "not a mapping", policy("ok")])  # type: ignore[list-item]
    assert [p.name for p in vs.policies] == ["ok"]
    joined = "\n".join(vs.errors)
    assert "unsupported apiVersion" in joined
    assert "spec.matchConstraints.resourceRules: Required value" in joined
    assert "must evaluate to bool" in joined
    assert "validationActions: Required value" in joined


def test_binding_to_a_missing_policy_is_a_warning() -> None:
    vs = vap.load([binding(policy_name="ghost")])
    assert vs.errors == [] and "policy 'ghost' is not loaded" in vs.warnings[0]


def test_fixture_policy_with_params_variables_and_annotations() -> None:
    docs = [d for d in yaml.safe_load_all((FIXTURES / "replicas-limit.yaml").read_text()) if d]
    vs = load(*docs)
    params = [d for d in docs if d["kind"] == "ConfigMap"]
    prod = {"metadata": {"name": "app", "labels": {"env": "prod"}}}
    ok = deploy(3)
    [d] = vs.evaluate(ok, namespace_object=prod, params_objects=params)
    assert d.allowed and d.audit_annotations == {"replica-limit/replicas": "3"}
    bad = deploy(9, name="Web", labels={"team": "Blue1"})
    bad["spec"]["template"]["spec"]["containers"] = [
        {"name": "c", "image": "nginx", "resources": {"limits": {"memory": "8Gi"}}}]
    decisions = vs.evaluate(bad, namespace_object=prod, params_objects=params)
    assert [(d.message, d.reason) for d in decisions] == [
        ("replicas 9 exceed 5", "Forbidden"),
        ("images must carry a tag", "Invalid"),
        ("memory limit too high", "Invalid"),
        ("failed expression: object.metadata.name.lowerAscii() == object.metadata.name",
         "Invalid"),
        ("bad team label", "Invalid"),
    ]
    # not in a prod namespace: the binding does not match
    assert vs.evaluate(bad, params_objects=params) == []


def test_odd_inputs_do_not_raise() -> None:
    vs = load(policy(), binding())
    assert vs.evaluate("not an object") == []  # type: ignore[arg-type]
    assert vs.evaluate(None) == []
    weird = deploy()
    weird["metadata"] = "oops"
    weird["spec"]["replicas"] = 2**70  # not an int64: CEL cannot take it
    [d] = vs.evaluate(weird, params_objects=[None], user_info="x")  # type: ignore[list-item,arg-type]
    assert d.denied and d.error
