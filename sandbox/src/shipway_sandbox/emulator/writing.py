"""The request path of every write: plan, admit, commit; a dry run stops before the commit.

:class:`Writer` is made per request with the caller and the request's options. ``await writer.run(plan)``:

1. plans the write against the current store (:mod:`planning`: decoded, defaulted, validated, not stored);
2. asks validating admission about it: the ValidatingAdmissionPolicies first (:mod:`policy_admission`, in
   process, as kube-apiserver orders its plugins), then the webhooks (:mod:`admission`; they may take a
   while, other requests go on);
3. answers the plan's preview on a dry run (nothing stored, no resourceVersion used, no watch event, no
   controller run), or commits it. A commit that finds the stored object changed since step 1 (a concurrent
   write while the webhooks were called) stores nothing and starts again from step 1, so what is stored is
   always exactly what admission saw, as kube-apiserver's ``GuaranteedUpdate`` re-runs its update function
   (validating admission included) on an etcd conflict.

Warnings of the policies and webhooks are kept in :attr:`Writer.warnings` for the response's ``Warning`` headers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import aiohttp.web

from shipway_sandbox.emulator import admission, dryrun, errors, guards, objects, planning, policy_admission, resources
from shipway_sandbox.emulator.access import UserInfo
from shipway_sandbox.emulator.cluster import Cluster

MAX_ATTEMPTS = 16


@dataclasses.dataclass(kw_only=True)
class Writer:
    cluster: Cluster
    webhooks: admission.ValidatingWebhooks
    user: UserInfo
    query: dryrun.Query
    dry_run: bool
    delete_options: objects.Body | None = None  # the DeleteOptions of a delete or deletecollection
    collection_namespace: str | None = None  # set for deletecollection: its reviews name no object
    collection: bool = False
    warnings: list[str] = dataclasses.field(default_factory=list)

    async def run(self, plan: Callable[[], planning.Write]) -> tuple[objects.Body, planning.Write]:
        """The answer to the write (stored or, on a dry run, previewed) and the write itself."""
        for _attempt in range(MAX_ATTEMPTS):
            write = plan()
            await guards.check(self.cluster, write, self.user)  # RBAC escalation/bind, ownerReference permissions
            attributes = self.attributes(write)
            policy_admission.ValidatingAdmissionPolicies(self.cluster.store, self.cluster.catalogue).validate(
                attributes, self.warnings)
            await self.webhooks.validate(attributes, self.warnings)
            if self.dry_run:
                return write.preview(), write
            try:
                return self.cluster.commit(write), write
            except planning.Stale:
                continue
        raise errors.conflict(write.spec.plural, write.name, write.spec.group)

    def attributes(self, write: planning.Write) -> admission.Attributes:
        if write.operation == "DELETE":
            options = self.delete_options or dryrun.delete_options(None, self.query)
        else:
            options = dryrun.write_options("CreateOptions" if write.operation == "CREATE" else "UpdateOptions",
                                           self.query)
        name = write.name if write.named else ""  # the request's name: none yet for a generateName
        namespace = name if write.spec.key == resources.NAMESPACES.key else write.namespace
        if self.collection:  # as AdmissionToValidateObjectDeleteFunc: the collection's static attributes
            namespace, name = self.collection_namespace, ""
        return admission.Attributes(
            operation=write.operation, spec=write.spec, subresource=write.subresource, namespace=namespace,
            name=name, object=write.admitted_object, old_object=write.old, options=options,
            dry_run=self.dry_run, user=self.user,
        )


def warning_header(text: str) -> str:
    """``net.NewWarningHeader(299, "-", text)``: the text quoted, ``"`` and ``\\`` escaped."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    printable = "".join(c if c.isprintable() else " " for c in escaped)
    return f'299 - "{printable}"'


def add_warnings(response: aiohttp.web.StreamResponse, warnings: list[str]) -> aiohttp.web.StreamResponse:
    for text in dict.fromkeys(warnings):
        response.headers.add("Warning", warning_header(text))
    return response
