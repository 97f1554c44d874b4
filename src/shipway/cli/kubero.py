"""``shipway import kubero``: Kubero's registry credentials and pipelines brought over, a dry run first.

The input is what ``kubectl get kubero,kuberopipelines -n kubero -o yaml`` prints (``-f FILE``), or the same
objects read from the cluster (``--from-cluster``); Shipway's objects are compared with, and written to, the
cluster of ``--kubeconfig``/``--context``. Every document is checked before anything is read or written.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer

from shipway.adapters.kube import kubero as kube
from shipway.adapters.kube.client import KubeClient
from shipway.cli.errors import handles_errors
from shipway.cli.files import read_input
from shipway.cli.output import Format, OutputOption, console, emit, print_table, table
from shipway.core import kubero
from shipway.core.documents import load_yaml_documents
from shipway.core.errors import InvalidInput

app = typer.Typer(help="Bring pipelines and their registry credentials over from another PaaS.",
                  no_args_is_help=True)


File = Annotated[str | None, typer.Option("-f", "--filename", help="Kubero's objects as kubectl prints them "
                                          "(a List or several YAML documents; - for stdin)")]
Kubeconfig = Annotated[Path | None, typer.Option(help="Kubeconfig (default: in-cluster, then $KUBECONFIG)")]
Context = Annotated[str | None, typer.Option(help="The kubeconfig context to use (default: its current one)")]
Namespace = Annotated[str, typer.Option("--namespace", "-n", help="The namespace of Kubero's objects")]
KuberoContext = Annotated[str | None, typer.Option(
    help="The name Kubero gives this cluster in its phases' context (default: the Kubero CR's "
         "spec.kubero.context, else 'default'); phases on other contexts are not migrated")]


def documents_of(file: str) -> list[Any]:
    return load_yaml_documents(read_input(file), where=file)


def check(documents: list[Any] | None, *, source: str, namespace: str, kubero_context: str | None
          ) -> kubero.KuberoExport | None:
    """A file's Kubero objects, checked whole before any cluster is contacted."""
    if documents is None:
        return None
    return kubero.read_export(documents, source=source, namespace=namespace, context=kubero_context)


async def read(client: KubeClient, documents: list[Any] | None, *, source: str, namespace: str,
               kubero_context: str | None) -> kubero.KuberoExport:
    """The Kubero objects of ``documents``, or of the cluster when there are none."""
    if documents is None:
        documents, source = await kube.read_kubero(client, namespace=namespace), f"namespace {namespace}"
    return kubero.read_export(documents, source=source, namespace=namespace, context=kubero_context)


async def gather(*, documents: list[Any] | None, source: str, namespace: str, kubero_context: str | None,
                 kubeconfig: Path | None, context: str | None, apply: bool = False,
                 scrub: bool = False) -> dict[str, Any]:
    """Read (the Kubero objects when not given), check, compare, and write when ``apply``: the view to print."""
    client = kube.open_client(kubeconfig=kubeconfig, context=context)
    try:
        export = await read(client, documents, source=source, namespace=namespace, kubero_context=kubero_context)
        cluster = await kube.read_cluster(client, export)
        if scrub:
            writes, refused = kubero.plan_scrub(export, cluster)
            view: dict[str, Any] = {"refused": [{"object": o, "reason": r} for o, r in refused]}
        else:
            plan = kubero.plan_import(export, cluster)
            writes, view = list(plan.writes), plan_view(plan)
        written = await kube.write(client, writes) if apply else 0
    finally:
        await client.close()
    return {"applied": apply, "written": written, "writes": [w.view() for w in writes], **view}


def plan_view(plan: kubero.Plan) -> dict[str, Any]:
    """What each pipeline becomes and what stays behind: names, keys and fingerprints, never a value."""
    return {"pipelines": [{
        "pipeline": d.pipeline.name, "credential": d.mode.value, "secret": str(d.secret) if d.secret else None,
        "registry": d.pipeline.key, "fingerprint": kubero.fingerprint(d.pipeline.credential), "note": d.note,
        "phases": [{"name": p.name.value, "enabled": p.enabled, "migrated": p.here, "context": p.context or None}
                   for p in d.pipeline.phases]} for d in plan.decisions],
        "notMigrated": [{"object": o, "what": w} for o, w in plan.left_behind]}


def _print_plan(view: dict[str, Any]) -> None:
    out = console()
    if view["applied"]:
        out.print(f"Applied: {view['written']} write(s).")
    else:
        out.print("Dry run: nothing was written. Run again with --apply to write this plan.")
    writes = table("action", "kind", "object", "what", "fingerprint")
    for w in view["writes"]:
        where = f"{w['namespace']}/{w['name']}" if w["namespace"] else w["name"]
        shown = w["fingerprint"] or "" if not w["previous"] else f"{w['previous']} -> {w['fingerprint']}"
        writes.add_row(w["action"], w["kind"], where, w["what"], shown)
    print_table(out, "Writes", writes)
    if "refused" in view:
        refused = table("object", "plaintext stays because")
        for r in view["refused"]:
            refused.add_row(r["object"], r["reason"])
        print_table(out, "Not scrubbed", refused)
        return
    pipelines = table("pipeline", "credential", "registry", "fingerprint", "phases")
    for p in view["pipelines"]:
        phases = ", ".join(ph["name"] + ("" if ph["enabled"] else " (disabled)") + (
            "" if ph["migrated"] else f" (context {ph['context']}: not migrated)") for ph in p["phases"])
        pipelines.add_row(p["pipeline"], p["credential"] + (f" ({p['secret']})" if p["credential"] == "overrides"
                                                             else ""), p["registry"] or "-", p["fingerprint"] or "-",
                          phases)
    print_table(out, "Pipelines", pipelines)
    left = table("object", "what")
    for item in view["notMigrated"]:
        left.add_row(item["object"], item["what"])
    print_table(out, "Not migrated", left)


@app.command("kubero")
@handles_errors
def import_kubero(
    file: File = None,
    from_cluster: Annotated[bool, typer.Option("--from-cluster", help="Read Kubero's objects from the cluster")
                            ] = False,
    kubeconfig: Kubeconfig = None, context: Context = None, namespace: Namespace = "kubero",
    kubero_context: KuberoContext = None,
    apply: Annotated[bool, typer.Option("--apply", help="Write the plan (default: a dry run)")] = False,
    scrub: Annotated[bool, typer.Option("--scrub", help="Remove Kubero's plaintext passwords whose Shipway "
                                        "credential is Verified True (with --apply)")] = False,
    output: OutputOption = Format.TABLE,
) -> None:
    """Import Kubero's global registry, pipelines and their credentials (a dry run unless --apply)."""
    if (file is None) == (not from_cluster):
        raise InvalidInput("give exactly one of -f FILE and --from-cluster", field="-f/--from-cluster")
    documents = documents_of(file) if file else None
    check(documents, source=file or "", namespace=namespace, kubero_context=kubero_context)
    view = asyncio.run(gather(documents=documents, source=file or "", apply=apply,
                              scrub=scrub, namespace=namespace, kubero_context=kubero_context,
                              kubeconfig=kubeconfig, context=context))
    emit(view, output, lambda: _print_plan(view))
