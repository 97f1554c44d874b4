"""``shipway import kubero`` and ``shipway migration status`` where no cluster is needed to refuse: the
input is checked whole before any cluster is contacted (here, there is none to contact)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from shipway.cli.main import build_app

from .helpers import BLOG_PASSWORD, fixture_text, leaks

NO_CLUSTER = ["--kubeconfig", "/nonexistent/kubeconfig"]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(build_app(), list(args))
    assert "Traceback" not in result.stderr
    assert leaks([("stdout", result.stdout), ("stderr", result.stderr)]) == []
    return result.exit_code, result.stdout, result.stderr


def test_exactly_one_source_is_given() -> None:
    for args in ([], ["-f", "x.yaml", "--from-cluster"]):
        code, _, stderr = run("import", "kubero", *args, *NO_CLUSTER)
        assert (code, stderr) == (2, "error: -f/--from-cluster: give exactly one of -f FILE and --from-cluster\n")


def test_a_bad_file_is_refused_before_any_cluster_is_contacted(tmp_path: Path) -> None:
    spoiled = tmp_path / "kubero.yaml"
    spoiled.write_text(fixture_text().replace("- {name: stage, enabled: true, context: default, defaultEnvvars: [], "
                                              "domain: stage.docs", "- {name: stage, enabled: 1, context: default, "
                                              "defaultEnvvars: [], domain: stage.docs"))
    for command in (["import", "kubero", "--apply"], ["migration", "status"]):
        code, _, stderr = run(*command, "-f", str(spoiled), *NO_CLUSTER)
        assert (code, stderr) == (2, f"error: {spoiled}#0.items[3] (KuberoPipeline kubero/docs).spec.phases[2]."
                                     "enabled: must be true or false\n")


def test_a_password_in_the_wrong_place_is_never_echoed(tmp_path: Path) -> None:
    spoiled = tmp_path / "kubero.yaml"
    spoiled.write_text(fixture_text().replace("username: blog-bot", f"username: {{nested: {BLOG_PASSWORD}}}"))
    code, _, stderr = run("import", "kubero", "-f", str(spoiled), *NO_CLUSTER)
    assert (code, stderr) == (2, f"error: {spoiled}#0.items[2] (KuberoPipeline kubero/blog).spec.registry.username: "
                                 "must be a string\n")


def test_a_file_that_is_not_yaml_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "kubero.yaml"
    broken.write_text("items: [\n")
    code, _, stderr = run("import", "kubero", "-f", str(broken), *NO_CLUSTER)
    assert code == 2 and stderr.startswith(f"error: {broken}: not valid YAML or JSON")
