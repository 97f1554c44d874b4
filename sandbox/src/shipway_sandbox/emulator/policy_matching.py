"""Which writes a ValidatingAdmissionPolicy's ``matchConstraints`` (or a binding's ``matchResources``) select,
as kube-apiserver's generic policy ``matching.Matcher`` decides (pure over the store):

1. ``namespaceSelector`` against the labels of the object's namespace (of the Namespace object itself on
   its create and update; cluster-scoped objects always pass); an empty selector matches everything;
2. ``objectSelector`` against the labels of the new or the old object;
3. ``excludeResourceRules``: a matching one excludes the request;
4. ``resourceRules`` (operations, API groups and versions, ``resource[/subresource]`` with ``*``, scope, and
   ``resourceNames``), or every request when there are none (a binding's ``matchResources`` may have none);
   with ``matchPolicy: Equivalent`` a rule for another served version of the same resource matches too, and
   the policy is then evaluated for that version (``request.kind``/``resource`` and the objects' apiVersion).

A namespace that does not exist is a 404 only for a policy that matches otherwise, as kube-apiserver answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shipway_sandbox.emulator import errors, objects, resources, webhooks
from shipway_sandbox.emulator.admission import Attributes
from shipway_sandbox.emulator.resources import Catalogue, ResourceSpec
from shipway_sandbox.emulator.store import ObjectStore


def matched_spec(match: Mapping[str, Any], attributes: Attributes, store: ObjectStore,
                 catalogue: Catalogue) -> ResourceSpec | None:
    """The version the request is matched as (the request's own, or an equivalent one), None if no match."""
    in_namespace = _namespace_matches(match.get("namespaceSelector") or {}, attributes, store)
    if in_namespace is False:
        return None
    selector = match.get("objectSelector") or {}
    labelled = [objects.labels_of(b) for b in (attributes.object, attributes.old_object) if b is not None]
    if not _empty(selector) and not any(webhooks.selector_matches(selector, labels) for labels in labelled):
        return None
    policy = str(match.get("matchPolicy") or "Equivalent")
    if _rules_match(_rules(match.get("excludeResourceRules")), policy, attributes, catalogue) is not None:
        return None
    rules = _rules(match.get("resourceRules"))
    found = _rules_match(rules, policy, attributes, catalogue) if rules else attributes.spec
    if found is None:
        return None
    if isinstance(in_namespace, errors.ApiError):
        raise in_namespace
    return found


def _rules(value: Any) -> list[Mapping[str, Any]]:
    return [rule for rule in value if isinstance(rule, dict)] if isinstance(value, list) else []


def _empty(selector: Mapping[str, Any]) -> bool:
    return not selector.get("matchLabels") and not selector.get("matchExpressions")


def _namespace_matches(selector: Mapping[str, Any], attributes: Attributes,
                       store: ObjectStore) -> bool | errors.ApiError:
    is_namespace = attributes.spec.key == resources.NAMESPACES.key
    if _empty(selector) or (not attributes.namespace and not is_namespace):
        return True
    if is_namespace and not attributes.subresource and attributes.operation in ("CREATE", "UPDATE"):
        labels = objects.labels_of(attributes.object or {})
    else:
        namespace = store.get(resources.NAMESPACES, None, str(attributes.namespace))
        if namespace is None:
            return errors.not_found("namespaces", str(attributes.namespace))
        labels = objects.labels_of(namespace)
    return webhooks.selector_matches(selector, labels)


def _rules_match(rules: list[Mapping[str, Any]], policy: str, attributes: Attributes,
                 catalogue: Catalogue) -> ResourceSpec | None:
    """``matchesResourceRules``: the request's own version first, then (Equivalent) the others by priority."""
    for rule in rules:
        if _rule_matches(rule, attributes, attributes.spec):
            return attributes.spec
    if policy != "Equivalent":
        return None
    request = attributes.spec
    equivalents = sorted((s for s in catalogue if s.group == request.group and s.plural == request.plural
                          and s.version != request.version), key=lambda s: resources.version_priority(s.version))
    for rule in rules:
        for spec in equivalents:
            if _rule_matches(rule, attributes, spec):
                return spec
    return None


def _rule_matches(rule: Mapping[str, Any], attributes: Attributes, spec: ResourceSpec) -> bool:
    if not webhooks.rule_matches(rule, operation=attributes.operation, group=spec.group, version=spec.version,
                                 resource=spec.plural, subresource=attributes.subresource,
                                 namespace=attributes.namespace):
        return False
    names = rule.get("resourceNames") or []
    return not names or attributes.name in names
