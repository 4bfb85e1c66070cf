"""The Kyverno engine end to end: loading, match / exclude, autogen, deny, preconditions,
variables and context, foreach, podSecurity and mutation.

Policies are small versions of Kyverno documentation examples
(https://kyverno.io/docs/writing-policies/) and of kyverno/policies library policies.
"""

from __future__ import annotations

import pytest

from kubeward.policy.kyverno import PolicyLoadError, evaluate, load_policies, mutate


def policy(
    *rules: dict,
    name: str = "p",
    action: str = "Audit",
    annotations: dict | None = None,
    kind: str = "ClusterPolicy",
    namespace: str | None = None,
    **spec,
) -> dict:
    meta: dict = {"name": name}
    if annotations:
        meta["annotations"] = annotations
    if namespace:
        meta["namespace"] = namespace
    return {
        "apiVersion": "kyverno.io/v1",
        "kind": kind,
        "metadata": meta,
        "spec": {"validationFailureAction": action, "rules": list(rules), **spec},
    }


def rule(name: str = "r", kinds=("Pod",), **body) -> dict:
    return {"name": name, "match": {"any": [{"resources": {"kinds": list(kinds)}}]}, **body}


def pod(name="p", ns="default", labels=None, containers=None, **spec) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
        "spec": {"containers": containers or [{"name": "c", "image": "nginx:1.25"}], **spec},
    }


def deployment(name="d", containers=None, labels=None) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "template": {
                "metadata": {"labels": labels or {}},
                "spec": {"containers": containers or [{"name": "c", "image": "nginx:1.25"}]},
            }
        },
    }


def cronjob(containers) -> dict:
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "cj", "namespace": "default"},
        "spec": {
            "schedule": "* * * * *",
            "jobTemplate": {"spec": {"template": {"spec": {"containers": containers}}}},
        },
    }


def statuses(pols, resource, **kw) -> dict[str, str]:
    return {r.rule: r.status for r in evaluate(load_policies(pols), resource, **kw)}


REQUIRE_LABEL = rule(
    "check-for-labels",
    validate={
        "message": "label app.kubernetes.io/name is required",
        "pattern": {"metadata": {"labels": {"app.kubernetes.io/name": "?*"}}},
    },
)


# --- loading --------------------------------------------------------------------------------


def test_malformed_policies_are_named_and_do_not_stop_the_others():
    bad = {
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": {"name": "broken"},
        "spec": {"rules": [{"name": "x", "validate": {"pattern": {}}}]},
    }  # no match
    good = policy(REQUIRE_LABEL, name="good")
    errors: list[str] = []
    loaded = load_policies([bad, good, {"kind": "ConfigMap", "apiVersion": "v1"}], errors)
    assert [p.name for p in loaded] == ["good"]
    assert errors == ["ClusterPolicy broken: spec.rules[0]: match is required"]
    with pytest.raises(PolicyLoadError, match="broken"):
        load_policies([bad])


def test_rule_needs_exactly_one_validation_kind():
    two = policy(rule(validate={"pattern": {"a": 1}, "deny": {}}))
    with pytest.raises(PolicyLoadError, match="exactly one of pattern"):
        load_policies([two])


# --- match / exclude ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kinds", "matches"),
    [
        (["Pod"], True),
        (["v1/Pod"], True),
        (["*/Pod"], True),
        (["*"], True),
        (["apps/v1/Deployment"], False),
        (["Deployment", "Service"], False),
        (["Po*"], True),
    ],
)
def test_kind_forms(kinds, matches):
    p = policy(
        rule(kinds=kinds, validate={"pattern": {"metadata": {"name": "?*"}}}),
        annotations={"pod-policies.kyverno.io/autogen-controllers": "none"},
    )
    assert (statuses([p], pod()) == {"r": "pass"}) is matches


