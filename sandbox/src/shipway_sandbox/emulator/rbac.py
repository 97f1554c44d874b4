"""RBAC decisions from the Roles, ClusterRoles and bindings stored in the emulator.

The rules of kube-apiserver's authorizer chain ``system:masters`` → RBAC, as in
``plugin/pkg/auth/authorizer/rbac`` and ``pkg/apis/rbac/v1/evaluation_helpers.go``:

* a member of ``system:masters`` is allowed everything, RBAC is not consulted (reason ``""``);
* ClusterRoleBindings grant their ClusterRole's rules everywhere (cluster-scoped and in every namespace);
  a RoleBinding grants the rules of its Role (same namespace) or of a ClusterRole, in its own namespace only;
* subjects: ``User`` by name, ``Group`` by membership, ``ServiceAccount`` by the username
  ``system:serviceaccount:NS:NAME`` (NS defaults to the RoleBinding's namespace; a ClusterRoleBinding's
  ServiceAccount subject without a namespace matches nobody);
* a rule matches when its verbs, apiGroups, resources and resourceNames all match: ``*`` for verbs, groups and
  resources; ``resource/subresource`` exactly (``pipelines`` does not cover ``pipelines/status``) or
  ``*/subresource``; an empty ``resourceNames`` matches any name, else the request must name one of them (so
  ``list``/``create`` without a name never match a rule with resourceNames);
* non-resource requests (``/healthz``, ``/apis/...``) match ``nonResourceURLs`` exactly, ``*``, or a
  ``prefix*``;
* the allow reason is ``RBAC: allowed by ClusterRoleBinding "b" of ClusterRole "r" to User "u"``; a denial
  has no reason unless a binding names a missing role (``RBAC: clusterrole.rbac.authorization.k8s.io "x" not
  found``). RBAC never denies explicitly, it has no opinion.

ClusterRoles with an ``aggregationRule`` get the rules of the ClusterRoles its selectors match (what the
aggregation controller would write into them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from shipway_sandbox.emulator import objects, resources
from shipway_sandbox.emulator.access import Decision, RequestAttributes, UserInfo
from shipway_sandbox.emulator.store import ObjectStore
from shipway_sandbox.emulator.users import MASTERS, SERVICE_ACCOUNT_PREFIX

Rule = Mapping[str, Any]
RBAC_GROUP = resources.RBAC
_SPECS = {spec.plural: spec for spec in resources.BUILTIN_RESOURCES if spec.group == RBAC_GROUP}
ROLES, ROLEBINDINGS = _SPECS["roles"], _SPECS["rolebindings"]
CLUSTERROLES, CLUSTERROLEBINDINGS = _SPECS["clusterroles"], _SPECS["clusterrolebindings"]


# -- rule matching (pure) ------------------------------------------------------------------------------
def _strings(rule: Rule, key: str) -> list[str]:
    value = rule.get(key) or []
    return [str(v) for v in value] if isinstance(value, list) else []


def verb_matches(rule: Rule, verb: str) -> bool:
    return any(v in ("*", verb) for v in _strings(rule, "verbs"))


def api_group_matches(rule: Rule, group: str) -> bool:
    return any(g in ("*", group) for g in _strings(rule, "apiGroups"))


def resource_matches(rule: Rule, combined: str, subresource: str | None) -> bool:
    for wanted in _strings(rule, "resources"):
        if wanted in ("*", combined):
            return True
        if subresource and wanted == f"*/{subresource}":
            return True
    return False


def resource_name_matches(rule: Rule, name: str | None) -> bool:
    names = _strings(rule, "resourceNames")
    return not names or (name or "") in names


def non_resource_url_matches(rule: Rule, path: str) -> bool:
    for url in _strings(rule, "nonResourceURLs"):
        if url in ("*", path):
            return True
        if url.endswith("*") and path.startswith(url.rstrip("*")):
            return True
    return False


def rule_allows(attributes: RequestAttributes, rule: Rule) -> bool:
    if attributes.is_resource_request:
        combined = attributes.resource + (f"/{attributes.subresource}" if attributes.subresource else "")
        return (verb_matches(rule, attributes.verb) and api_group_matches(rule, attributes.group)
                and resource_matches(rule, combined, attributes.subresource)
                and resource_name_matches(rule, attributes.name))
    return verb_matches(rule, attributes.verb) and non_resource_url_matches(rule, attributes.path or "")


def subject_applies(user: UserInfo, subject: Mapping[str, Any], binding_namespace: str) -> bool:
    kind, name = subject.get("kind"), str(subject.get("name") or "")
    if kind == "User":
        return user.username == name
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        namespace = str(subject.get("namespace") or binding_namespace)
        if not namespace:
            return False
        return user.username == f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}"
    return False


def describe_subject(subject: Mapping[str, Any], binding_namespace: str) -> str:
    kind, name = str(subject.get("kind") or ""), str(subject.get("name") or "")
    if kind == "ServiceAccount":
        return f'{kind} "{name}/{subject.get("namespace") or binding_namespace}"'
    return f'{kind} "{name}"'


# -- label selectors of aggregation rules ------------------------------------------------------------
def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A metav1.LabelSelector (matchLabels and matchExpressions); an empty selector matches nothing here,
    as the aggregation controller skips it."""
    match_labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    if not match_labels and not expressions:
        return False
    if any(labels.get(k) != v for k, v in match_labels.items()):
        return False
    for expression in expressions:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


