"""A Kubernetes API emulator: kmock 0.8's KubernetesEmulator with a fidelity layer.

Gaps of plain kmock that this package closes, and where:

* discovery kubectl can read, Namespaces routed as a resource ............ ``discovery``, ``paths``
* server-set uid/resourceVersion/generation/creationTimestamp, namespace from the path,
  201 on create, 409 AlreadyExists/Conflict, 404/422 as ``Status`` objects .. ``stamping``, ``errors``
* PUT, merge/strategic/JSON patches (failed ``test`` is 422), server-side apply ... ``patches``, ``cluster``
* label and field selectors on list and watch; watch from a resourceVersion, bookmarks, 410 Gone,
  ``timeoutSeconds``, ``watch=1`` ........................................... ``selectors``, ``watching``
* status subresource isolation ............................................... ``stamping``
* CRDs served and unserved at run time ...................................... ``resources``, ``collecting``
* custom objects pruned, defaulted and validated against their CRD's structural schema (422 Invalid
  with every cause) on create, update, patch, apply and ``/status`` writes ......... ``schemas``, ``cluster``
* owner garbage collection with propagation policies (Background, Foreground, Orphan), namespace deletion
  through Terminating, CRD cleanup, finalizers, default ServiceAccounts (made and remade), each a moment after
  the request ...................................... ``deletion``, ``collecting``, ``controllers``
* request accounting (in-process and ``/_emulator/requests``) ............... ``accounting``
* failure injection: watches paused and resumed (with an etcd-like compaction: 410 Gone), the next N
  matching requests refused with a kube-apiserver ``Status`` (``/_emulator/watches``, ``/_emulator/faults``)
  .......................................................................... ``faults``, ``side``
* Events stored once and served as ``v1`` and ``events.k8s.io/v1`` (converted both ways, field selectors
  of each version, each version's validation, kube-apiserver's Table) ... ``event_versions``,
  ``event_rules``, ``event_table``
* a standalone server without kmock's process-wide DNS patch ................ ``serving``, ``__main__``
* a seam for authentication and authorization hooks ......................... ``access``
* users.yaml (static bearer tokens): authentication, optional enforcement ...... ``users``
* RBAC decisions from stored Roles/ClusterRoles/bindings, bootstrap roles ....... ``rbac``
* TokenReview, SubjectAccessReview (local, self), never stored ................ ``reviews``
* HTTPS with a CA made per run when there are users (kubectl sends tokens only over TLS) ... ``tls``
* every write planned (computed, validated, nothing stored) before it is committed; a commit that finds
  the object changed since plans again ........................................ ``planning``, ``writing``
* server-side dry run (``dryRun=All``) on every write verb: answered, never stored ...... ``dryrun``
* validating admission webhooks: ValidatingWebhookConfigurations stored, defaulted and validated, their
  webhooks called over verified HTTPS with AdmissionReview v1 (rules, selectors, failurePolicy, timeouts,
  warnings, dry run); MutatingWebhookConfigurations are stored but never called ... ``webhooks``,
  ``admission``, ``webhook_client``
* ValidatingAdmissionPolicies and their bindings: stored, validated (CEL compiled with cel-python) and
  evaluated in the same admission step, before the webhooks (matchConstraints, matchConditions, variables,
  validations, failurePolicy, Deny/Warn) ....... ``policies``, ``policy_matching``, ``policy_admission``,
  ``cel``, ``cel_library``
* the label ``kubernetes.io/metadata.name`` on every Namespace ............... ``stamping``
* built-in kinds decoded into their Go types (type errors, defaults, ``omitempty``) and validated as
  kube-apiserver's strategies do (Secrets, ConfigMaps, Namespaces, RBAC, Leases, ObjectMeta) .. ``builtin_types``,
  ``builtin_rules``, ``fielderrors``
* size limits (413 over 3 MiB, etcd's 1.5 MiB, 1 MiB of Secret data) ........ ``limits``
* RBAC escalation and bind checks, OwnerReferencesPermissionEnforcement ...... ``guards``
* SelfSubjectRulesReview, SelfSubjectReview; SubjectAccessReview with groups and extra .. ``reviews``
* list pagination as one snapshot, watch history bounded in time and count ... ``cluster``, ``store``, ``events``

Every behaviour, its source and its test: ``README.md`` beside this file.
"""

from shipway_sandbox.emulator.access import Authenticator, Authorizer, Decision, RequestAttributes, UserInfo
from shipway_sandbox.emulator.accounting import RequestLedger, RequestRecord
from shipway_sandbox.emulator.emulator import ClusterEmulator
from shipway_sandbox.emulator.kubeconfig import render as render_kubeconfig
from shipway_sandbox.emulator.kubeconfig import write as write_kubeconfig
from shipway_sandbox.emulator.rbac import RbacAuthorizer
from shipway_sandbox.emulator.resources import BUILTIN_RESOURCES, ResourceSpec
from shipway_sandbox.emulator.serving import EmulatorServer, free_port
from shipway_sandbox.emulator.users import User, Users, UsersFileError
from shipway_sandbox.emulator.users import ensure as ensure_users
from shipway_sandbox.emulator.users import generate as generate_users
from shipway_sandbox.emulator.users import load as load_users
from shipway_sandbox.emulator.users import write as write_users

__all__ = [
    "BUILTIN_RESOURCES",
    "Authenticator",
    "Authorizer",
    "ClusterEmulator",
    "Decision",
    "EmulatorServer",
    "RbacAuthorizer",
    "RequestAttributes",
    "RequestLedger",
    "RequestRecord",
    "ResourceSpec",
    "User",
    "UserInfo",
    "Users",
    "UsersFileError",
    "ensure_users",
    "free_port",
    "generate_users",
    "load_users",
    "render_kubeconfig",
    "write_kubeconfig",
    "write_users",
]