def test_names_namespaces_selector_and_operations():
    def one(resources: dict, **kw):
        r = {
            "name": "r",
            "match": {"any": [{"resources": resources}]},
            "validate": {"pattern": {"metadata": {"name": "?*"}}},
        }
        return statuses([policy(r)], kw.pop("res", pod(name="web-1", labels={"app": "web"})), **kw)

    assert one({"kinds": ["Pod"], "names": ["web-*"]}) == {"r": "pass"}
    assert one({"kinds": ["Pod"], "names": ["db-*"]}) == {}
    assert one({"kinds": ["Pod"], "namespaces": ["def*"]}) == {"r": "pass"}
    assert one({"kinds": ["Pod"], "namespaces": ["prod"]}) == {}
    assert one({"kinds": ["Pod"], "selector": {"matchLabels": {"app": "web"}}}) == {"r": "pass"}
    assert one({"kinds": ["Pod"], "selector": {"matchLabels": {"app": "db"}}}) == {}
    assert one(
        {"kinds": ["Pod"], "namespaceSelector": {"matchLabels": {"env": "prod"}}},
        namespace_labels={"env": "prod"},
    ) == {"r": "pass"}
    assert (
        one(
            {"kinds": ["Pod"], "namespaceSelector": {"matchLabels": {"env": "prod"}}},
            namespace_labels={"env": "dev"},
        )
        == {}
    )
    assert one({"kinds": ["Pod"], "operations": ["UPDATE"]}) == {}
    assert one({"kinds": ["Pod"], "operations": ["UPDATE"]}, operation="UPDATE") == {"r": "pass"}


def test_exclude_any_and_all():
    base = {
        "name": "r",
        "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
        "validate": {"pattern": {"metadata": {"name": "?*"}}},
    }
    ex_any = {
        **base,
        "exclude": {
            "any": [
                {"resources": {"namespaces": ["kube-system"]}},
                {"resources": {"selector": {"matchLabels": {"skip": "yes"}}}},
            ]
        },
    }
    assert statuses([policy(ex_any)], pod(labels={"skip": "yes"})) == {}
    assert statuses([policy(ex_any)], pod(ns="kube-system")) == {}
    assert statuses([policy(ex_any)], pod()) == {"r": "pass"}
    ex_all = {
        **base,
        "exclude": {
            "all": [
                {"resources": {"namespaces": ["kube-system"]}},
                {"resources": {"selector": {"matchLabels": {"skip": "yes"}}}},
            ]
        },
    }
    assert statuses([policy(ex_all)], pod(ns="kube-system")) == {"r": "pass"}
    assert statuses([policy(ex_all)], pod(ns="kube-system", labels={"skip": "yes"})) == {}


def test_subjects_need_user_info():
    r = {
        "name": "r",
        "match": {
            "any": [{"resources": {"kinds": ["Pod"]}, "subjects": [{"kind": "User", "name": "alice"}]}]
        },
        "validate": {"pattern": {"metadata": {"name": "?*"}}},
    }
    assert statuses([policy(r)], pod()) == {}
    assert statuses([policy(r)], pod(), user_info={"username": "alice"}) == {"r": "pass"}
    assert statuses([policy(r)], pod(), user_info={"username": "bob"}) == {}


def test_namespaced_policy_applies_to_its_namespace_only():
    p = policy(REQUIRE_LABEL, kind="Policy", namespace="team-a")
    assert statuses([p], pod(ns="team-a")) == {"check-for-labels": "fail"}
    assert statuses([p], pod(ns="team-b")) == {}


# --- autogen --------------------------------------------------------------------------------


def test_autogen_rules_for_pod_controllers():
    (p,) = load_policies([policy(REQUIRE_LABEL)])
    assert p.rule_names() == [
        "check-for-labels",
        "autogen-check-for-labels",
        "autogen-cronjob-check-for-labels",
    ]
    labelled = [{"name": "c", "image": "x:1"}]
    assert statuses([policy(REQUIRE_LABEL)], deployment(labels={"app.kubernetes.io/name": "a"})) == {
        "autogen-check-for-labels": "pass"
    }
    assert statuses([policy(REQUIRE_LABEL)], deployment()) == {"autogen-check-for-labels": "fail"}
    assert statuses([policy(REQUIRE_LABEL)], cronjob(labelled)) == {
        "autogen-cronjob-check-for-labels": "fail"
    }


