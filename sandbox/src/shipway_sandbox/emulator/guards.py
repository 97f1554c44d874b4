"""The authorization checks a write meets after RBAC let the request in: the RBAC storage's escalation and bind
checks, and the ``OwnerReferencesPermissionEnforcement`` admission plugin.

Both ask the installed authorizer (none, as ``--authorization-mode=AlwaysAllow``: nothing to check) about the
user who made the request, and run on dry runs too (they are part of the storage and of admission).

**Escalation and bind** (``pkg/registry/rbac/{role,clusterrole,rolebinding,clusterrolebinding}/policybased``,
``pkg/registry/rbac/validation/rule.go``): a member of ``system:masters`` may write any Role or binding.
Anyone else may create or update a Role or ClusterRole only if allowed the verb ``escalate`` on it, or if they
hold every permission it grants (where it grants them: in its namespace, or cluster-wide); and a RoleBinding or
ClusterRoleBinding only if allowed the verb ``bind`` on the role it refers to, or if they hold every permission
of that role in the binding's namespace (cluster-wide for a ClusterRoleBinding). An update that changes only
``ownerReferences``, ``finalizers`` or the deletion fields is not checked. A refusal is 403 on the RBAC object::

    roles.rbac.authorization.k8s.io "r" is forbidden: user "u" (groups=["g" "system:authenticated"]) is attempting
    to grant RBAC permissions not currently held:
    {APIGroups:[""], Resources:["secrets"], Verbs:["get"]}

(``CompactString`` of each missing permission, one per line, sorted; ``; resolution errors: [...]`` when some of
the user's own bindings name a missing role). A binding to a role that does not exist is refused with
``role.rbac.authorization.k8s.io "x" not found`` unless ``bind`` is allowed.

**OwnerReferencesPermissionEnforcement** (``plugin/pkg/admission/gc``; off by default in kube-apiserver, on in
OpenShift and hardened clusters: :attr:`Cluster.owner_references_permission_enforcement`): changing an
object's ``ownerReferences`` by an update needs ``delete`` on the object (``cannot set an ownerRef on a resource
you can't delete``), and each reference that newly has ``blockOwnerDeletion: true`` needs ``update`` on the
owner's ``finalizers`` subresource (``cannot set blockOwnerDeletion if an ownerReference refers to a resource
you can't set finalizers on: , <nil>``), both 403.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from shipway_sandbox.emulator import errors, objects, planning, rbac, resources
from shipway_sandbox.emulator.access import Authorizer, Decision, RequestAttributes, UserInfo
from shipway_sandbox.emulator.users import MASTERS

if TYPE_CHECKING:
    from shipway_sandbox.emulator.cluster import Cluster

RBAC = resources.RBAC
_ROLE_KINDS = {"roles": "Role", "clusterroles": "ClusterRole"}
_BINDINGS = frozenset({"rolebindings", "clusterrolebindings"})
_GC_FIELDS = ("ownerReferences", "finalizers", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds",
              "resourceVersion", "managedFields", "generation")
Rule = Mapping[str, Any]


async def check(cluster: Cluster, write: planning.Write, user: UserInfo) -> None:
    """Raise the 403 kube-apiserver answers for ``write`` by ``user``, if any."""
    authorizer = cluster.authorizer()
    if authorizer is None or write.operation == "DELETE" or write.new is None:
        return
    if write.spec.group == RBAC and not write.subresource:
        await _check_escalation(cluster, authorizer, write, user)
    if cluster.owner_references_permission_enforcement:
        await _check_owner_references(cluster, authorizer, write, user)


async def _allowed(authorizer: Authorizer, user: UserInfo, attributes: RequestAttributes) -> Decision:
    decision = await authorizer(user, attributes)
    return decision if isinstance(decision, Decision) else Decision(bool(decision))


# -- RBAC escalation and bind ------------------------------------------------------------------------------------
async def _check_escalation(cluster: Cluster, authorizer: Authorizer, write: planning.Write, user: UserInfo) -> None:
    plural = write.spec.plural
    if MASTERS in user.groups:  # rbacregistry.EscalationAllowed
        return
    assert write.new is not None
    if write.old is not None and _only_gc_fields(write.new, write.old):
        return
    namespace = write.namespace or ""
    name = str(objects.meta_of(write.new).get("name") or "")
    request_name = write.name if write.operation == "UPDATE" else None
    if plural in _ROLE_KINDS:
        escalate = RequestAttributes(verb="escalate", group=RBAC, version="*", resource=plural, subresource=None,
                                     namespace=namespace or None, name=request_name)
        if await _allowed(authorizer, user, escalate):
            return
        rules = [r for r in write.new.get("rules") or [] if isinstance(r, dict)]
        _confirm_no_escalation(cluster, user, namespace, rules, plural, name)
    elif plural in _BINDINGS:
        ref = write.new.get("roleRef") or {}
        kind, role = str(ref.get("kind") or ""), str(ref.get("name") or "")
        if kind in ("Role", "ClusterRole"):
            bind = RequestAttributes(verb="bind", group=str(ref.get("apiGroup") or ""), version="",
                                     resource="roles" if kind == "Role" else "clusterroles", subresource=None,
                                     namespace=namespace or None, name=role)
            if await _allowed(authorizer, user, bind):
                return
        role_rules, error = rbac.RbacAuthorizer(cluster.store).role_rules(kind, role, namespace)
        if error is not None:
            raise _forbidden(plural, name, error)
        _confirm_no_escalation(cluster, user, namespace, role_rules, plural, name)


def _only_gc_fields(new: objects.Body, old: objects.Body) -> bool:
    """``IsOnlyMutatingGCFields``: the objects are equal once the GC's metadata fields are set aside."""
    def stripped(body: objects.Body) -> objects.Body:
        meta = {k: v for k, v in objects.meta_of(body).items() if k not in _GC_FIELDS}
        return {**body, "metadata": meta}

    return stripped(new) == stripped(old)


