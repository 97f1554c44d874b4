"""OpenAPI v3 schemas of the built-in kinds the emulator describes, with kube-apiserver's field documentation.

kube-apiserver publishes every built-in kind in ``/openapi/v2`` and ``/openapi/v3`` (generated from the Go
types: descriptions from their comments, ``x-kubernetes-list-type``/``-map-keys`` and
``x-kubernetes-patch-strategy``/``-merge-key`` from their tags). The emulator describes, field for field,
the kinds kubectl and Shipway write most (ConfigMap, Secret, Namespace, ServiceAccount, the four RBAC kinds,
Lease) and ``ObjectMeta``; the descriptions are shortened from the Kubernetes API reference
(https://kubernetes.io/docs/reference/kubernetes-api/). They serve:

* the OpenAPI documents (:mod:`openapi`): ``kubectl explain configmap.data``, kubectl's patch computation;
* unknown-field detection for ``fieldValidation`` (:mod:`field_validation`): a built-in kind decodes into its
  Go type, so a field the type lacks is "unknown" (and dropped, as Go's decoding drops it);
* field ownership in server-side apply (:mod:`managed_fields`): which lists are sets or maps, which maps are
  structs (named fields) and which are free-form (``labels``).

Other built-in kinds have no schema here (:func:`schema_for` answers None): their fields are all accepted
as sent, and their lists are atomic for server-side apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shipway_sandbox.emulator import resources

Schema = dict[str, Any]
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


def _string(description: str, **extra: Any) -> Schema:
    return {"type": "string", "description": description, **extra}


def _string_map(description: str, **extra: Any) -> Schema:
    return {"type": "object", "description": description, "additionalProperties": {"type": "string", **extra}}


def _object(description: str, properties: Mapping[str, Schema], *, required: tuple[str, ...] = (),
            atomic: bool = False, **extra: Any) -> Schema:
    schema: Schema = {"type": "object", "description": description, "properties": dict(properties), **extra}
    if atomic:
        schema["x-kubernetes-map-type"] = "atomic"
    if required:
        schema["required"] = list(required)
    return schema


_TIME = "Time is a wrapper around time.Time which supports correct marshaling to YAML and JSON (RFC3339)."

OWNER_REFERENCE = _object(
    "OwnerReference contains enough information to let you identify an owning object. An owning object must "
    "be in the same namespace as the dependent, or be cluster-scoped, so there is no namespace field.",
    {
        "apiVersion": _string("API version of the referent."),
        "blockOwnerDeletion": {"type": "boolean", "description": (
            "If true, AND if the owner has the \"foregroundDeletion\" finalizer, then the owner cannot be deleted "
            "from the key-value store until this reference is removed.")},
        "controller": {"type": "boolean", "description": "If true, this reference points to the managing controller."},
        "kind": _string("Kind of the referent."),
        "name": _string("Name of the referent."),
        "uid": _string("UID of the referent."),
    },
    required=("apiVersion", "kind", "name", "uid"),
    atomic=True,
)

MANAGED_FIELDS_ENTRY = _object(
    "ManagedFieldsEntry is a workflow-id, a FieldSet and the group version of the resource that the fieldset "
    "applies to.",
    {
        "apiVersion": _string("APIVersion defines the version of this resource that this field set applies to."),
        "fieldsType": _string("FieldsType is the discriminator for the different fields format and version. "
                              "There is currently only one possible value: \"FieldsV1\""),
        "fieldsV1": {"type": "object", "description": "FieldsV1 holds the first JSON version format as described in "
                     "the \"FieldsV1\" type.", "x-kubernetes-preserve-unknown-fields": True},
        "manager": _string("Manager is an identifier of the workflow managing these fields."),
        "operation": _string("Operation is the type of operation which lead to this ManagedFieldsEntry being "
                             "created. The only valid values for this field are 'Apply' and 'Update'."),
        "subresource": _string("Subresource is the name of the subresource used to update that object, or empty "
                               "string if the object was updated through the main resource."),
        "time": _string("Time is the timestamp of when the ManagedFields entry was added.", format="date-time"),
    },
)

OBJECT_META_SCHEMA = _object(
    "ObjectMeta is metadata that all persisted resources must have, which includes all objects users must "
    "create.",
    {
        "annotations": _string_map(
            "Annotations is an unstructured key value map stored with a resource that may be set by external "
            "tools to store and retrieve arbitrary metadata. They are not queryable and should be preserved when "
            "modifying objects. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/"
            "annotations"),
        "creationTimestamp": _string(
            "CreationTimestamp is a timestamp representing the server time when this object was created. It is not "
            "guaranteed to be set in happens-before order across separate operations. Clients may not set this "
            "value. It is represented in RFC3339 form and is in UTC. Populated by the system. Read-only.",
            format="date-time"),
        "deletionGracePeriodSeconds": {"type": "integer", "format": "int64", "description": (
            "Number of seconds allowed for this object to gracefully terminate before it will be removed from the "
            "system. Only set when deletionTimestamp is also set. May only be shortened. Read-only.")},
        "deletionTimestamp": _string(
            "DeletionTimestamp is RFC 3339 date and time at which this resource will be deleted. This field is set "
            "by the server when a graceful deletion is requested by the user, and is not directly settable by a "
            "client. Populated by the system when a graceful deletion is requested. Read-only.",
            format="date-time"),
        "finalizers": {
            "type": "array", "items": {"type": "string", "default": ""},
            "description": (
                "Must be empty before the object is deleted from the registry. Each entry is an identifier for the "
                "responsible component that will remove the entry from the list. If the deletionTimestamp of the "
                "object is non-nil, entries in this list can only be removed. Finalizers may be processed and "
                "removed in any order."),
            "x-kubernetes-list-type": "set", "x-kubernetes-patch-strategy": "merge",
        },
        "generateName": _string(
            "GenerateName is an optional prefix, used by the server, to generate a unique name ONLY IF the Name "
            "field has not been provided. If this field is used, the name returned to the client will be different "
            "than the name passed. The provided value has the same validation rules as the Name field, and may be "
            "truncated by the length of the suffix required to make the value unique on the server."),
        "generation": {"type": "integer", "format": "int64", "description": (
            "A sequence number representing a specific generation of the desired state. Populated by the system. "
            "Read-only.")},
        "labels": _string_map(
            "Map of string keys and values that can be used to organize and categorize (scope and select) objects. "
            "May match selectors of replication controllers and services. More info: "
            "https://kubernetes.io/docs/concepts/overview/working-with-objects/labels"),
        "managedFields": {
            "type": "array", "items": MANAGED_FIELDS_ENTRY, "x-kubernetes-list-type": "atomic",
            "description": (
                "ManagedFields maps workflow-id and version to the set of fields that are managed by that workflow. "
                "This is mostly for internal housekeeping, and users typically shouldn't need to set or understand "
                "this field."),
        },
        "name": _string(
            "Name must be unique within a namespace. Is required when creating resources, although some resources "
            "may allow a client to request the generation of an appropriate name automatically. Name is primarily "
            "intended for creation idempotence and configuration definition. Cannot be updated. More info: "
            "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"),
        "namespace": _string(
            "Namespace defines the space within which each name must be unique. An empty namespace is equivalent "
            "to the \"default\" namespace, but \"default\" is the canonical representation. Not all objects are "
            "required to be scoped to a namespace - the value of this field for those objects will be empty. Must "
            "be a DNS_LABEL. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/"
            "working-with-objects/namespaces"),
        "ownerReferences": {
            "type": "array", "items": OWNER_REFERENCE,
            "description": (
                "List of objects depended by this object. If ALL objects in the list have been deleted, this object "
                "will be garbage collected. If this object is managed by a controller, then an entry in this list "
                "will point to this controller, with the controller field set to true. There cannot be more than "
                "one managing controller."),
            "x-kubernetes-list-map-keys": ["uid"], "x-kubernetes-list-type": "map",
            "x-kubernetes-patch-merge-key": "uid", "x-kubernetes-patch-strategy": "merge",
        },
        "resourceVersion": _string(
            "An opaque value that represents the internal version of this object that can be used by clients to "
            "determine when objects have changed. May be used for optimistic concurrency, change detection, and "
            "the watch operation on a resource or set of resources. Clients must treat these values as opaque and "
            "passed unmodified back to the server. Populated by the system. Read-only."),
        "selfLink": _string("Deprecated: selfLink is a legacy read-only field that is no longer populated by the "
                            "system."),
        "uid": _string(
            "UID is the unique in time and space value for this object. It is typically generated by the server "
            "on successful creation of a resource and is not allowed to change on PUT operations. Populated by the "
            "system. Read-only."),
    },
)

API_VERSION = _string(
    "APIVersion defines the versioned schema of this representation of an object. Servers should convert "
    "recognized schemas to the latest internal value, and may reject unrecognized values. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources")
KIND = _string(
    "Kind is a string value representing the REST resource this object represents. Servers may infer this from "
    "the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds")
METADATA_DESCRIPTION = ("Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/"
                        "sig-architecture/api-conventions.md#metadata")


def _kind(description: str, properties: Mapping[str, Schema], *, required: tuple[str, ...] = ()) -> Schema:
    """A top-level kind: apiVersion, kind and metadata, then its own fields."""
    metadata = {**OBJECT_META_SCHEMA, "description": METADATA_DESCRIPTION}
    return _object(description, {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata, **properties},
                   required=required)


_IMMUTABLE = ("Immutable, if set to true, ensures that data stored in the {kind} cannot be updated (only object "
              "metadata can be modified). If not set to true, the field can be modified at any time. Defaulted to "
              "nil.")

CONFIG_MAP = _kind("ConfigMap holds configuration data for pods to consume.", {
    "binaryData": _string_map(
        "BinaryData contains the binary data. Each key must consist of alphanumeric characters, '-', '_' or '.'. "
        "BinaryData can contain byte sequences that are not in the UTF-8 range. The keys stored in BinaryData must "
        "not overlap with the ones in the Data field, this is enforced during validation process.", format="byte"),
    "data": _string_map(
        "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. "
        "Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not "
        "overlap with the keys in the BinaryData field, this is enforced during validation process."),
    "immutable": {"type": "boolean", "description": _IMMUTABLE.format(kind="ConfigMap")},
})

SECRET = _kind(
    "Secret holds secret data of a certain type. The total bytes of the values in the Data field must be less "
    "than MaxSecretSize bytes.", {
        "data": _string_map(
            "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The "
            "serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly "
            "non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4",
            format="byte"),
        "immutable": {"type": "boolean", "description": _IMMUTABLE.format(kind="Secret")},
        "stringData": _string_map(
            "stringData allows specifying non-binary secret data in string form. It is provided as a write-only "
            "input field for convenience. All keys and values are merged into the data field on write, "
            "overwriting any existing values. The stringData field is never output when reading from the API."),
        "type": _string(
            "Used to facilitate programmatic handling of secret data. More info: "
            "https://kubernetes.io/docs/concepts/configuration/secret/#secret-types"),
    })

_CONDITION_FIELDS = {
    "lastTransitionTime": _string("Last time the condition transitioned from one status to another.",
                                  format="date-time"),
    "message": _string("Human-readable message indicating details about last transition."),
    "reason": _string("Unique, one-word, CamelCase reason for the condition's last transition."),
    "status": _string("Status of the condition, one of True, False, Unknown."),
    "type": _string("Type of namespace controller condition."),
}

NAMESPACE = _kind("Namespace provides a scope for Names. Use of multiple namespaces is optional.", {
    "spec": _object(
        "Spec defines the behavior of the Namespace. More info: https://git.k8s.io/community/contributors/devel/"
        "sig-architecture/api-conventions.md#spec-and-status", {
            "finalizers": {"type": "array", "items": {"type": "string", "default": ""},
                           "x-kubernetes-list-type": "atomic",
                           "description": ("Finalizers is an opaque list of values that must be empty to "
                                           "permanently remove object from storage. More info: "
                                           "https://kubernetes.io/docs/tasks/administer-cluster/namespaces/")},
        }),
    "status": _object(
        "Status describes the current status of a Namespace. More info: https://git.k8s.io/community/contributors/"
        "devel/sig-architecture/api-conventions.md#spec-and-status", {
            "conditions": {"type": "array", "items": _object(
                "NamespaceCondition contains details about state of namespace.", _CONDITION_FIELDS,
                required=("type", "status")),
                "description": "Represents the latest available observations of a namespace's current state.",
                "x-kubernetes-list-map-keys": ["type"], "x-kubernetes-list-type": "map",
                "x-kubernetes-patch-merge-key": "type", "x-kubernetes-patch-strategy": "merge"},
            "phase": _string("Phase is the current lifecycle phase of the namespace. More info: "
                             "https://kubernetes.io/docs/tasks/administer-cluster/namespaces/",
                             enum=["Active", "Terminating"]),
        }),
})

_OBJECT_REFERENCE = _object(
    "ObjectReference contains enough information to let you inspect or modify the referred object.", {
        "apiVersion": _string("API version of the referent."),
        "fieldPath": _string("If referring to a piece of an object instead of an entire object, this string "
                             "should contain a valid JSON/Go field access statement."),
        "kind": _string("Kind of the referent."),
        "name": _string("Name of the referent."),
        "namespace": _string("Namespace of the referent."),
        "resourceVersion": _string("Specific resourceVersion to which this reference is made, if any."),
        "uid": _string("UID of the referent."),
    }, atomic=True)

SERVICE_ACCOUNT = _kind(
    "ServiceAccount binds together: * a name, understood by users, and perhaps by peripheral systems, for an "
    "identity * a principal that can be authenticated and authorized * a set of secrets", {
        "automountServiceAccountToken": {"type": "boolean", "description": (
            "AutomountServiceAccountToken indicates whether pods running as this service account should have an "
            "API token automatically mounted. Can be overridden at the pod level.")},
        "imagePullSecrets": {
            "type": "array", "x-kubernetes-list-type": "atomic",
            "items": _object("LocalObjectReference contains enough information to let you locate the referenced "
                             "object inside the same namespace.", {
                                 "name": _string("Name of the referent. More info: https://kubernetes.io/docs/"
                                                 "concepts/overview/working-with-objects/names/#names",
                                                 default="")},
                             atomic=True),
            "description": (
                "ImagePullSecrets is a list of references to secrets in the same namespace to use for pulling any "
                "images in pods that reference this ServiceAccount. More info: https://kubernetes.io/docs/"
                "concepts/containers/images/#specifying-imagepullsecrets-on-a-pod"),
        },
        "secrets": {
            "type": "array", "items": _OBJECT_REFERENCE,
            "x-kubernetes-list-map-keys": ["name"], "x-kubernetes-list-type": "map",
            "x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge",
            "description": (
                "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount "
                "are allowed to use. More info: https://kubernetes.io/docs/concepts/configuration/secret"),
        },
    })

_POLICY_RULE = _object(
    "PolicyRule holds information that describes a policy rule, but does not contain information about who the "
    "rule applies to or which namespace the rule applies to.", {
        "apiGroups": {"type": "array", "items": {"type": "string", "default": ""}, "x-kubernetes-list-type": "atomic",
                      "description": "APIGroups is the name of the APIGroup that contains the resources."},
        "nonResourceURLs": {"type": "array", "items": {"type": "string", "default": ""},
                            "x-kubernetes-list-type": "atomic",
                            "description": "NonResourceURLs is a set of partial urls that a user should have "
                                           "access to."},
        "resourceNames": {"type": "array", "items": {"type": "string", "default": ""},
                          "x-kubernetes-list-type": "atomic",
                          "description": "ResourceNames is an optional white list of names that the rule applies "
                                         "to."},
        "resources": {"type": "array", "items": {"type": "string", "default": ""}, "x-kubernetes-list-type": "atomic",
                      "description": "Resources is a list of resources this rule applies to. '*' represents all "
                                     "resources."},
        "verbs": {"type": "array", "items": {"type": "string", "default": ""}, "x-kubernetes-list-type": "atomic",
                  "description": "Verbs is a list of Verbs that apply to ALL the ResourceKinds contained in this "
                                 "rule. '*' represents all verbs."},
    }, required=("verbs",))

_RULES = {"type": "array", "items": _POLICY_RULE, "x-kubernetes-list-type": "atomic",
          "description": "Rules holds all the PolicyRules for this Role"}

_SUBJECTS = {"type": "array", "x-kubernetes-list-type": "atomic", "items": _object(
    "Subject contains a reference to the object or user identities a role binding applies to.", {
        "apiGroup": _string("APIGroup holds the API group of the referenced subject."),
        "kind": _string("Kind of object being referenced. Values defined by this API group are \"User\", "
                        "\"Group\", and \"ServiceAccount\"."),
        "name": _string("Name of the object being referenced."),
        "namespace": _string("Namespace of the referenced object."),
    }, required=("kind", "name"), atomic=True),
    "description": "Subjects holds references to the objects the role applies to."}

_ROLE_REF = _object("RoleRef contains information that points to the role being used", {
    "apiGroup": _string("APIGroup is the group for the resource being referenced"),
    "kind": _string("Kind is the type of resource being referenced"),
    "name": _string("Name is the name of resource being referenced"),
}, required=("apiGroup", "kind", "name"), atomic=True)

ROLE = _kind("Role is a namespaced, logical grouping of PolicyRules that can be referenced as a unit by a "
             "RoleBinding.", {"rules": _RULES})
CLUSTER_ROLE = _kind(
    "ClusterRole is a cluster level, logical grouping of PolicyRules that can be referenced as a unit by a "
    "RoleBinding or ClusterRoleBinding.", {
        "aggregationRule": _object("AggregationRule describes how to locate ClusterRoles to aggregate into the "
                                   "ClusterRole", {"clusterRoleSelectors": {
                                       "type": "array", "x-kubernetes-list-type": "atomic",
                                       "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                                       "description": "ClusterRoleSelectors holds a list of selectors which will "
                                                      "be used to find ClusterRoles and create the rules."}}),
        "rules": _RULES,
    })
ROLE_BINDING = _kind(
    "RoleBinding references a role, but does not contain it. It can reference a Role in the same namespace or a "
    "ClusterRole in the global namespace.", {"roleRef": _ROLE_REF, "subjects": _SUBJECTS}, required=("roleRef",))
CLUSTER_ROLE_BINDING = _kind(
    "ClusterRoleBinding references a ClusterRole, but not contain it. It can reference a ClusterRole in the "
    "global namespace, and adds who information via Subject.", {"roleRef": _ROLE_REF, "subjects": _SUBJECTS},
    required=("roleRef",))

LEASE = _kind("Lease defines a lease concept.", {"spec": _object(
    "spec contains the specification of the Lease. More info: https://git.k8s.io/community/contributors/devel/"
    "sig-architecture/api-conventions.md#spec-and-status", {
        "acquireTime": _string("acquireTime is a time when the current lease was acquired.", format="date-time"),
        "holderIdentity": _string("holderIdentity contains the identity of the holder of a current lease."),
        "leaseDurationSeconds": {"type": "integer", "format": "int32", "description": (
            "leaseDurationSeconds is a duration that candidates for a lease need to wait to force acquire it.")},
        "leaseTransitions": {"type": "integer", "format": "int32", "description": (
            "leaseTransitions is the number of transitions of a lease between holders.")},
        "preferredHolder": _string("PreferredHolder signals to a lease holder that the lease has a more optimal "
                                   "holder and should be given up."),
        "renewTime": _string("renewTime is a time when the current holder of a lease has last updated the lease.",
                             format="date-time"),
        "strategy": _string("Strategy indicates the strategy for picking the leader for coordinated leader "
                            "election."),
    })})

# (group, version, plural) -> (the schema, its OpenAPI definition name)
_DESCRIBED: dict[tuple[str, str, str], tuple[Schema, str]] = {
    ("", "v1", "configmaps"): (CONFIG_MAP, "io.k8s.api.core.v1.ConfigMap"),
    ("", "v1", "secrets"): (SECRET, "io.k8s.api.core.v1.Secret"),
    ("", "v1", "namespaces"): (NAMESPACE, "io.k8s.api.core.v1.Namespace"),
    ("", "v1", "serviceaccounts"): (SERVICE_ACCOUNT, "io.k8s.api.core.v1.ServiceAccount"),
    (resources.RBAC, "v1", "roles"): (ROLE, "io.k8s.api.rbac.v1.Role"),
    (resources.RBAC, "v1", "clusterroles"): (CLUSTER_ROLE, "io.k8s.api.rbac.v1.ClusterRole"),
    (resources.RBAC, "v1", "rolebindings"): (ROLE_BINDING, "io.k8s.api.rbac.v1.RoleBinding"),
    (resources.RBAC, "v1", "clusterrolebindings"): (CLUSTER_ROLE_BINDING, "io.k8s.api.rbac.v1.ClusterRoleBinding"),
    ("coordination.k8s.io", "v1", "leases"): (LEASE, "io.k8s.api.coordination.v1.Lease"),
}


def schema_for(spec: resources.ResourceSpec) -> Schema | None:
    """The full schema of a built-in kind the emulator describes, else None."""
    found = _DESCRIBED.get(spec.key)
    return found[0] if found else None


def definition_name(spec: resources.ResourceSpec) -> str:
    """The OpenAPI definition name kube-apiserver gives a kind: ``io.k8s.api.core.v1.ConfigMap``, or for a
    custom resource its group reversed, ``dev.shipway.v1alpha1.Pipeline``."""
    found = _DESCRIBED.get(spec.key)
    if found:
        return found[1]
    if not spec.group:
        return f"io.k8s.api.core.{spec.version}.{spec.kind}"
    if spec.group == resources.APIEXTENSIONS:
        return f"io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.{spec.version}.{spec.kind}"
    if spec.group.endswith(".k8s.io"):  # rbac.authorization.k8s.io: io.k8s.api.rbac.v1.Role
        return f"io.k8s.api.{spec.group.split('.')[0]}.{spec.version}.{spec.kind}"
    reversed_group = ".".join(reversed(spec.group.split(".")))
    return f"{reversed_group}.{spec.version}.{spec.kind}"