def test_autogen_controllers_annotation():
    ann = {"pod-policies.kyverno.io/autogen-controllers": "Deployment"}
    (p,) = load_policies([policy(REQUIRE_LABEL, annotations=ann)])
    assert p.rule_names() == ["check-for-labels", "autogen-check-for-labels"]
    assert statuses([policy(REQUIRE_LABEL, annotations=ann)], cronjob([{"name": "c"}])) == {}
    (none,) = load_policies(
        [policy(REQUIRE_LABEL, annotations={"pod-policies.kyverno.io/autogen-controllers": "none"})]
    )
    assert none.rule_names() == ["check-for-labels"]


def test_no_autogen_with_a_selector_or_mixed_kinds():
    sel = {
        "name": "r",
        "match": {"any": [{"resources": {"kinds": ["Pod"], "selector": {"matchLabels": {"a": "b"}}}}]},
        "validate": {"pattern": {"metadata": {"name": "?*"}}},
    }
    assert load_policies([policy(sel)])[0].rule_names() == ["r"]
    mixed = rule(kinds=["Pod", "Deployment"], validate={"pattern": {"metadata": {"name": "?*"}}})
    assert load_policies([policy(mixed)])[0].rule_names() == ["r"]


def test_autogen_rewrites_variables_in_deny():
    deny = rule(
        "no-host-network",
        validate={
            "deny": {
                "conditions": {
                    "any": [
                        {
                            "key": "{{ request.object.spec.hostNetwork || `false` }}",
                            "operator": "Equals",
                            "value": True,
                        }
                    ]
                }
            }
        },
    )
    assert statuses([policy(deny)], pod(hostNetwork=True)) == {"no-host-network": "fail"}
    d = deployment()
    d["spec"]["template"]["spec"]["hostNetwork"] = True
    assert statuses([policy(deny)], d) == {"autogen-no-host-network": "fail"}
    assert statuses([policy(deny)], deployment()) == {"autogen-no-host-network": "pass"}


# --- deny, preconditions, variables, context ------------------------------------------------


def test_deny_any_all():
    r = rule(
        kinds=["Service"],
        validate={
            "deny": {
                "conditions": {
                    "all": [
                        {
                            "key": "{{ request.object.spec.type }}",
                            "operator": "Equals",
                            "value": "LoadBalancer",
                        },
                        {
                            "key": "{{ request.object.metadata.annotations.internal || '' }}",
                            "operator": "NotEquals",
                            "value": "true",
                        },
                    ]
                }
            }
        },
    )
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s", "namespace": "x"},
        "spec": {"type": "LoadBalancer"},
    }
    assert statuses([policy(r)], svc) == {"r": "fail"}
    svc["metadata"]["annotations"] = {"internal": "true"}
    assert statuses([policy(r)], svc) == {"r": "pass"}


def test_preconditions_skip_and_missing_fields_are_empty_strings():
    r = rule(
        preconditions={
            "all": [
                {
                    "key": "{{ request.object.metadata.labels.tier }}",
                    "operator": "Equals",
                    "value": "frontend",
                }
            ]
        },
        validate={"pattern": {"spec": {"containers": [{"resources": {"limits": {"memory": "?*"}}}]}}},
    )
    assert statuses([policy(r)], pod()) == {"r": "skip"}  # tier label absent -> "" != frontend
    assert statuses([policy(r)], pod(labels={"tier": "frontend"})) == {"r": "fail"}


def test_unresolved_variable_in_a_pattern_is_an_error():
    r = rule(
        validate={"pattern": {"metadata": {"labels": {"app": "{{ request.object.metadata.labels.nope }}"}}}}
    )
    (res,) = evaluate(load_policies([policy(r)]), pod())
    assert res.status == "error"
    assert "variable substitution failed" in res.message