def _forbidden(plural: str, name: str, detail: str) -> errors.Forbidden:
    qualified = f"{plural}.{RBAC}"
    message = f'{qualified} "{name}" is forbidden: {detail}' if name else f"{qualified} is forbidden: {detail}"
    return errors.Forbidden(message, details=errors.details(plural, name, RBAC))


def _confirm_no_escalation(cluster: Cluster, user: UserInfo, namespace: str, rules: Sequence[Rule], plural: str,
                           name: str) -> None:
    owned, problems = rbac.RbacAuthorizer(cluster.store).rules_for(user, namespace)
    missing = uncovered(owned, rules)
    if not missing:
        return
    described = sorted(set(compact_string(rule) for rule in compact_rules(missing)))
    groups = " ".join(json.dumps(g) for g in user.groups)
    detail = (f'user "{user.username}" (groups=[{groups}]) is attempting to grant RBAC permissions not currently '
              "held:\n" + "\n".join(described))
    if problems:
        detail += f"; resolution errors: [{' '.join(problems)}]"
    raise _forbidden(plural, name, detail)


def _strings(rule: Rule, key: str) -> list[str]:
    value = rule.get(key) or []
    return [str(v) for v in value] if isinstance(value, list) else []


def breakdown(rule: Rule) -> list[dict[str, list[str]]]:
    """``BreakdownRule``: one rule per group, resource, verb (and name), or per non-resource URL and verb."""
    result: list[dict[str, list[str]]] = []
    names = _strings(rule, "resourceNames")
    for group in _strings(rule, "apiGroups"):
        for resource in _strings(rule, "resources"):
            for verb in _strings(rule, "verbs"):
                base = {"apiGroups": [group], "resources": [resource], "verbs": [verb]}
                result += [{**base, "resourceNames": [n]} for n in names] if names else [base]
    for url in _strings(rule, "nonResourceURLs"):
        for verb in _strings(rule, "verbs"):
            result.append({"nonResourceURLs": [url], "verbs": [verb]})
    return result


def _has_all(owned: list[str], wanted: list[str]) -> bool:
    return all(w in owned for w in wanted)


def _resources_cover(owned: list[str], wanted: list[str]) -> bool:
    if "*" in owned or _has_all(owned, wanted):
        return True
    for resource in wanted:
        if resource in owned:
            continue
        if "/" not in resource or f"*/{resource.split('/', 1)[1]}" not in owned:
            return False
    return True


def _url_covers(owned: str, wanted: str) -> bool:
    return owned == wanted or (owned.endswith("*") and wanted.startswith(owned.rstrip("*")))


def rule_covers(owner: Rule, sub: Rule) -> bool:
    """``ruleCovers``."""
    verbs = "*" in _strings(owner, "verbs") or _has_all(_strings(owner, "verbs"), _strings(sub, "verbs"))
    groups = "*" in _strings(owner, "apiGroups") or _has_all(_strings(owner, "apiGroups"), _strings(sub, "apiGroups"))
    resources_ok = _resources_cover(_strings(owner, "resources"), _strings(sub, "resources"))
    urls = all(any(_url_covers(o, w) for o in _strings(owner, "nonResourceURLs"))
               for w in _strings(sub, "nonResourceURLs"))
    owner_names, sub_names = _strings(owner, "resourceNames"), _strings(sub, "resourceNames")
    names = not owner_names if not sub_names else (not owner_names or _has_all(owner_names, sub_names))
    return verbs and groups and resources_ok and names and urls


