"""``shipway registry``: check registry credentials against the registry itself.

``shipway registry verify --registry HOST`` answers whether a credential is valid and, with
``--repository``, whether it may pull and push there. The password comes only from stdin
(``--password-stdin``) or from a docker config file (``--config FILE``), never from an argument.
Exit status: 0 when every check that ran passed, 1 when one failed, as ``shipway.cli.errors`` maps
errors otherwise (2 for bad input).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from shipway.adapters import registry as registry_client
from shipway.adapters.registry import addresses
from shipway.cli import files, output, profiles
from shipway.cli.errors import field_renamer, handles_errors, option_names
from shipway.core import dockerconfig, errors, images, keyring
from shipway.core.secrets import Secret

app = typer.Typer(help="Registry credentials: verify against a registry; set, reference, remove, show, explain "
                       "them per layer through the API.", no_args_is_help=True)


@app.callback()
def registry() -> None:
    """Registry credentials: verify, set, use-secret, remove, show, explain."""

MAX_PASSWORD_BYTES = 64 * 1024


def credential_from_config(
    data: bytes, *, registry: str, repository: str | None, username: str | None
) -> registry_client.Credential:
    """The entry of a docker config the kubelet would use for ``registry/repository`` (the core's keyring:
    the most specific key first), of ``username`` if given."""
    address = addresses.parse_registry(registry)
    config = dockerconfig.parse_docker_config(data, field="config")
    host = f"[{address.host}]" if ":" in address.host else address.host
    if address.port is None and host in images.DOCKER_HUB_HOSTS:
        host = images.DOCKER_HUB  # Docker Hub by any of its names, as the keyring keys it
    authority = host if address.port is None else f"{host}:{address.port}"
    # Always "domain/": a bare host would read as a Docker Hub image name (the kubelet's default-registry rule).
    name = f"{authority}/{(repository or '').strip('/')}"
    matches = keyring.Keyring([config.entries]).lookup_name(name)
    chosen = [m.entry for m in matches if username is None or m.entry.username == username]
    if not chosen:
        raise errors.NotFound("the docker config has no entry for this registry", field="--config")
    return registry_client.Credential(chosen[0].username, chosen[0].password)


def read_password(stream: bytes) -> Secret:
    """The first line of ``stream``, without its line ending."""
    if len(stream) > MAX_PASSWORD_BYTES:
        raise errors.PayloadTooLarge("the password on stdin is too long", field="--password-stdin")
    try:
        text = stream.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.InvalidInput("the password on stdin is not UTF-8", field="--password-stdin") from None
    line = text.splitlines()[0] if text.splitlines() else ""
    if not line:
        raise errors.InvalidInput("no password on stdin", field="--password-stdin")
    return Secret(line)


def choose_credential(
    *,
    registry: str,
    repository: str | None,
    username: str | None,
    password_stdin: bool,
    config: Path | None,
) -> registry_client.Credential | None:
    if password_stdin and config is not None:
        raise errors.InvalidInput("use either --password-stdin or --config", field="--password-stdin")
    if password_stdin:
        if not username:
            raise errors.InvalidInput("--password-stdin needs --username", field="--username")
        return registry_client.Credential(username, read_password(sys.stdin.buffer.read(MAX_PASSWORD_BYTES + 1)))
    if config is not None:
        data = files.read_input(str(config))
        return credential_from_config(data, registry=registry, repository=repository, username=username)
    if username:
        raise errors.InvalidInput("the password comes from --password-stdin or --config", field="--username")
    return None


async def run_verification(
    *,
    registry: str,
    credential: registry_client.Credential | None,
    repository: str | None,
    reference: str,
    check_push: bool,
    ca_file: Path | None,
    insecure: bool,
    timeout: float,
) -> registry_client.VerificationResult:
    insecure_registries = frozenset({addresses.parse_registry(registry).netloc}) if insecure else frozenset()
    async with registry_client.RegistryClient(
        ca_file=ca_file, insecure_registries=insecure_registries, timeout=timeout, deadline=timeout * 3
    ) as client:
        return await client.verify(
            registry, credential=credential, repository=repository, reference=reference, check_push=check_push
        )


def _mark(ok: bool) -> Text:
    return Text("ok", style="green") if ok else Text("failed", style="red")


def render_table(result: registry_client.VerificationResult) -> tuple[str, Table]:
    """The title line and the table of a local check."""
    who = result.username or "anonymous"
    where = result.registry + (f"/{result.repository}" if result.repository else "")
    table = output.table("check", "result", "reason", "detail")
    for name, check in (("valid", result.valid), ("can pull", result.can_pull), ("can push", result.can_push)):
        if check is None:
            table.add_row(name, "-", "", "not checked")
            continue
        mark = _mark(check.ok)
        table.add_row(name, mark, str(check.reason or ""), check.detail or "")
    return f"{who} @ {where}", table


_VERIFY_OPTIONS = field_renamer({"name": "--pipeline", "registry": "--registry", "phase": "--phase",
                                  "repository": "--repository", "checkPush": "--no-push"})


def render_answer(answer: dict[str, Any]) -> tuple[str, Table]:
    """The title line and the table of the API's answer for a stored credential: the three checks."""
    ref = answer["secretRef"]
    where = answer["registry"] + (f"/{answer['repository']}" if answer.get("repository") else "")
    table = output.table("check", "result", "outcome")
    title = (f"{answer['pipeline']} / {answer['phase']}: {answer['source']} layer, {ref['namespace']}/"
             f"{ref['name']} ({answer['fingerprint']}) @ {where}")
    for name, key in (("valid", "valid"), ("can pull", "canPull"), ("can push", "canPush")):
        check = answer.get(key)
        if check is None:
            table.add_row(name, "-", "not checked")
            continue
        table.add_row(name, _mark(bool(check["ok"])), str(check["outcome"]))
    return title, table


