"""The CLI's profiles: API URL and token per profile, in a file only its owner may read (0600)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from shipway.adapters.shipway_api import ShipwayApi
from shipway.core.errors import InvalidInput, NotFound
from shipway.core.secrets import Secret

DEFAULT_PROFILE = "default"


def config_path() -> Path:
    explicit = os.environ.get("SHIPWAY_CONFIG")
    if explicit:
        return Path(explicit)
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "shipway" / "config.yaml"


def _load(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"current": DEFAULT_PROFILE, "profiles": {}}
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError:
        raise InvalidInput("the config file is not valid YAML", field=str(path)) from None
    if not isinstance(data, dict) or not isinstance(data.get("profiles", {}), dict):
        raise InvalidInput("the config file has no 'profiles' mapping", field=str(path))
    return data


def save_profile(*, name: str, url: str, token: Secret, path: Path | None = None) -> Path:
    path = path or config_path()
    data = _load(path)
    data.setdefault("profiles", {})[name] = {"url": url, "token": token.reveal()}
    data["current"] = name
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(yaml.safe_dump(data, sort_keys=True))
    os.replace(path.with_suffix(".tmp"), path)
    path.chmod(0o600)
    return path


def api_client(profile: str | None = None) -> ShipwayApi:
    path = config_path()
    data = _load(path)
    name = profile or os.environ.get("SHIPWAY_PROFILE") or data.get("current") or DEFAULT_PROFILE
    entry = (data.get("profiles") or {}).get(name)
    if not entry:
        raise NotFound(f"no profile {name!r} in {path}: run 'shipway login URL' first")
    return ShipwayApi(url=str(entry["url"]), token=Secret(str(entry["token"])))