def test_context_variables_and_jmespath_functions():
    r = rule(
        context=[
            {
                "name": "team",
                "variable": {"jmesPath": "request.object.metadata.labels.team", "default": "none"},
            },
            {"name": "limit", "variable": {"value": 3}},
        ],
        validate={
            "deny": {
                "conditions": {
                    "any": [
                        {"key": "{{ to_upper(team) }}", "operator": "Equals", "value": "NONE"},
                        {
                            "key": "{{ length(request.object.spec.containers) }}",
                            "operator": "GreaterThan",
                            "value": "{{ limit }}",
                        },
                    ]
                }
            }
        },
    )
    assert statuses([policy(r)], pod()) == {"r": "fail"}  # default used
    assert statuses([policy(r)], pod(labels={"team": "a"})) == {"r": "pass"}
    many = [{"name": f"c{i}", "image": "x:1"} for i in range(4)]
    assert statuses([policy(r)], pod(labels={"team": "a"}, containers=many)) == {"r": "fail"}


def test_api_call_context_is_an_error_offline_unless_given():
    r = rule(
        context=[{"name": "nsinfo", "apiCall": {"urlPath": "/api/v1/namespaces/{{request.namespace}}"}}],
        validate={
            "deny": {
                "conditions": {
                    "any": [
                        {
                            "key": "{{ nsinfo.metadata.labels.locked || '' }}",
                            "operator": "Equals",
                            "value": "true",
                        }
                    ]
                }
            }
        },
    )
    (res,) = evaluate(load_policies([policy(r)]), pod())
    assert res.status == "error" and "cannot be loaded offline" in res.message
    given = {"nsinfo": {"metadata": {"labels": {"locked": "true"}}}}
    assert statuses([policy(r)], pod(), variables=given) == {"r": "fail"}


# --- foreach --------------------------------------------------------------------------------


def test_foreach_element_and_nested_deny():
    r = rule(
        validate={
            "foreach": [
                {
                    "list": "request.object.spec.containers",
                    "deny": {
                        "conditions": {
                            "any": [{"key": "{{ element.image }}", "operator": "Equals", "value": "*:latest"}]
                        }
                    },
                }
            ]
        }
    )
    assert statuses([policy(r)], pod()) == {"r": "pass"}
    bad = [{"name": "a", "image": "x:1"}, {"name": "b", "image": "y:latest"}]
    assert statuses([policy(r)], pod(containers=bad)) == {"r": "fail"}


def test_foreach_over_a_missing_list_skips():
    r = rule(
        validate={"foreach": [{"list": "request.object.spec.initContainers", "pattern": {"image": "*:*"}}]}
    )
    assert statuses([policy(r)], pod()) == {"r": "skip"}


def test_foreach_preconditions_filter_elements():
    r = rule(
        validate={
            "foreach": [
                {
                    "list": "request.object.spec.containers",
                    "preconditions": {
                        "all": [{"key": "{{ element.name }}", "operator": "Equals", "value": "app"}]
                    },
                    "pattern": {"image": "registry.example.com/*"},
                }
            ]
        }
    )
    ok = [{"name": "app", "image": "registry.example.com/app:1"}, {"name": "side", "image": "busybox"}]
    bad = [{"name": "app", "image": "docker.io/app:1"}]
    assert statuses([policy(r)], pod(containers=ok)) == {"r": "pass"}
    assert statuses([policy(r)], pod(containers=bad)) == {"r": "fail"}
    assert statuses([policy(r)], pod(containers=[{"name": "x", "image": "y"}])) == {"r": "skip"}


# --- podSecurity ----------------------------------------------------------------------------


