"""RBAC's escalation and bind checks, and the OwnerReferencesPermissionEnforcement admission plugin.

Sources: https://kubernetes.io/docs/reference/access-authn-authz/rbac/#privilege-escalation-prevention-and-bootstrapping
("You can only create/update a role if ... you already have all the permissions contained in the role ... or you
are authorized to perform the escalate verb"; "You can only create/update a role binding if you already have all the
permissions contained in the referenced role ... or you have been authorized to perform the bind verb"),
``pkg/registry/rbac/validation/rule.go`` (``ConfirmNoEscalation``, ``CompactString``) and
https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#ownerreferencespermissionenforcement
("protects the access to the metadata.ownerReferences of an object so that only users with delete permission to
the object can change it ... only users with update permission to the finalizers subresource of the referenced
owner can change it"), ``plugin/pkg/admission/gc/gc_admission.go``.
"""

from __future__ import annotations

from typing import Any

from .secured_support import RBAC, secured

ROLES = f"{RBAC}/namespaces/team-a/roles"
BINDINGS = f"{RBAC}/namespaces/team-a/rolebindings"
CMS = "/api/v1/namespaces/team-a/configmaps"
GROUPS = '(groups=["team-a" "system:authenticated"])'
RBAC_WRITER = {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles", "rolebindings"],
               "verbs": ["get", "create", "update", "patch"]}
CM_READER = {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}


def role(name: str, *rules: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": name}, "rules": list(rules)}


def binding(name: str, kind: str, role_name: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind,
                                                     "name": role_name},
            "subjects": [{"kind": "User", "name": "someone"}]}


async def test_a_role_may_grant_only_what_its_author_holds() -> None:
    async with secured() as cluster:
        await cluster.grant("team-a", "rbac-writer", [RBAC_WRITER, CM_READER], group="team-a")
        team = cluster.clients["team-a"]
        held = await team.post(ROLES, json=role("readers", {"apiGroups": [""], "resources": ["configmaps"],
                                                            "verbs": ["get"], "resourceNames": ["one"]}))
        assert held.status_code == 201, held.text
        more = await team.post(ROLES, json=role("too-much", {"apiGroups": [""], "resources": ["secrets", "configmaps"],
                                                             "verbs": ["get", "delete"]}))
        assert more.status_code == 403 and more.json()["reason"] == "Forbidden"
        assert more.json()["message"] == (
            f'roles.rbac.authorization.k8s.io "too-much" is forbidden: user "team-a" {GROUPS} is attempting to grant '
            "RBAC permissions not currently held:\n"
            '{APIGroups:[""], Resources:["configmaps"], Verbs:["delete"]}\n'
            '{APIGroups:[""], Resources:["secrets"], Verbs:["get" "delete"]}')
        assert more.json()["details"] == {"kind": "roles", "name": "too-much", "group": "rbac.authorization.k8s.io"}
        dry = await team.post(ROLES, json=role("too-much", {"apiGroups": [""], "resources": ["secrets"],
                                                            "verbs": ["get"]}), params={"dryRun": "All"})
        assert dry.status_code == 403  # checked by the storage, dry run or not
        grown = await team.patch(f"{ROLES}/readers", json={"rules": [
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]},
            headers={"Content-Type": "application/merge-patch+json"})
        assert grown.status_code == 403  # an update is checked as well
        # the escalate verb lifts the check; system:masters never meets it
        await cluster.grant("team-a", "escalator", [{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"],
                                                     "verbs": ["escalate"]}], group="team-a")
        assert (await team.post(ROLES, json=role("too-much", {"apiGroups": [""], "resources": ["secrets"],
                                                               "verbs": ["get"]}))).status_code == 201
        assert (await cluster.admin.post(ROLES, json=role("admin-made", {"apiGroups": ["*"], "resources": ["*"],
                                                                          "verbs": ["*"]}))).status_code == 201


async def test_a_cluster_role_needs_the_permissions_cluster_wide() -> None:
    async with secured() as cluster:
        await cluster.grant(None, "clusterrole-writer", [
            {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["create"]}],
            group="team-a")
        await cluster.grant("team-a", "reader", [CM_READER], group="team-a")  # held in team-a only
        refused = await cluster.clients["team-a"].post(f"{RBAC}/clusterroles", json=role("reader", CM_READER))
        assert refused.status_code == 403 and refused.json()["message"].endswith(
            '{APIGroups:[""], Resources:["configmaps"], Verbs:["get" "list"]}')


