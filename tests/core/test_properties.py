"""Properties of parsing, rendering, matching and fingerprints, checked on generated inputs."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from shipway.core.dockerconfig import AuthEntry, parse_docker_config, render_dockerconfigjson
from shipway.core.documents import docker_configs_of_document
from shipway.core.errors import ShipwayError
from shipway.core.fingerprints import entry_fingerprint, set_fingerprint
from shipway.core.images import parse_image
from shipway.core.keyring import Keyring
from shipway.core.registry_keys import key_matches

SETTINGS = settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

# --- strategies ----------------------------------------------------------------------------------

ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
WORD = st.text(alphabet=ALNUM, min_size=1, max_size=6)
LABEL = WORD | st.tuples(WORD, WORD).map("-".join)
COMPONENT = WORD | st.tuples(WORD, st.sampled_from("._-"), WORD).map("".join)
PORT = st.integers(min_value=1, max_value=65535).map(str)


@st.composite
def hosts(draw: st.DrawFn) -> str:
    """A registry host as an image names it: dotted, or with a port (so it is never read as a Hub user)."""
    labels = draw(st.lists(LABEL, min_size=1, max_size=4))
    port = draw(st.none() | PORT)
    if len(labels) == 1 and port is None:
        labels.append(draw(st.sampled_from(["io", "com", "example"])))
    return ".".join(labels) + (f":{port}" if port else "")


@st.composite
def images(draw: st.DrawFn) -> str:
    """An image reference: maybe a host, one to three path components, maybe a tag."""
    host = draw(st.none() | hosts() | st.sampled_from(["docker.io", "index.docker.io", "localhost:5000"]))
    path = "/".join(draw(st.lists(COMPONENT, min_size=1, max_size=3)))
    tag = draw(st.none() | st.tuples(WORD, st.sampled_from(["", ".1", "-rc"])).map("".join))
    return (f"{host}/" if host else "") + path + (f":{tag}" if tag else "")


@st.composite
def keys(draw: st.DrawFn) -> str:
    """A valid auths key: maybe a scheme, a host whose labels may be globs, maybe /v1/ or /v2/, maybe a path."""
    labels = draw(st.lists(LABEL | st.sampled_from(["*", "reg*", "*-mirror", "r[a-m]*", "m[^x]*"]),
                           min_size=1, max_size=3))
    host = ".".join(labels)
    port = draw(st.none() | PORT)
    scheme = draw(st.sampled_from(["", "https://", "http://"]))
    prefix = draw(st.sampled_from(["", "/v1", "/v2"]))
    path = draw(st.lists(COMPONENT, max_size=2))
    return scheme + host + (f":{port}" if port else "") + prefix + "".join(f"/{c}" for c in path)


USERNAMES = st.text(max_size=12).filter(lambda u: ":" not in u)
PASSWORDS = st.text(min_size=1, max_size=24)
EMAILS = st.none() | st.emails()

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
ENTRY_FIELDS = st.sampled_from(["username", "password", "auth", "email", "serveraddress", "identitytoken",
                                "registrytoken", "token"])


def auths_of(config: dict[str, tuple[str, str]]) -> str:
    return json.dumps({"auths": {k: {"username": u, "password": p} for k, (u, p) in config.items()}})


def ident(entry: AuthEntry) -> tuple[str, str]:
    return entry.key, entry.password.reveal()


# --- the parser only ever raises ShipwayError ----------------------------------------------------


def only_shipway_errors(call: Any) -> None:
    with contextlib.suppress(ShipwayError):
        call()


@SETTINGS
@given(st.binary(max_size=300))
def test_parsing_arbitrary_bytes_raises_only_shipway_errors(data: bytes) -> None:
    only_shipway_errors(lambda: parse_docker_config(data))


@SETTINGS
@given(st.binary(max_size=300))
def test_reading_arbitrary_files_raises_only_shipway_errors(data: bytes) -> None:
    only_shipway_errors(lambda: docker_configs_of_document(data, where="file"))


@SETTINGS
@given(JSON)
def test_parsing_arbitrary_json_documents_raises_only_shipway_errors(document: Any) -> None:
    only_shipway_errors(lambda: parse_docker_config(json.dumps(document)))
    only_shipway_errors(lambda: parse_docker_config(json.dumps({"auths": document})))


@SETTINGS
@given(st.dictionaries(st.text(max_size=20) | keys(), st.dictionaries(ENTRY_FIELDS, JSON, max_size=4), max_size=3))
def test_parsing_arbitrary_auths_entries_raises_only_shipway_errors(auths: dict[str, Any]) -> None:
    only_shipway_errors(lambda: parse_docker_config(json.dumps({"auths": auths})))
    only_shipway_errors(lambda: parse_docker_config(json.dumps(auths)))


# --- render/parse round trip ---------------------------------------------------------------------


@SETTINGS
@given(st.dictionaries(keys(), st.tuples(USERNAMES, PASSWORDS, EMAILS), min_size=0, max_size=5))
def test_valid_configs_round_trip_through_render_and_parse(config: dict[str, tuple[str, str, str | None]]) -> None:
    document = {"auths": {
        key: {"username": u, "password": p, **({"email": e} if e else {})} for key, (u, p, e) in config.items()
    }}
    original = parse_docker_config(json.dumps(document))
    again = parse_docker_config(render_dockerconfigjson(original.entries))
    assert {e.key: (e.registry, e.username, e.password.reveal(), e.email) for e in again.entries} == {
        key: (parse_docker_config(json.dumps({"auths": {key: {"password": "x"}}})).entries[0].registry, u, p, e)
        for key, (u, p, e) in config.items()
    }
    assert render_dockerconfigjson(again.entries) == render_dockerconfigjson(original.entries)


# --- matching invariants -------------------------------------------------------------------------


@SETTINGS
@given(images(), st.lists(keys(), max_size=4), st.sampled_from(["", "https://", "http://"]),
       st.sampled_from(["", "/", "/v2/", "/v1/"]))
def test_a_host_only_key_of_the_images_own_host_always_matches(
    image: str, others: list[str], scheme: str, suffix: str
) -> None:
    ref = parse_image(image)
    own = scheme + ref.domain + suffix
    assume(own not in others)
    config = {key: ("u", f"pw-{i}") for i, key in enumerate([*others, own])}
    matches = Keyring([parse_docker_config(auths_of(config)).entries]).lookup(image)
    assert own in [m.entry.key for m in matches if not m.fallback]


@SETTINGS
@given(st.lists(st.lists(keys(), max_size=4, unique=True), max_size=3))
def test_the_index_is_the_reverse_sorted_set_of_normalised_keys(files: list[list[str]]) -> None:
    configs = [parse_docker_config(auths_of({k: ("u", "p") for k in file})).entries for file in files]
    keyring = Keyring(configs)
    normalised = {entry.registry.text for entries in configs for entry in entries}
    assert keyring.index == tuple(sorted(normalised, reverse=True))
    assert list(keyring.index) == sorted(keyring.index, reverse=True)
    assert len(set(keyring.index)) == len(keyring.index)


@SETTINGS
@given(images(), st.lists(keys(), max_size=4, unique=True), keys())
def test_adding_an_unrelated_key_never_removes_a_match(image: str, base: list[str], extra: str) -> None:
    ref = parse_image(image)
    extra_entries = parse_docker_config(auths_of({extra: ("x", "extra-pw")})).entries
    assume(not key_matches(extra_entries[0].registry, ref.name))
    base_entries = parse_docker_config(auths_of({k: ("u", f"pw-{i}") for i, k in enumerate(base)})).entries
    before = [ident(m.entry) for m in Keyring([base_entries]).lookup(ref)]
    after = [ident(m.entry) for m in Keyring([base_entries, extra_entries]).lookup(ref)]
    assert [item for item in after if item in before] == before


@SETTINGS
@given(images(), st.lists(keys(), max_size=4, unique=True), st.lists(keys(), max_size=2, unique=True))
def test_adding_any_key_never_removes_a_direct_match(image: str, base: list[str], extra: list[str]) -> None:
    base_entries = parse_docker_config(auths_of({k: ("u", f"pw-{i}") for i, k in enumerate(base)})).entries
    extra_entries = parse_docker_config(auths_of({k: ("x", f"extra-{i}") for i, k in enumerate(extra)})).entries
    before = [ident(m.entry) for m in Keyring([base_entries]).lookup(image) if not m.fallback]
    after = [ident(m.entry) for m in Keyring([base_entries, extra_entries]).lookup(image)]
    assert [item for item in after if item in before] == before


@SETTINGS
@given(images(), st.lists(keys() | st.sampled_from(["index.docker.io", "https://index.docker.io/v1/", "docker.io"]),
                          max_size=5, unique=True))
def test_the_fallback_never_fires_when_some_key_matched(image: str, config_keys: list[str]) -> None:
    entries = parse_docker_config(auths_of({k: ("u", f"pw-{i}") for i, k in enumerate(config_keys)})).entries
    ref = parse_image(image)
    matches = Keyring([entries]).lookup(ref)
    direct = [e for e in entries if key_matches(e.registry, ref.name)]
    if direct:
        assert not any(m.fallback for m in matches)
        assert {ident(m.entry) for m in matches} == {ident(e) for e in direct}
    if any(m.fallback for m in matches):
        assert ref.on_docker_hub
        assert {m.entry.registry.text for m in matches} == {"index.docker.io"}


# --- fingerprints --------------------------------------------------------------------------------


def entry(key: str, username: str, password: str) -> AuthEntry:
    return parse_docker_config(auths_of({key: (username, password)})).entries[0]


@SETTINGS
@given(keys(), USERNAMES, PASSWORDS, PASSWORDS)
def test_fingerprints_are_deterministic_and_follow_the_password(key: str, user: str, pw: str, other: str) -> None:
    first = entry_fingerprint(entry(key, user, pw))
    assert first == entry_fingerprint(entry(key, user, pw))
    assert first.startswith("sha256:") and len(first) == len("sha256:") + 16
    if other != pw:
        assert entry_fingerprint(entry(key, user, other)) != first


@SETTINGS
@given(keys(), USERNAMES, st.text(min_size=6, max_size=40))
def test_fingerprints_never_contain_the_password(key: str, user: str, password: str) -> None:
    assume(not set(password) <= set("0123456789abcdef"))
    digest = entry_fingerprint(entry(key, user, password))
    assert password not in digest
    assert password not in set_fingerprint([(key, digest)])


@SETTINGS
@given(st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8)), max_size=5), st.randoms())
def test_set_fingerprints_ignore_order(parts: list[tuple[str, str]], random: Any) -> None:
    shuffled = list(parts)
    random.shuffle(shuffled)
    assert set_fingerprint(parts) == set_fingerprint(shuffled)
