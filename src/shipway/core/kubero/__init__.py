"""Migrating from Kubero: reading its objects (:mod:`.reading`) and planning the import and the scrub
(:mod:`.planning`). Pure: no I/O."""

from shipway.core.kubero.deciding import (
    Cluster,
    Decision,
    adopted,
    decide,
    global_home,
    own_secret,
    to_read,
    verification,
)
from shipway.core.kubero.planning import (
    Plan,
    Write,
    plan_import,
    plan_scrub,
)
from shipway.core.kubero.reading import (
    BOTH,
    GLOBAL_SECRET,
    GROUP,
    IMPORTED_ANNOTATION,
    KuberoExport,
    KuberoInstall,
    KuberoPhase,
    KuberoPipeline,
    Mode,
    Origin,
    fingerprint,
    read_export,
)

__all__ = [
    "BOTH",
    "GLOBAL_SECRET",
    "GROUP",
    "IMPORTED_ANNOTATION",
    "Cluster",
    "Decision",
    "KuberoExport",
    "KuberoInstall",
    "KuberoPhase",
    "KuberoPipeline",
    "Mode",
    "Origin",
    "Plan",
    "Write",
    "adopted",
    "decide",
    "fingerprint",
    "global_home",
    "own_secret",
    "plan_import",
    "plan_scrub",
    "read_export",
    "to_read",
    "verification",
]