def test_pod_security_subrule_with_exclusions():
    base = rule("baseline", validate={"podSecurity": {"level": "baseline", "version": "latest"}})
    priv = [{"name": "c", "image": "nginx:1", "securityContext": {"privileged": True}}]
    assert statuses([policy(base)], pod()) == {"baseline": "pass"}
    results = evaluate(load_policies([policy(base)]), pod(containers=priv))
    assert [r.status for r in results] == ["fail"]
    assert "Privileged Containers" in results[0].message
    excluded = rule(
        "baseline",
        validate={
            "podSecurity": {
                "level": "baseline",
                "version": "latest",
                "exclude": [{"controlName": "Privileged Containers", "images": ["nginx:*"]}],
            }
        },
    )
    assert statuses([policy(excluded)], pod(containers=priv)) == {"baseline": "pass"}
    other = [{"name": "c", "image": "busybox", "securityContext": {"privileged": True}}]
    assert statuses([policy(excluded)], pod(containers=other)) == {"baseline": "fail"}
    d = deployment(containers=priv)
    assert statuses([policy(base)], d) == {"autogen-baseline": "fail"}


# --- enforcement ----------------------------------------------------------------------------


def test_enforce_flag_and_overrides():
    enforce = policy(
        REQUIRE_LABEL,
        action="Enforce",
        validationFailureActionOverrides=[{"action": "Audit", "namespaces": ["dev-*"]}],
    )
    (r1,) = evaluate(load_policies([enforce]), pod())
    assert r1.status == "fail" and r1.enforce
    (r2,) = evaluate(load_policies([enforce]), pod(ns="dev-1"))
    assert r2.status == "fail" and not r2.enforce
    (r3,) = evaluate(load_policies([policy(REQUIRE_LABEL)]), pod(), audit_warn=True)
    assert r3.status == "warn" and not r3.enforce


# --- mutation -------------------------------------------------------------------------------


def test_mutate_add_if_absent_keeps_existing_values():
    r = rule(
        mutate={
            "patchStrategicMerge": {
                "spec": {"securityContext": {"+(runAsNonRoot)": True, "+(runAsUser)": 1000}}
            }
        }
    )
    out, results = mutate(load_policies([policy(r)]), pod(securityContext={"runAsUser": 5}))
    assert out["spec"]["securityContext"] == {"runAsUser": 5, "runAsNonRoot": True}
    assert [x.status for x in results] == ["pass"]
    again, results2 = mutate(load_policies([policy(r)]), out)
    assert again == out and [x.status for x in results2] == ["skip"]  # no patches applied


def test_mutate_conditional_anchor_in_a_list_targets_matching_containers():
    # docs, "Mutate" > "Conditional logic using anchors": set imagePullPolicy on :latest images
    r = rule(
        mutate={
            "patchStrategicMerge": {
                "spec": {"containers": [{"(image)": "*:latest", "imagePullPolicy": "IfNotPresent"}]}
            }
        }
    )
    containers = [{"name": "a", "image": "nginx:latest"}, {"name": "b", "image": "redis:7"}]
    out, _ = mutate(load_policies([policy(r)]), pod(containers=containers))
    assert out["spec"]["containers"] == [
        {"name": "a", "image": "nginx:latest", "imagePullPolicy": "IfNotPresent"},
        {"name": "b", "image": "redis:7"},
    ]


def test_mutate_conditional_anchor_not_met_skips():
    r = rule(
        mutate={
            "patchStrategicMerge": {
                "metadata": {"(labels)": {"env": "prod"}, "annotations": {"tier": "gold"}}
            }
        }
    )
    out, results = mutate(load_policies([policy(r)]), pod(labels={"env": "dev"}))
    assert "annotations" not in out["metadata"] and [x.status for x in results] == ["skip"]
    out, results = mutate(load_policies([policy(r)]), pod(labels={"env": "prod"}))
    assert out["metadata"]["annotations"] == {"tier": "gold"}


def test_mutate_json6902():
    r = rule(
        mutate={
            "patchesJson6902": "- op: add\n  path: /metadata/labels/owner\n"
            "  value: '{{ request.namespace }}'\n"
            "- op: remove\n  path: /spec/containers/0/image\n"
        }
    )
    out, results = mutate(load_policies([policy(r)]), pod())
    assert out["metadata"]["labels"] == {"owner": "default"}
    assert "image" not in out["spec"]["containers"][0]
    broken = rule(mutate={"patchesJson6902": "- op: remove\n  path: /spec/nope\n"})
    _, results = mutate(load_policies([policy(broken)]), pod())
    assert [x.status for x in results] == ["error"]


