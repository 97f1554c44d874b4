"""``-o table|json|yaml`` on every read command: JSON and YAML parse and hold the same document, ``--json``
still works as ``-o json``, and tables keep every fingerprint whole when stdout is not a terminal, however
narrow the terminal would be."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from shipway.cli import output
from tests.cli.conftest import Run
from tests.cli.fake_api import FINGERPRINTS, REGISTRY_SECRET, FakeApi

EXAMPLES = ["examples/platform.yaml", "examples/pipeline.yaml", "examples/secrets.yaml"]
UNREACHABLE = "127.0.0.1:9"  # the discard port: the connection is refused at once

# Every read command, as (arguments, exit code): the API's through the fake, the local ones on the examples.
READ_COMMANDS = [
    pytest.param(["pipeline", "list"], 0, id="pipeline list"),
    pytest.param(["pipeline", "get", "shop"], 0, id="pipeline get"),
    pytest.param(["registry", "show", "--pipeline", "shop"], 0, id="registry show"),
    pytest.param(["registry", "explain", "ghcr.io/team-a/shop:1.0", "--pipeline", "shop", "--phase", "stage"], 0,
                 id="registry explain"),
    pytest.param(["registry", "verify", "--pipeline", "shop", "--registry", "ghcr.io/team-a"], 0,
                 id="registry verify --pipeline"),
    pytest.param(["registry", "verify", "--registry", UNREACHABLE, "--timeout", "2"], 1, id="registry verify"),
    pytest.param(["resolve", *EXAMPLES], 0, id="resolve"),
    pytest.param(["dockerconfig", "match", "quay.io/org/app", "examples/dockerconfig.json"], 0,
                 id="dockerconfig match"),
    pytest.param(["dockerconfig", "match", "ghcr.io/app", "examples/dockerconfig.json"], 1,
                 id="dockerconfig match, none"),
]


def stable(document: Any) -> Any:
    """A document without the times a local registry check records (two runs differ there only)."""
    if isinstance(document, dict):
        return {k: stable(v) for k, v in document.items() if k != "checked_at"}
    if isinstance(document, list):
        return [stable(v) for v in document]
    return document


@pytest.mark.usefixtures("fake_api")
@pytest.mark.parametrize(("args", "code"), READ_COMMANDS)
def test_json_and_yaml_parse_and_hold_the_same_document(cli: Run, args: list[str], code: int) -> None:
    as_json = cli(*args, "-o", "json")
    as_yaml = cli(*args, "--output", "yaml")
    assert (as_json.exit_code, as_yaml.exit_code) == (code, code), as_json.stderr + as_yaml.stderr
    document = json.loads(as_json.stdout)
    assert stable(document) == stable(yaml.safe_load(as_yaml.stdout))
    assert document  # not an empty answer
    assert as_json.stderr == as_yaml.stderr == ""


@pytest.mark.usefixtures("fake_api")
@pytest.mark.parametrize(("args", "code"), READ_COMMANDS)
def test_the_old_json_flag_is_o_json(cli: Run, args: list[str], code: int) -> None:
    old = cli(*args, "--json")
    new = cli(*args, "-o", "json")
    assert (old.exit_code, new.exit_code) == (code, code)
    assert stable(json.loads(old.stdout)) == stable(json.loads(new.stdout))
    refused = cli(*args, "--json", "-o", "yaml")
    assert refused.exit_code == 2
    assert refused.stderr.startswith("error: --json: ") and refused.stderr.count("\n") == 1


@pytest.mark.usefixtures("fake_api")
@pytest.mark.parametrize(("args", "code"), READ_COMMANDS)
def test_the_table_is_the_default_and_case_does_not_matter(cli: Run, args: list[str], code: int) -> None:
    default = cli(*args)
    assert default.exit_code == code
    assert cli(*args, "-o", "TABLE").stdout == default.stdout == cli(*args, "-o", "table").stdout
    assert default.stdout.strip() or default.stderr.startswith("no auths key matches")
    with pytest.raises(json.JSONDecodeError):
        json.loads(default.stdout)


@pytest.mark.parametrize("columns", ["20", "80", "200"])
def test_piped_tables_keep_every_fingerprint_whole(cli: Run, fake_api: FakeApi, monkeypatch: pytest.MonkeyPatch,
                                                   columns: str) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    view = json.loads(cli("registry", "show", "--pipeline", "shop", "-o", "json").stdout)
    expected = {e["fingerprint"] for phase in view["phases"] for e in [*phase["pull"], phase["push"]]}
    assert expected == set(FINGERPRINTS[:2])
    table = cli("registry", "show", "--pipeline", "shop").stdout
    assert "…" not in table
    shown = re.findall(r"sha256:[0-9a-f]+", table)
    assert set(shown) >= expected
    assert all(len(f) == len("sha256:") + 16 for f in shown), shown  # none cut, none folded
    assert REGISTRY_SECRET in table  # long cells are not cut either
    for name in ("stage", "production"):
        assert f"shop / {name} (namespace " in table  # titles are lines of their own, not wrapped


def test_registry_show_says_pull_or_push_on_every_row(cli: Run, fake_api: FakeApi) -> None:
    table = cli("registry", "show", "--pipeline", "shop").stdout
    rows = [line.strip("│ ") for line in table.splitlines() if line.startswith("│")]
    uses = [row.split()[0] for row in rows]
    # per phase: the two pull keys, then the push entry, whose key is also pulled from: said twice, explicitly
    assert uses == ["pull", "pull", "push"] * 2, rows
    assert sum("ghcr.io/team-a" in row for row in rows) == 4
    assert "push repository: ghcr.io/team-a/shop" in table


@pytest.mark.usefixtures("fake_api")
@pytest.mark.parametrize("args", [
    ["resolve", *EXAMPLES],
    ["pipeline", "list"],
    ["registry", "explain", "ghcr.io/team-a/shop:1.0", "--pipeline", "shop", "--phase", "stage"],
])
def test_narrow_piped_output_is_never_folded(cli: Run, monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    monkeypatch.setenv("COLUMNS", "20")
    narrow = cli(*args).stdout
    monkeypatch.setenv("COLUMNS", "300")
    assert narrow == cli(*args).stdout
    assert "…" not in narrow


def test_a_bad_format_is_bad_input(cli: Run) -> None:
    result = cli("resolve", *EXAMPLES, "-o", "xml")
    assert result.exit_code == 2


def test_on_a_narrow_terminal_cells_fold_and_lose_no_character(cli: Run, fake_api: FakeApi,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(output, "is_terminal", lambda: True)
    monkeypatch.setenv("COLUMNS", "70")
    table = cli("registry", "show", "--pipeline", "shop").stdout
    assert "…" not in table
    assert max(len(line) for line in table.splitlines()) <= 70
    rows: list[list[str]] = []
    for line in table.splitlines():
        if not line.startswith("│"):
            continue
        cells = [cell.strip() for cell in line.strip("│").split("│")]
        if cells[0]:  # a new row; a folded one continues with an empty first cell
            rows.append(cells)
        else:
            rows[-1] = [a + b for a, b in zip(rows[-1], cells, strict=True)]
    assert [row[5] for row in rows] == [FINGERPRINTS[0], FINGERPRINTS[1], FINGERPRINTS[0]] * 2
    assert {row[3] for row in rows} == {f"shipway-system/{REGISTRY_SECRET}", "shipway-system/default-registry"}