@app.command("verify")
@handles_errors
def verify(
    registry: Annotated[str, typer.Option("--registry", help="The registry: host[:port].")],
    repository: Annotated[
        str | None, typer.Option("--repository", help="Also check pull and push rights on this repository.")
    ] = None,
    reference: Annotated[str, typer.Option("--reference", help="The tag or digest to HEAD.")] = "latest",
    username: Annotated[str | None, typer.Option("--username", help="The user name.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
    ] = False,
    config: Annotated[
        Path | None, typer.Option("--config", help="A docker config file holding the credential.")
    ] = None,
    ca_file: Annotated[Path | None, typer.Option("--ca-file", help="Trust this CA bundle too.")] = None,
    insecure_http: Annotated[
        bool, typer.Option("--insecure-http", help="Allow plain HTTP to this registry (as Docker's insecure).")
    ] = False,
    no_push: Annotated[bool, typer.Option("--no-push", help="Do not check push rights.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per exchange.", min=0.1)] = 10.0,
    output_format: output.OutputOption = output.Format.TABLE,
    json_output: output.JsonOption = False,
    pipeline: Annotated[str | None, typer.Option(
        "--pipeline", help="Verify the credential a pipeline stores for --registry, through the API.")] = None,
    phase: Annotated[str | None, typer.Option("--phase", help="With --pipeline: the phase.")] = None,
    profile: Annotated[str | None, typer.Option(help="With --pipeline: the login profile to use.")] = None,
) -> None:
    """Verify a credential: valid, and with --repository may it pull and push (exit 1: a check failed).

    Locally (the credential from --username/--password-stdin or --config), or with --pipeline through the
    Shipway API, which checks the credential it stores without ever showing it.
    """
    fmt = output.chosen(output_format, json_output)
    if pipeline is not None:
        if username or password_stdin or config:
            raise errors.InvalidInput("--pipeline verifies a stored credential: give no credential", field="--pipeline")
        with profiles.api_client(profile) as api, option_names(_VERIFY_OPTIONS):
            answer = api.request("POST", f"/api/v1/pipelines/{pipeline}/verify", json={
                "registry": registry, "phase": phase, "repository": repository, "checkPush": not no_push})
        output.emit(answer, fmt, lambda: output.print_table(output.console(), *render_answer(answer)))
        checks = [answer.get(k) for k in ("valid", "canPull", "canPush")]
        if any(check is not None and not check.get("ok") for check in checks):
            raise typer.Exit(1)  # README: exit 1, a check that ran and failed
        return
    if profile is not None:
        raise errors.InvalidInput("goes with --pipeline only (a local check uses no profile)", field="--profile")
    credential = choose_credential(
        registry=registry, repository=repository, username=username, password_stdin=password_stdin,
        config=config,
    )
    result = asyncio.run(
        run_verification(
            registry=registry, credential=credential, repository=repository, reference=reference,
            check_push=not no_push, ca_file=ca_file, insecure=insecure_http, timeout=timeout,
        )
    )
    output.emit(result.as_dict(), fmt, lambda: output.print_table(output.console(), *render_table(result)))
    if not result.ok:
        raise typer.Exit(1)  # README: exit 1, a check that ran and failed