def test_mutate_global_anchor_in_a_list():
    # docs, "Mutate" > "Global anchor": annotate Pods that have an emptyDir volume
    r = rule(
        mutate={
            "patchStrategicMerge": {
                "metadata": {"annotations": {"+(cluster-autoscaler.kubernetes.io/safe-to-evict)": "true"}},
                "spec": {"volumes": [{"<(emptyDir)": {}}]},
            }
        }
    )
    with_empty = pod(volumes=[{"name": "cfg", "configMap": {"name": "x"}}, {"name": "tmp", "emptyDir": {}}])
    out, results = mutate(load_policies([policy(r)]), with_empty)
    assert out["metadata"]["annotations"] == {"cluster-autoscaler.kubernetes.io/safe-to-evict": "true"}
    assert out["spec"]["volumes"] == with_empty["spec"]["volumes"]  # the anchored list is not merged
    assert [x.status for x in results] == ["pass"]
    out, results = mutate(
        load_policies([policy(r)]), pod(volumes=[{"name": "cfg", "configMap": {"name": "x"}}])
    )
    assert "annotations" not in out["metadata"] and [x.status for x in results] == ["skip"]


def test_mutate_add_if_absent_per_container():
    r = rule(
        mutate={
            "patchStrategicMerge": {
                "spec": {"containers": [{"(name)": "*", "+(imagePullPolicy)": "IfNotPresent"}]}
            }
        }
    )
    containers = [{"name": "a", "image": "x"}, {"name": "b", "image": "y", "imagePullPolicy": "Always"}]
    out, _ = mutate(load_policies([policy(r)]), pod(containers=containers))
    assert [c.get("imagePullPolicy") for c in out["spec"]["containers"]] == ["IfNotPresent", "Always"]


def test_mutate_merges_lists_on_the_api_merge_key():
    r = rule(
        mutate={
            "patchStrategicMerge": {
                "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80, "protocol": "TCP"}]}]}
            }
        }
    )
    c = [
        {"name": "c", "image": "x", "ports": [{"containerPort": 80, "name": "http"}, {"containerPort": 443}]}
    ]
    out, _ = mutate(load_policies([policy(r)]), pod(containers=c))
    assert out["spec"]["containers"][0]["ports"] == [
        {"containerPort": 80, "name": "http", "protocol": "TCP"},
        {"containerPort": 443},
    ]


WEIRD = [None, 1, "x", [], {}, [1], {"a": None}, "{{ nope }}", {"any": "x"}, {"all": [1]}, [{"key": 1}], True]


def _weird_rules():
    match = {"any": [{"resources": {"kinds": ["Pod"]}}]}
    ok = {"pattern": {"metadata": {"name": "?*"}}}
    for w in WEIRD:
        for body in ("pattern", "anyPattern", "deny", "foreach", "podSecurity", "cel"):
            yield {"name": "r", "match": match, "validate": {body: w}}
        yield {"name": "r", "match": match, "preconditions": w, "validate": ok}
        yield {"name": "r", "match": match, "context": w, "validate": ok}
        yield {"name": "r", "match": match, "exclude": w, "validate": ok}
        for body in ("patchStrategicMerge", "patchesJson6902", "foreach"):
            yield {"name": "r", "match": match, "mutate": {body: w}}


def test_malformed_rules_never_raise():
    for r in _weird_rules():
        errors: list[str] = []
        policies = load_policies([policy(r)], errors)
        for res in evaluate(policies, pod()):
            assert res.status in ("pass", "fail", "skip", "error")
        mutated, results = mutate(policies, pod())
        assert isinstance(mutated, dict)
        assert all(x.status in ("pass", "skip", "error") for x in results)


