"""``shipway dockerconfig match``: the keys the kubelet tries for an image, exactly as written, in its order."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.cli.conftest import Run
from tests.cli.helpers import CANARY, auths, secret

EXAMPLE = "examples/dockerconfig.json"

EXAMPLE_MATCHES = [
    pytest.param("quay.io/org/app:1.0", ["quay.io/org", "quay.io"], id="a path key is printed before the host key"),
    pytest.param("quay.io/organic/app", ["quay.io/org", "quay.io"], id="the path prefix has no slash boundary"),
    pytest.param("quay.io/other/app", ["quay.io"], id="only the host key matches another organisation"),
    pytest.param("nginx", ["https://index.docker.io/v1/"], id="a Docker Hub image falls back to the hub key"),
    pytest.param("registry.example.com/app", ["*.example.com"], id="a glob key matches one label"),
    pytest.param("registry.example.com:5000/app", ["registry.example.com:5000"], id="a port key matches its port"),
]


@pytest.mark.parametrize(("image", "keys"), EXAMPLE_MATCHES)
def test_match_prints_the_keys_one_per_line_in_kubelet_order(cli: Run, image: str, keys: list[str]) -> None:
    result = cli("dockerconfig", "match", image, EXAMPLE)
    assert result.exit_code == 0
    assert result.stdout == "".join(f"{key}\n" for key in keys)
    assert result.stderr == ""


@pytest.mark.parametrize("image", [
    pytest.param("a.b.example.com/app", id="a glob does not match two labels"),
    pytest.param("ghcr.io/org/app", id="an unknown registry matches nothing"),
    pytest.param("registry.example.com:443/app", id="a port no key names matches nothing"),
])
def test_no_match_exits_1_with_nothing_on_stdout(cli: Run, image: str) -> None:
    result = cli("dockerconfig", "match", image, EXAMPLE)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("no auths key matches ")


def test_json_output_names_key_index_key_and_fallback(cli: Run) -> None:
    result = cli("dockerconfig", "match", "--json", "quay.io/org/app", EXAMPLE)
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"image": "quay.io/org/app", "matches": [
        {"key": "quay.io/org", "indexKey": "quay.io/org", "fallback": False},
        {"key": "quay.io", "indexKey": "quay.io", "fallback": False},
    ]}
    fallback = json.loads(cli("dockerconfig", "match", "nginx:1.27", EXAMPLE, "--json").stdout)
    assert fallback == {"image": "docker.io/library/nginx", "matches": [
        {"key": "https://index.docker.io/v1/", "indexKey": "index.docker.io", "fallback": True}]}


def test_json_output_without_a_match_exits_1_with_an_empty_list(cli: Run) -> None:
    result = cli("dockerconfig", "match", "--json", "ghcr.io/app", EXAMPLE)
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {"image": "ghcr.io/app", "matches": []}


def test_keys_are_printed_exactly_as_written_in_the_file(cli: Run, write) -> None:
    path = write("config.json", json.dumps(auths("https://quay.io/v2/org", "http://quay.io/")))
    result = cli("dockerconfig", "match", "quay.io/org/app", path)
    assert result.stdout == "https://quay.io/v2/org\nhttp://quay.io/\n"


def test_a_dash_reads_stdin(cli: Run) -> None:
    result = cli("dockerconfig", "match", "quay.io/org/app", "-", input=json.dumps(auths("quay.io")))
    assert (result.exit_code, result.stdout) == (0, "quay.io\n")


def test_several_files_are_one_index_with_duplicates_tried_in_file_order(cli: Run, write) -> None:
    first = write("first.json", json.dumps(auths("quay.io", "ghcr.io")))
    second = write("second.yaml", yaml.safe_dump(secret("second", auths("https://quay.io/", "quay.io/org"))))
    result = cli("dockerconfig", "match", "quay.io/org/app", first, second)
    assert result.stdout == "quay.io/org\nquay.io\nhttps://quay.io/\n"
    swapped = cli("dockerconfig", "match", "quay.io/org/app", second, first)
    assert swapped.stdout == "quay.io/org\nhttps://quay.io/\nquay.io\n"


def test_stdin_and_files_mix(cli: Run, write) -> None:
    path = write("a.json", json.dumps(auths("quay.io")))
    result = cli("dockerconfig", "match", "quay.io/org/app", path, "-", input=json.dumps(auths("quay.io/org")))
    assert result.stdout == "quay.io/org\nquay.io\n"


SECRET_FORMATS = [
    pytest.param(False, False, "yaml", id="a dockerconfigjson Secret in YAML with stringData"),
    pytest.param(False, True, "yaml", id="a dockerconfigjson Secret in YAML with base64 data"),
    pytest.param(True, False, "yaml", id="a dockercfg Secret in YAML with stringData"),
    pytest.param(True, True, "yaml", id="a dockercfg Secret in YAML with base64 data"),
    pytest.param(False, False, "json", id="a dockerconfigjson Secret in JSON with stringData"),
    pytest.param(False, True, "json", id="a dockerconfigjson Secret in JSON with base64 data"),
    pytest.param(True, False, "json", id="a dockercfg Secret in JSON with stringData"),
    pytest.param(True, True, "json", id="a dockercfg Secret in JSON with base64 data"),
]


@pytest.mark.parametrize(("legacy", "as_data", "syntax"), SECRET_FORMATS)
def test_secret_manifests_of_each_type(cli: Run, write, legacy: bool, as_data: bool, syntax: str) -> None:
    manifest = secret("pull", auths("ghcr.io", "https://ghcr.io/v2/team"), legacy=legacy, as_data=as_data)
    text = yaml.safe_dump(manifest) if syntax == "yaml" else json.dumps(manifest, indent=2)
    result = cli("dockerconfig", "match", "ghcr.io/team/app", write(f"secret.{syntax}", text))
    assert (result.exit_code, result.stdout) == (0, "https://ghcr.io/v2/team\nghcr.io\n")


def test_a_bare_legacy_dockercfg_file(cli: Run, write) -> None:
    path = write("legacy.json", json.dumps(auths("ghcr.io")["auths"]))
    assert cli("dockerconfig", "match", "ghcr.io/app", path).stdout == "ghcr.io\n"


def test_several_secrets_in_one_yaml_stream_and_in_a_list(cli: Run, write) -> None:
    stream = yaml.safe_dump_all([secret("a", auths("quay.io")), secret("b", auths("quay.io/org"), legacy=True)])
    listed = yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [
        secret("a", auths("quay.io")), secret("b", auths("quay.io/org"), as_data=True)]})
    for text in (stream, listed):
        result = cli("dockerconfig", "match", "quay.io/org/app", write("many.yaml", text))
        assert result.stdout == "quay.io/org\nquay.io\n"


# --- refusals ------------------------------------------------------------------------------------

BAD_EXAMPLES = [
    pytest.param("bad-auth.json", "examples/bad/bad-auth.json.auths[0].auth", id="an auth without a colon"),
    pytest.param("bad-glob.json", "examples/bad/bad-glob.json.auths[0]", id="a malformed glob"),
    pytest.param("credhelpers.json", "examples/bad/credhelpers.json.credHelpers", id="credHelpers"),
    pytest.param("port-out-of-range.json", "examples/bad/port-out-of-range.json.auths[0]",
                 id="a port out of range"),
]


@pytest.mark.parametrize(("name", "field"), BAD_EXAMPLES)
def test_bad_examples_fail_with_one_error_line_naming_the_field(cli: Run, name: str, field: str) -> None:
    result = cli("dockerconfig", "match", "ghcr.io/app", f"examples/bad/{name}")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: {field}: ")
    assert result.stderr.count("\n") == 1 and result.stderr.endswith("\n")


def canary_document(**entry: object) -> str:
    return json.dumps({"auths": {"ghcr.io": entry}})


GENERATED_BAD = [
    pytest.param(b'{"auths": {"ghcr.io": \xff}}', "bad.json", "not UTF-8", 2, id="bytes that are not UTF-8"),
    pytest.param('{"auths": {"ghcr.io": {"username": "u", "password": "' + CANARY + '"}', "bad.json",
                 "not valid YAML or JSON", 2, id="truncated JSON holding the canary"),
    pytest.param("", "bad.json", "empty", 2, id="an empty file"),
    pytest.param("- just\n- a list\n", "bad.yaml", "JSON object", 2, id="a YAML list"),
    pytest.param(canary_document(username="u", password=CANARY, identitytoken=CANARY), "bad.json",
                 "auths[0].identitytoken", 2, id="an identitytoken next to the canary"),
    pytest.param(canary_document(auth=CANARY), "bad.json", "auths[0].auth", 2,
                 id="the canary as an auth that is not base64"),
    pytest.param(canary_document(username="u", password=CANARY, extra=CANARY), "bad.json", "unknown field", 2,
                 id="an unknown field holding the canary"),
    pytest.param(json.dumps({"auths": {"ghcr.io:http": {"username": "u", "password": CANARY}}}), "bad.json",
                 "is not a number", 2, id="a non-numeric port"),
    pytest.param(yaml.safe_dump({**secret("s", auths("ghcr.io")), "type": "Opaque"}), "bad.yaml", ".type", 2,
                 id="a Secret of another type"),
    pytest.param(yaml.safe_dump({**secret("s", auths("ghcr.io"), as_data=True),
                                 "data": {".dockerconfigjson": "@@" + CANARY}}), "bad.yaml",
                 "data[.dockerconfigjson]", 2, id="Secret data that is not base64"),
    pytest.param(b'{"auths": {}}' + b" " * (1024 * 1024), "big.json", "over the limit", 2,
                 id="a file over 1 MiB"),
]


@pytest.mark.parametrize(("content", "name", "words", "code"), GENERATED_BAD)
def test_generated_bad_files_fail_with_one_error_line(cli: Run, write, content: str | bytes, name: str,
                                                      words: str, code: int) -> None:
    path = write(name, content)
    result = cli("dockerconfig", "match", "ghcr.io/app", path)
    assert result.exit_code == code
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: {path}")
    assert words in result.stderr
    assert result.stderr.count("\n") == 1


def test_a_missing_file_and_a_directory_are_errors(cli: Run, tmp_path) -> None:
    missing = cli("dockerconfig", "match", "ghcr.io/app", str(tmp_path / "nope.json"))
    assert (missing.exit_code, missing.stdout) == (2, "")
    assert missing.stderr == f"error: {tmp_path / 'nope.json'}: no such file\n"
    directory = cli("dockerconfig", "match", "ghcr.io/app", str(tmp_path))
    assert (directory.exit_code, directory.stderr) == (2, f"error: {tmp_path}: not a regular file\n")


def test_an_invalid_image_is_an_error(cli: Run) -> None:
    result = cli("dockerconfig", "match", "Quay.io/Org/App", EXAMPLE)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("error: image: ") and "lowercase" in result.stderr


def test_stdin_over_1_mib_is_refused(cli: Run) -> None:
    result = cli("dockerconfig", "match", "ghcr.io/app", "-", input=b" " * (1024 * 1024 + 1))
    assert (result.exit_code, result.stderr) == (2, "error: -: over the limit of 1048576 bytes\n")


def test_one_bad_file_among_good_ones_fails_the_whole_command(cli: Run, write) -> None:
    good = write("good.json", json.dumps(auths("ghcr.io")))
    result = cli("dockerconfig", "match", "ghcr.io/app", good, "examples/bad/bad-auth.json")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("error: examples/bad/bad-auth.json")
