"""What the install tests share: the manifests as objects, kustomize renders, and the metric names a PromQL
expression uses."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from shipway.core.install import install_manifests

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


def by_kind(documents: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in documents if d["kind"] == kind]


def one(documents: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for d in documents if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def identities(documents: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(kind, namespace, name) of each object, in order."""
    return [(d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"]) for d in documents]


def manifests(**options: Any) -> list[dict[str, Any]]:
    """``shipway manifests`` as objects, through a YAML round trip (what kubectl reads)."""
    return [d for d in yaml.safe_load_all(yaml.safe_dump_all(install_manifests(**options), sort_keys=False)) if d]


def kustomize(directory: Path) -> list[dict[str, Any]]:
    """``kubectl kustomize DIRECTORY`` as objects (kubectl is a Debian package the Makefile installs)."""
    completed = subprocess.run(["kubectl", "kustomize", str(directory)], capture_output=True, text=True,
                               timeout=60, check=False)
    assert completed.returncode == 0, completed.stderr
    return [d for d in yaml.safe_load_all(completed.stdout) if d]


# ---------------------------------------------------------------------------------------------- PromQL

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_IDENTIFIER = re.compile(r"(?<![\w$.])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?")
KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
                      "group_left", "group_right", "inf", "nan", "Inf", "NaN", "e"})


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: identifiers that are not functions (followed by a
    parenthesis), keywords, label names (in matchers and grouping clauses) or durations."""
    text = _STRING.sub('""', expr)
    text = _MATCHERS.sub("", text)
    text = _RANGE.sub("", text)
    text = _GROUPING.sub("", text)
    found = set()
    for match in _IDENTIFIER.finditer(text):
        name, call = match.group(1), match.group(2)
        if call or name in KEYWORDS:
            continue
        found.add(name)
    return found