def test_images_variable():
    # docs, "Variables" > "Variables from container images" (kyverno pkg/utils/image/infos.go)
    r = rule(
        validate={
            "deny": {
                "conditions": {
                    "any": [
                        {
                            "key": "{{ images.containers.*.registry }}",
                            "operator": "AnyNotIn",
                            "value": ["ghcr.io"],
                        }
                    ]
                }
            }
        }
    )
    assert statuses([policy(r)], pod(containers=[{"name": "a", "image": "ghcr.io/x/y:1"}])) == {"r": "pass"}
    assert statuses([policy(r)], pod(containers=[{"name": "a", "image": "nginx"}])) == {"r": "fail"}
    from kubeward.policy.kyverno.engine import base_context

    info = base_context(pod(containers=[{"name": "a", "image": "nginx"}])).data["images"]["containers"]["a"]
    assert info == {
        "registry": "docker.io",
        "path": "library/nginx",
        "name": "nginx",
        "tag": "latest",
        "digest": "",
        "reference": "docker.io/library/nginx:latest",
        "referenceWithTag": "docker.io/nginx:latest",
    }


def test_mutate_foreach_per_container():
    r = rule(
        mutate={
            "foreach": [
                {
                    "list": "request.object.spec.containers",
                    "patchStrategicMerge": {
                        "spec": {
                            "containers": [
                                {"name": "{{ element.name }}", "securityContext": {"+(runAsNonRoot)": True}}
                            ]
                        }
                    },
                }
            ]
        }
    )
    containers = [
        {"name": "a", "image": "x"},
        {"name": "b", "image": "y", "securityContext": {"runAsNonRoot": False}},
    ]
    out, results = mutate(load_policies([policy(r)]), pod(containers=containers))
    assert [c.get("securityContext") for c in out["spec"]["containers"]] == [
        {"runAsNonRoot": True},
        {"runAsNonRoot": False},
    ]
    assert [x.status for x in results] == ["pass"]


def test_cel_subrule():
    # docs, "Validate Rules" > "Common Expression Language (CEL)": the check-deployment-replicas example
    r = rule(
        kinds=["Deployment"],
        validate={
            "cel": {
                "variables": [{"name": "limit", "expression": "5"}],
                "expressions": [
                    {
                        "expression": "object.spec.replicas <= variables.limit",
                        "message": "at most 5 replicas",
                    },
                    {
                        "expression": "!has(object.spec.template.spec.hostNetwork)",
                        "messageExpression": "'hostNetwork is set on ' + object.metadata.name",
                    },
                ],
            }
        },
    )
    d = deployment()
    d["spec"]["replicas"] = 3
    assert statuses([policy(r)], d) == {"r": "pass"}
    d["spec"]["replicas"] = 9
    d["spec"]["template"]["spec"]["hostNetwork"] = True
    (res,) = evaluate(load_policies([policy(r)]), d)
    assert res.status == "fail"
    assert res.message == "at most 5 replicas; hostNetwork is set on d"
    broken = rule(
        kinds=["Deployment"], validate={"cel": {"expressions": [{"expression": "object.spec.replicas +"}]}}
    )
    (res,) = evaluate(load_policies([policy(broken)]), d)
    assert res.status == "error" and "compilation failed" in res.message
    params = rule(
        kinds=["Deployment"],
        validate={"cel": {"paramKind": {"kind": "ConfigMap"}, "expressions": [{"expression": "true"}]}},
    )
    (res,) = evaluate(load_policies([policy(params)]), d)
    assert res.status == "error" and "offline" in res.message


def test_a_failing_function_in_a_deny_condition_is_a_rule_error_not_a_pass():
    """Upstream forgives a missing key in conditions, not a failing call (divide by zero):
    the rule is an error, never a silent pass."""
    failing = rule(
        validate={
            "message": "m",
            "deny": {"conditions": {"any": [
                {"key": "{{ divide(`1`, `0`) }}", "operator": "Equals", "value": 1}]}},
        }
    )
    missing = rule(
        name="missing",
        preconditions={"all": [{"key": "{{ request.object.metadata.labels.absent }}",
                                 "operator": "Equals", "value": ""}]},
        validate={"message": "m", "pattern": {"metadata": {"name": "?*"}}},
    )
    assert statuses([policy(failing, missing)], pod()) == {"r": "error", "missing": "pass"}
