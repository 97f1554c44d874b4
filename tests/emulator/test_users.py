"""users.yaml: the sandbox's users and their bearer tokens (like kube-apiserver's static token file)."""

from __future__ import annotations

import logging
import pathlib
import stat

import pytest

from shipway_sandbox.emulator import UsersFileError, ensure_users, generate_users, load_users, write_users


def test_generated_users_are_an_admin_in_system_masters_and_two_team_users_with_distinct_tokens() -> None:
    users = generate_users()
    assert [(u.name, u.groups) for u in users] == [
        ("admin", ("system:masters",)), ("team-a", ("team-a",)), ("team-b", ("team-b",))]
    tokens = {u.token for u in users}
    assert len(tokens) == 3 and all(len(t) >= 40 for t in tokens)
    assert generate_users().by_name("admin").token != users.by_name("admin").token
    assert users.admin.name == "admin"
    assert not any(t in repr(users) or t in repr(list(users)) for t in tokens)


def test_written_users_file_is_private_and_loads_back_the_same_users(
    tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    users = generate_users()
    path = write_users(tmp_path / "state" / "users.yaml", users)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_users(path)
    assert [(u.name, u.groups, u.token) for u in loaded] == [(u.name, u.groups, u.token) for u in users]
    assert not any(u.token in caplog.text for u in users)
    assert list(tmp_path.joinpath("state").iterdir()) == [path]  # no temporary file left behind


def test_ensure_creates_the_file_once_then_keeps_its_tokens(tmp_path: pathlib.Path) -> None:
    first, created = ensure_users(tmp_path / "users.yaml")
    again, created_again = ensure_users(tmp_path / "users.yaml")
    assert created and not created_again
    assert [u.token for u in first] == [u.token for u in again]


def test_a_bare_list_of_users_is_accepted_and_groups_may_be_omitted(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "users.yaml"
    path.write_text("- {name: alice, token: tok-alice}\n- {name: bob, groups: [dev], token: tok-bob, uid: '42'}\n")
    users = load_users(path)
    assert users.by_name("alice").groups == () and users.by_name("bob").uid == "42"
    assert users.by_token("tok-bob") is users.by_name("bob") and users.by_token("nope") is None


@pytest.mark.parametrize(("text", "expected"), [
    ("users: [", "not valid YAML"),
    ("users: {name: a}", "expected a list of users"),
    ("people: []", "unknown top-level keys ['people']"),
    ("users: [{name: a, groups: [g]}]", "users[0].token: a non-empty string is required"),
    ("users: [{name: '', token: secret-value-1}]", "users[0].name: a non-empty string is required"),
    ("users: [{name: a, groups: g, token: secret-value-1}]", "users[0].groups: a list of non-empty strings"),
    ("users: [{name: a, token: 'secret value-1'}]", "users[0].token: must not contain whitespace"),
    ("users: [{name: a, token: secret-value-1, password: x}]", "users[0]: unknown keys ['password']"),
    ("users: [{name: a, token: secret-value-1}, {name: b, token: secret-value-1}]",
     "users[1].token: the same token as an earlier user"),
    ("users: [{name: a, token: secret-value-1}, {name: a, token: secret-value-2}]", "users[1].name: duplicate user"),
])
def test_invalid_users_files_are_refused_naming_the_file_and_entry_but_never_a_token(
    tmp_path: pathlib.Path, text: str, expected: str,
) -> None:
    path = tmp_path / "users.yaml"
    path.write_text(text)
    with pytest.raises(UsersFileError) as caught:
        load_users(path)
    assert expected in str(caught.value) and str(path) in str(caught.value)
    assert "secret-value" not in str(caught.value) and "secret value" not in str(caught.value)


def test_a_missing_users_file_is_a_clear_error(tmp_path: pathlib.Path) -> None:
    with pytest.raises(UsersFileError, match="no such users file"):
        load_users(tmp_path / "absent.yaml")