# -- the authorizer ------------------------------------------------------------------------------------
Visitor = Callable[[str, Rule | None, str | None], bool]  # (source, rule, error) -> continue?
Entry = tuple[str, Rule | None, str | None]  # what a visitor is shown: (source, rule, error)
CACHE_SIZE = 4096  # users x namespaces whose applying rules are kept


class RbacAuthorizer:
    """An :class:`~shipway_sandbox.emulator.access.Authorizer` over the emulator's object store."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    async def __call__(self, user: UserInfo, attributes: RequestAttributes) -> Decision:
        return self.decide(user, attributes)

    def decide(self, user: UserInfo, attributes: RequestAttributes) -> Decision:
        if MASTERS in user.groups:
            return Decision(True, "")
        allowed_by: list[str] = []
        problems: list[str] = []

        def visit(source: str, rule: Rule | None, error: str | None) -> bool:
            if rule is not None and rule_allows(attributes, rule):
                allowed_by.append(source)
                return False
            if error is not None:
                problems.append(error)
            return True

        self.visit_rules(user, attributes.namespace or "", visit)
        if allowed_by:
            return Decision(True, f"RBAC: allowed by {allowed_by[0]}")
        if not problems:
            return Decision(False, "")
        return Decision(False, "RBAC: " + (problems[0] if len(problems) == 1 else f"[{', '.join(problems)}]"))

    def rules_for(self, user: UserInfo, namespace: str) -> tuple[list[Rule], list[str]]:
        """Every rule that applies to ``user`` in ``namespace`` (``""``: cluster scope), and the errors met
        resolving them (a binding to a missing role): ``DefaultRuleResolver.RulesFor``."""
        rules: list[Rule] = []
        problems: list[str] = []

        def visit(_source: str, rule: Rule | None, error: str | None) -> bool:
            if rule is not None:
                rules.append(rule)
            if error is not None:
                problems.append(error)
            return True

        self.visit_rules(user, namespace, visit)
        return rules, problems

    def visit_rules(self, user: UserInfo, namespace: str, visitor: Visitor) -> None:
        """Every rule that applies to ``user`` in ``namespace`` (``""``: cluster scope), until ``visitor``
        answers False (``DefaultRuleResolver.VisitRulesFor``)."""
        for source, rule, error in self._applying(user, namespace):
            if not visitor(source, rule, error):
                return

    def _applying(self, user: UserInfo, namespace: str) -> list[Entry]:
        """What :meth:`visit_rules` visits, in order: kept per user and namespace while no binding or role that
        could change it is written (the roles and bindings of the namespace, every cluster role and binding)."""
        store = self._store
        stamp = (store.generation(CLUSTERROLEBINDINGS), store.generation(CLUSTERROLES),
                 store.generation(ROLEBINDINGS, namespace) if namespace else 0,
                 store.generation(ROLES, namespace) if namespace else 0)
        cache: dict[tuple[str, tuple[str, ...], str], tuple[tuple[int, ...], list[Entry]]] = \
            store.derived.setdefault("rbac", {})
        key = (user.username, tuple(user.groups), namespace)
        kept = cache.get(key)
        if kept is not None and kept[0] == stamp:
            return kept[1]
        entries: list[Entry] = []
        for binding in store.scan(CLUSTERROLEBINDINGS):
            entries.extend(self._binding_entries(user, binding, ""))
        if namespace:
            for binding in store.scan(ROLEBINDINGS, namespace):
                entries.extend(self._binding_entries(user, binding, namespace))
        if len(cache) >= CACHE_SIZE:
            del cache[next(iter(cache))]
        cache[key] = (stamp, entries)
        return entries

    def _binding_entries(self, user: UserInfo, binding: objects.Body, namespace: str) -> list[Entry]:
        subjects = binding.get("subjects") or []
        subject = next((s for s in subjects if isinstance(s, dict) and subject_applies(user, s, namespace)), None)
        if subject is None:
            return []
        name = str(objects.meta_of(binding).get("name"))
        ref = binding.get("roleRef") or {}
        ref_kind, ref_name = str(ref.get("kind") or ""), str(ref.get("name") or "")
        kind_of_binding = "RoleBinding" if namespace else "ClusterRoleBinding"
        shown_name = f"{name}/{namespace}" if namespace else name
        source = (f'{kind_of_binding} "{shown_name}" of {ref_kind} "{ref_name}" to '
                  f"{describe_subject(subject, namespace)}")
        rules, error = self.role_rules(ref_kind, ref_name, namespace)
        if error is not None:
            return [(source, None, error)]
        return [(source, rule, None) for rule in rules]

    def role_rules(self, kind: str, name: str, namespace: str) -> tuple[Sequence[Rule], str | None]:
        """The rules a roleRef points at (``GetRoleReferenceRules``), or the error the API server reports."""
        if kind == "Role" and namespace:
            role = self._store.get(ROLES, namespace, name)
            if role is None:
                return (), f'role.{RBAC_GROUP} "{name}" not found'
            return _rules_of(role), None
        if kind == "ClusterRole":
            role = self._store.get(CLUSTERROLES, None, name)
            if role is None:
                return (), f'clusterrole.{RBAC_GROUP} "{name}" not found'
            return list(self._cluster_role_rules(role)), None
        return (), f'unsupported role reference kind: "{kind}"'

    def _cluster_role_rules(self, role: objects.Body) -> Iterator[Rule]:
        yield from _rules_of(role)
        aggregation = role.get("aggregationRule") or {}
        selectors = [s for s in aggregation.get("clusterRoleSelectors") or [] if isinstance(s, dict)]
        if not selectors:
            return
        own = objects.meta_of(role).get("name")
        for other in self._store.scan(CLUSTERROLES):
            labels = objects.meta_of(other).get("labels") or {}
            if objects.meta_of(other).get("name") != own and any(selector_matches(s, labels) for s in selectors):
                yield from _rules_of(other)


def _rules_of(role: objects.Body) -> list[Rule]:
    return [r for r in role.get("rules") or [] if isinstance(r, dict)]


# -- the bootstrap policy of a real cluster (a subset) -----------------------------------------------------
_BOOTSTRAP_LABELS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
_AUTOUPDATE = {"rbac.authorization.kubernetes.io/autoupdate": "true"}


def _cluster_role(name: str, rules: list[dict[str, Any]]) -> objects.Body:
    return {"apiVersion": f"{RBAC_GROUP}/v1", "kind": "ClusterRole",
            "metadata": {"name": name, "labels": dict(_BOOTSTRAP_LABELS), "annotations": dict(_AUTOUPDATE)},
            "rules": rules}


def _cluster_binding(name: str, role: str, groups: list[str]) -> objects.Body:
    return {"apiVersion": f"{RBAC_GROUP}/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": dict(_BOOTSTRAP_LABELS), "annotations": dict(_AUTOUPDATE)},
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role},
            "subjects": [{"apiGroup": RBAC_GROUP, "kind": "Group", "name": g} for g in groups]}


def bootstrap_policy() -> list[tuple[resources.ResourceSpec, objects.Body]]:
    """The default roles and bindings every kube-apiserver creates that matter here: ``cluster-admin``
    (bound to ``system:masters``), ``system:discovery``, ``system:basic-user`` and
    ``system:public-info-viewer`` (discovery, self-reviews and health for every user), and
    ``system:auth-delegator`` (TokenReview and SubjectAccessReview, bound to nobody)."""
    authenticated, unauthenticated = "system:authenticated", "system:unauthenticated"
    return [
        (CLUSTERROLES, _cluster_role("cluster-admin", [
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
            {"nonResourceURLs": ["*"], "verbs": ["*"]}])),
        (CLUSTERROLES, _cluster_role("system:discovery", [
            {"nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi",
                                 "/openapi/*", "/readyz", "/version", "/version/"], "verbs": ["get"]}])),
        (CLUSTERROLES, _cluster_role("system:basic-user", [
            {"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews",
                                                                  "selfsubjectrulesreviews"],
             "verbs": ["create"]},
            {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"], "verbs": ["create"]}])),
        (CLUSTERROLES, _cluster_role("system:public-info-viewer", [
            {"nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"], "verbs": ["get"]}])),
        (CLUSTERROLES, _cluster_role("system:auth-delegator", [
            {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]},
            {"apiGroups": ["authorization.k8s.io"], "resources": ["subjectaccessreviews"], "verbs": ["create"]}])),
        (CLUSTERROLEBINDINGS, _cluster_binding("cluster-admin", "cluster-admin", [MASTERS])),
        (CLUSTERROLEBINDINGS, _cluster_binding("system:discovery", "system:discovery", [authenticated])),
        (CLUSTERROLEBINDINGS, _cluster_binding("system:basic-user", "system:basic-user", [authenticated])),
        (CLUSTERROLEBINDINGS, _cluster_binding("system:public-info-viewer", "system:public-info-viewer",
                                               [authenticated, unauthenticated])),
    ]