async def test_a_binding_may_refer_only_to_a_role_whose_permissions_its_author_holds() -> None:
    async with secured() as cluster:
        await cluster.grant("team-a", "rbac-writer", [RBAC_WRITER, CM_READER], group="team-a")
        await cluster.create(f"{RBAC}/clusterroles", role("secret-reader", {"apiGroups": [""], "resources": ["secrets"],
                                                                            "verbs": ["get"]}))
        await cluster.create(f"{RBAC}/clusterroles", role("cm-reader", CM_READER))
        team = cluster.clients["team-a"]
        assert (await team.post(BINDINGS, json=binding("ok", "ClusterRole", "cm-reader"))).status_code == 201
        refused = await team.post(BINDINGS, json=binding("no", "ClusterRole", "secret-reader"))
        assert refused.status_code == 403 and refused.json()["message"] == (
            f'rolebindings.rbac.authorization.k8s.io "no" is forbidden: user "team-a" {GROUPS} is attempting to grant '
            'RBAC permissions not currently held:\n{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}')
        missing = await team.post(BINDINGS, json=binding("ghost", "Role", "nope"))
        assert missing.status_code == 403 and missing.json()["message"] == (
            'rolebindings.rbac.authorization.k8s.io "ghost" is forbidden: role.rbac.authorization.k8s.io "nope" not '
            "found")
        # the bind verb on that role lifts the check
        await cluster.grant("team-a", "binder", [{"apiGroups": ["rbac.authorization.k8s.io"],
                                                  "resources": ["clusterroles"], "verbs": ["bind"],
                                                  "resourceNames": ["secret-reader"]}], group="team-a")
        assert (await team.post(BINDINGS, json=binding("no", "ClusterRole", "secret-reader"))).status_code == 201


# -- OwnerReferencesPermissionEnforcement ----------------------------------------------------------------------
async def test_block_owner_deletion_needs_update_on_the_owners_finalizers() -> None:
    async with secured() as cluster:
        await cluster.grant("team-a", "cm-writer", [{"apiGroups": [""], "resources": ["configmaps"],
                                                     "verbs": ["get", "create", "update", "patch"]}], group="team-a")
        owner = await cluster.create(CMS, {"metadata": {"name": "owner"}})
        reference = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"]}
        team = cluster.clients["team-a"]
        plain = await team.post(CMS, json={"metadata": {"name": "plain", "ownerReferences": [reference]}})
        assert plain.status_code == 201  # creating with a reference is always allowed
        blocking = await team.post(CMS, json={"metadata": {"name": "child", "ownerReferences": [
            {**reference, "blockOwnerDeletion": True}]}})
        assert blocking.status_code == 403 and blocking.json()["message"] == (
            'configmaps "child" is forbidden: cannot set blockOwnerDeletion if an ownerReference refers to a resource '
            "you can't set finalizers on: , <nil>")
        changed = await team.patch(f"{CMS}/plain", json={"metadata": {"ownerReferences": None}},
                                   headers={"Content-Type": "application/merge-patch+json"})
        assert changed.status_code == 403 and changed.json()["message"] == (
            'configmaps "plain" is forbidden: cannot set an ownerRef on a resource you can\'t delete: , <nil>')
        await cluster.grant("team-a", "finalizers", [{"apiGroups": [""], "resources": ["configmaps/finalizers"],
                                                      "verbs": ["update"]}], group="team-a")
        allowed = await team.post(CMS, json={"metadata": {"name": "child", "ownerReferences": [
            {**reference, "blockOwnerDeletion": True}]}})
        assert allowed.status_code == 201, allowed.text


async def test_the_plugin_can_be_turned_off_as_in_a_default_kube_apiserver() -> None:
    async with secured(owner_references_permission_enforcement=False) as cluster:
        await cluster.grant("team-a", "cm-writer", [{"apiGroups": [""], "resources": ["configmaps"],
                                                     "verbs": ["create"]}], group="team-a")
        owner = await cluster.create(CMS, {"metadata": {"name": "owner"}})
        response = await cluster.clients["team-a"].post(CMS, json={"metadata": {"name": "child", "ownerReferences": [
            {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"],
             "blockOwnerDeletion": True}]}})
        assert response.status_code == 201
