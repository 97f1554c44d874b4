"""The sandbox's users: ``users.yaml`` (name, groups, bearer token), as a static token file of kube-apiserver.

The file::

    # written by the sandbox with mode 0600: it holds bearer tokens
    users:
      - name: admin
        groups: [system:masters]
        token: <random>
      - name: team-a
        groups: [team-a]
        token: <random>

A bare list of the same entries is read too. Each entry has ``name`` (the username), ``groups`` (a list,
may be empty), ``token`` (non-empty, no whitespace, unique in the file) and optionally ``uid``.

The generated admin is in ``system:masters``, the group a real API server allows everything without
consulting RBAC (its privileged-group authorizer); the team users are only in their own team group, so
whatever they may do comes from RBAC objects stored in the emulator. Token values are never logged, never
part of an error message and hidden from ``repr``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import pathlib
import re
import secrets
import stat
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import yaml

from shipway_sandbox.emulator.access import UserInfo

logger = logging.getLogger(__name__)

MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
ANONYMOUS = "system:anonymous"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
SERVICE_ACCOUNTS_GROUP = "system:serviceaccounts"
ADMIN = "admin"
TEAMS = ("team-a", "team-b")
TOKEN_BYTES = 32

_KEYS = frozenset({"name", "groups", "token", "uid"})
_WHITESPACE = re.compile(r"\s")


class UsersFileError(ValueError):
    """A users file that cannot be used (the message names the file and the entry, never a token)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class User:
    name: str
    groups: tuple[str, ...] = ()
    token: str = dataclasses.field(repr=False)
    uid: str = ""

    def info(self) -> UserInfo:
        """Who this user is once authenticated: its groups plus those the API server adds."""
        return UserInfo(username=self.name, uid=self.uid, groups=authenticated_groups(self.name, self.groups))


def authenticated_groups(username: str, groups: Iterable[str]) -> tuple[str, ...]:
    """``groups`` plus what kube-apiserver adds: service-account groups and ``system:authenticated``."""
    result = list(dict.fromkeys(groups))
    namespace = service_account_namespace(username)
    extra = [SERVICE_ACCOUNTS_GROUP, f"{SERVICE_ACCOUNTS_GROUP}:{namespace}"] if namespace else []
    for group in [*extra, AUTHENTICATED]:
        if group not in result:
            result.append(group)
    return tuple(result)


def service_account_namespace(username: str) -> str | None:
    """The namespace of a ``system:serviceaccount:NS:NAME`` username, else None."""
    if not username.startswith(SERVICE_ACCOUNT_PREFIX):
        return None
    parts = username[len(SERVICE_ACCOUNT_PREFIX):].split(":")
    return parts[0] if len(parts) == 2 and all(parts) else None


ANONYMOUS_USER = UserInfo(username=ANONYMOUS, groups=(UNAUTHENTICATED,))


class Users:
    """The users of one users file, looked up by token (constant-time comparison) or by name."""

    def __init__(self, users: Iterable[User], *, source: str = "users") -> None:
        self._users = tuple(users)
        self.source = source
        _check_unique(self._users, source)

    def __iter__(self) -> Iterator[User]:
        return iter(self._users)

    def __len__(self) -> int:
        return len(self._users)

    def __repr__(self) -> str:
        return f"Users({[u.name for u in self._users]!r}, source={self.source!r})"

    def by_name(self, name: str) -> User:
        for user in self._users:
            if user.name == name:
                return user
        raise KeyError(name)

    def by_token(self, token: str) -> User | None:
        found = None
        for user in self._users:  # look at every entry: no early exit that times which one matched
            if secrets.compare_digest(user.token.encode(), token.encode()):
                found = user
        return found

    @property
    def admin(self) -> User:
        """The user a kubeconfig is written for: ``admin``, else the first ``system:masters`` member, else
        the first user."""
        if not self._users:
            raise UsersFileError(f"{self.source}: no users")
        for user in self._users:
            if user.name == ADMIN:
                return user
        return next((u for u in self._users if MASTERS in u.groups), self._users[0])

    async def __call__(self, headers: Mapping[str, str]) -> UserInfo | None:
        """An :class:`~shipway_sandbox.emulator.access.Authenticator`: a kube-apiserver with a token file.

        No bearer token: the anonymous user (``--anonymous-auth`` is on by default); an unknown token: None
        (401); a known one: the user with ``system:authenticated`` added.
        """
        token = bearer_token(headers)
        if token is None:
            return ANONYMOUS_USER
        user = self.by_token(token)
        return None if user is None else user.info()


