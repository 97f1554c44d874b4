"""``shipway migration status``: where a migration from Kubero stands, one row per Kubero pipeline."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import typer

from shipway.adapters.kube import kubero as kube
from shipway.cli.errors import handles_errors
from shipway.cli.kubero import Context, File, Kubeconfig, KuberoContext, Namespace, check, documents_of, read
from shipway.cli.output import Format, OutputOption, console, emit, print_table, table
from shipway.core import kubero

app = typer.Typer(help="Migrations from Kubero: where each pipeline stands.", no_args_is_help=True)


def status_view(export: kubero.KuberoExport, cluster: kubero.Cluster) -> dict[str, Any]:
    """Kubero's global registry, then per pipeline: imported, credential in a Secret, inherits or overrides,
    Verified, plaintext still in Kubero, and what is not migrated."""
    rows = []
    for d in kubero.decide(export, cluster):
        p, imported = d.pipeline, d.pipeline.name in cluster.pipelines
        body = cluster.platform if d.mode is kubero.Mode.INHERITS else cluster.pipelines.get(p.name)
        rows.append({
            "pipeline": p.name, "imported": imported, "credential": d.mode.value,
            "secret": str(d.secret) if d.secret else None, "inSecret": d.secret in cluster.secrets,
            "verified": kubero.verification(body, d.secret, None)[1] if d.secret and imported else None,
            "plaintextInKubero": p.credential is not None,
            "phasesNotMigrated": [f"{ph.name.value} (context {ph.context})" for ph in p.phases if not ph.here],
            "notMigrated": [i for i in p.left_behind if not i.startswith("phase ")] + (
                [d.note] if d.mode is kubero.Mode.NONE and d.note else [])})
    install, ref = export.install, kubero.global_home(export, cluster)
    registry = None if install is None or install.key is None else {
        "registry": install.key, "secret": str(ref), "inSecret": ref in cluster.secrets,
        "verified": kubero.verification(cluster.platform, ref, None)[1],
        "plaintextInKubero": install.credential is not None}
    return {"global": registry, "pipelines": rows}


async def _status(*, documents: list[Any] | None, source: str, namespace: str, kubero_context: str | None,
                  kubeconfig: Path | None, context: str | None) -> dict[str, Any]:
    client = kube.open_client(kubeconfig=kubeconfig, context=context)
    try:
        export = await read(client, documents, source=source, namespace=namespace, kubero_context=kubero_context)
        return status_view(export, await kube.read_cluster(client, export))
    finally:
        await client.close()


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _print_status(view: dict[str, Any]) -> None:
    out = console()
    registry = view["global"]
    if registry is None:
        out.print("Kubero's global registry: none (disabled or no Kubero object)")
    else:
        out.print(f"Kubero's global registry {registry['registry']}: in Secret {registry['secret']}: "
                  f"{_yes(registry['inSecret'])}; Verified: {registry['verified']}; "
                  f"plaintext in Kubero: {_yes(registry['plaintextInKubero'])}")
    rows = table("pipeline", "imported", "credential", "in a Secret", "Verified", "plaintext in Kubero",
                 "phases not migrated", "also not migrated")
    for r in view["pipelines"]:
        rows.add_row(r["pipeline"], _yes(r["imported"]), r["credential"],
                      f"yes ({r['secret']})" if r["inSecret"] else "no", r["verified"] or "-",
                      _yes(r["plaintextInKubero"]), ", ".join(r["phasesNotMigrated"]) or "-",
                      "; ".join(r["notMigrated"]) or "-")
    print_table(out, None, rows)


@app.command("status")
@handles_errors
def status(file: File = None, kubeconfig: Kubeconfig = None, context: Context = None,
           namespace: Namespace = "kubero", kubero_context: KuberoContext = None,
           output: OutputOption = Format.TABLE) -> None:
    """One row per Kubero pipeline (read from the cluster, or from -f FILE): imported, credential moved to a
    Secret, inherits or overrides, Verified, plaintext still in Kubero, phases not migrated."""
    documents = documents_of(file) if file else None
    check(documents, source=file or "", namespace=namespace, kubero_context=kubero_context)
    view = asyncio.run(_status(documents=documents, source=file or "",
                               namespace=namespace, kubero_context=kubero_context, kubeconfig=kubeconfig,
                               context=context))
    emit(view, output, lambda: _print_status(view))