def uncovered(owned: Iterable[Rule], wanted: Iterable[Rule]) -> list[dict[str, list[str]]]:
    """``Covers``: the broken-down rules of ``wanted`` that no rule of ``owned`` covers."""
    owned = list(owned)
    return [sub for rule in wanted for sub in breakdown(rule) if not any(rule_covers(o, sub) for o in owned)]


def compact_rules(rules: list[dict[str, list[str]]]) -> list[dict[str, list[str]]]:
    """``CompactRules``: simple rules (one group, one resource, at most one name) differing only by verb merged."""
    compacted: list[dict[str, list[str]]] = []
    simple: dict[tuple[str, str, str | None], dict[str, list[str]]] = {}
    for rule in rules:
        names = rule.get("resourceNames") or []
        is_simple = (len(names) <= 1 and not rule.get("nonResourceURLs") and len(rule.get("apiGroups") or []) == 1
                     and len(rule.get("resources") or []) == 1)
        if not is_simple:
            compacted.append(rule)
            continue
        key = (rule["apiGroups"][0], rule["resources"][0], names[0] if names else None)
        if key in simple:
            verbs = simple[key]["verbs"]
            verbs += [v for v in rule.get("verbs") or [] if v not in verbs]
        else:
            simple[key] = {k: list(v) for k, v in rule.items()}
    return compacted + list(simple.values())


def compact_string(rule: Mapping[str, list[str]]) -> str:
    """``CompactString``: ``{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}``."""
    parts = []
    for key, label in (("apiGroups", "APIGroups"), ("resources", "Resources"), ("nonResourceURLs", "NonResourceURLs"),
                       ("resourceNames", "ResourceNames"), ("verbs", "Verbs")):
        values = rule.get(key) or []
        if values:
            parts.append(f"{label}:[{' '.join(json.dumps(v) for v in values)}]")
    return "{" + ", ".join(parts) + "}"


# -- OwnerReferencesPermissionEnforcement ------------------------------------------------------------------------
def _refs(body: objects.Body | None) -> list[dict[str, Any]]:
    refs = objects.meta_of(body).get("ownerReferences") if body is not None else None
    return [r for r in refs if isinstance(r, dict)] if isinstance(refs, list) else []


def _admission_forbidden(write: planning.Write, detail: str) -> errors.Forbidden:
    """``admission.NewForbidden``: the object's resource and name (its generateName while it has none)."""
    spec = write.spec
    meta = objects.meta_of(write.new) if write.new is not None else {}
    name = write.name if write.named or write.operation != "CREATE" else str(meta.get("generateName") or "Unknown")
    return errors.Forbidden(f'{spec.qualified} "{name}" is forbidden: {detail}',
                            details=errors.details(spec.plural, name, spec.group))


async def _check_owner_references(cluster: Cluster, authorizer: Authorizer, write: planning.Write,
                                  user: UserInfo) -> None:
    new_refs, old_refs = _refs(write.new), _refs(write.old)
    changing = new_refs != old_refs if write.old is not None else bool(new_refs)  # isChangingOwnerReference
    if not changing:
        return
    spec = write.spec
    if write.operation != "CREATE":
        delete = RequestAttributes(verb="delete", group=spec.group, version=spec.version, resource=spec.plural,
                                   subresource=write.subresource, namespace=write.namespace, name=write.name)
        decision = await _allowed(authorizer, user, delete)
        if not decision:
            raise _admission_forbidden(write, "cannot set an ownerRef on a resource you can't delete: "
                                              f"{decision.reason}, <nil>")
    was_blocking = {str(r.get("uid")) for r in old_refs if r.get("blockOwnerDeletion") is True}
    for ref in new_refs:
        if ref.get("blockOwnerDeletion") is not True or str(ref.get("uid")) in was_blocking:
            continue
        api_version, kind = str(ref.get("apiVersion") or ""), str(ref.get("kind") or "")
        group, _slash, version = api_version.rpartition("/")
        owners = [s for s in cluster.catalogue if s.group == group and s.version == version and s.kind == kind]
        if not owners:
            raise _admission_forbidden(
                write, f"cannot set blockOwnerDeletion in this case because cannot find RESTMapping for APIVersion "
                       f"{api_version} Kind {kind}: no matches for kind \"{kind}\" in version \"{api_version}\"")
        for owner in owners:
            attributes = RequestAttributes(verb="update", group=owner.group, version=owner.version,
                                           resource=owner.plural, subresource="finalizers",
                                           namespace=write.namespace if owner.namespaced else None,
                                           name=str(ref.get("name") or ""))
            decision = await _allowed(authorizer, user, attributes)
            if not decision:
                raise _admission_forbidden(write, "cannot set blockOwnerDeletion if an ownerReference refers to a "
                                                  f"resource you can't set finalizers on: {decision.reason}, <nil>")