def bearer_token(headers: Mapping[str, str]) -> str | None:
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def _check_unique(users: tuple[User, ...], source: str) -> None:
    names: set[str] = set()
    tokens: set[str] = set()
    for index, user in enumerate(users):
        if user.name in names:
            raise UsersFileError(f"{source}: users[{index}].name: duplicate user {user.name!r}")
        if user.token in tokens:
            raise UsersFileError(f"{source}: users[{index}].token: the same token as an earlier user")
        names.add(user.name)
        tokens.add(user.token)


def parse(text: str, *, source: str = "users.yaml") -> Users:
    """Users from the text of a users file; :class:`UsersFileError` when it is not valid."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        raise UsersFileError(f"{source}: not valid YAML{line}") from None
    if isinstance(document, dict):
        unknown = set(document) - {"users"}
        if unknown:
            raise UsersFileError(f"{source}: unknown top-level keys {sorted(map(str, unknown))}; expected 'users'")
        document = document.get("users")
    if not isinstance(document, list):
        raise UsersFileError(f"{source}: expected a list of users (or a mapping with a 'users' list)")
    return Users([_parse_user(entry, f"{source}: users[{index}]") for index, entry in enumerate(document)],
                 source=source)


def _parse_user(entry: Any, where: str) -> User:
    if not isinstance(entry, dict):
        raise UsersFileError(f"{where}: expected a mapping with name, groups and token")
    unknown = set(entry) - _KEYS
    if unknown:
        raise UsersFileError(f"{where}: unknown keys {sorted(map(str, unknown))}; expected name, groups, token, uid")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise UsersFileError(f"{where}.name: a non-empty string is required")
    groups = entry.get("groups")
    if groups is None:
        groups = []
    if not isinstance(groups, list) or not all(isinstance(g, str) and g for g in groups):
        raise UsersFileError(f"{where}.groups: a list of non-empty strings is required")
    token = entry.get("token")
    if not isinstance(token, str) or not token:
        raise UsersFileError(f"{where}.token: a non-empty string is required")
    if _WHITESPACE.search(token):
        raise UsersFileError(f"{where}.token: must not contain whitespace")
    uid = entry.get("uid", "")
    if not isinstance(uid, str):
        raise UsersFileError(f"{where}.uid: must be a string")
    return User(name=name, groups=tuple(groups), token=token, uid=uid)


def load(path: str | os.PathLike[str]) -> Users:
    """Users from a users file; :class:`UsersFileError` when it is missing, unreadable or not valid."""
    path = pathlib.Path(path)
    try:
        text = path.read_text()
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise UsersFileError(f"{path}: no such users file") from None
    except OSError as exc:
        raise UsersFileError(f"{path}: cannot be read: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        logger.warning("users file %s is accessible to other users (mode %o); it holds bearer tokens",
                       path, stat.S_IMODE(mode))
    return parse(text, source=str(path))


def generate(*, admin: str = ADMIN, teams: Iterable[str] = TEAMS, service_accounts: Iterable[str] = ()) -> Users:
    """The sandbox's users with fresh random tokens: an admin in ``system:masters``, one user per team, in a
    group of the team's name, and ``service_accounts`` (``system:serviceaccount:NS:NAME`` usernames; their
    groups are added at authentication, as for a real ServiceAccount token)."""
    made = [User(name=admin, groups=(MASTERS,), token=new_token())]
    made += [User(name=team, groups=(team,), token=new_token()) for team in teams]
    made += [User(name=account, token=new_token()) for account in service_accounts]
    return Users(made, source="generated")


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def render(users: Iterable[User]) -> str:
    entries = [{"name": u.name, "groups": list(u.groups), "token": u.token, **({"uid": u.uid} if u.uid else {})}
               for u in users]
    header = "# Sandbox users: bearer tokens for the Kubernetes API emulator. Keep this file private.\n"
    return header + yaml.safe_dump({"users": entries}, sort_keys=False)


def write(path: pathlib.Path | str, users: Iterable[User]) -> pathlib.Path:
    """Write a users file with mode 0600 (created so, never readable by others even for a moment)."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(render(users))
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    logger.info("wrote users file %s", path)
    return path


def ensure(path: pathlib.Path | str, *, service_accounts: Iterable[str] = ()) -> tuple[Users, bool]:
    """The users of ``path``, generating and writing the sandbox's users first when it does not exist (and
    adding any of ``service_accounts`` it lacks).

    Returns the users and whether they were just created.
    """
    path = pathlib.Path(path)
    wanted = list(service_accounts)
    if path.exists():
        found = load(path)
        names = {u.name for u in found}
        missing = [User(name=account, token=new_token()) for account in wanted if account not in names]
        if not missing:
            return found, False
        users = Users([*found, *missing], source=str(path))
        write(path, users)
        return users, False
    users = generate(service_accounts=wanted)
    write(path, users)
    return Users(users, source=str(path)), True
