"""``shipway sandbox up``: the emulator (with users and RBAC), the bootstrap objects, the operator and the
API, in the foreground. Ctrl-C or SIGTERM stops everything within a few seconds.

The state directory receives ``kubeconfig`` (the admin's), ``users.yaml`` (0600: the users' tokens),
``api-url`` and ``registry-url`` (the sandbox's real registry, holding ``apps/hello:1.0``, whose user is the
Platform's default credential). One sandbox per state directory (a lock). The emulator serves HTTPS with a
CA of its own, since kubectl sends tokens only over TLS.

Each other sandbox user gets ``users/NAME.kubeconfig`` (``kubectl --kubeconfig .../users/team-a.kubeconfig``).
The operator and the API run as their own ServiceAccounts (``operator.kubeconfig``, ``api.kubeconfig``)
under exactly the RBAC that ``shipway manifests`` installs, and the emulator calls the API's admission
webhook (TLS, a CA of its own) for every Pipeline and Platform write, as a cluster would.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shipway.adapters.kube.client import KubeClient
from shipway.api.serving import ApiServer, WebhookListener
from shipway.api.settings import ApiSettings
from shipway.core.manifests.admission import WEBHOOK_PATH
from shipway.core.manifests.rbac import API, OPERATOR, service_account_user
from shipway.core.secrets import Secret
from shipway.reconcile.verifying import DEFAULT_VERIFY_INTERVAL
from shipway_sandbox.bootstrap import SYSTEM_NAMESPACE, bootstrap, register_webhook
from shipway_sandbox.emulator import ClusterEmulator, EmulatorServer, free_port
from shipway_sandbox.emulator import kubeconfig as kubeconfigs
from shipway_sandbox.emulator import users as sandbox_users
from shipway_sandbox.emulator.tls import ServerCertificate, make_server_certificate
from shipway_sandbox.locking import state_lock
from shipway_sandbox.registry import USERNAME, DemoRegistry, start_demo_registry

log = logging.getLogger(__name__)
STOP_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class SandboxInfo:
    url: str
    kubeconfig: Path
    state_dir: Path
    api_url: str
    users_file: Path
    user_names: tuple[str, ...]
    admin_token: Secret
    operator_metrics_url: str
    registry_url: str


async def _stop(task: asyncio.Task[None], flag: asyncio.Event) -> None:
    flag.set()
    try:
        await asyncio.wait_for(task, STOP_TIMEOUT)
    except TimeoutError:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def _wait_process(process: asyncio.subprocess.Process) -> None:
    await process.wait()


async def _stop_process(process: asyncio.subprocess.Process, task: asyncio.Task[None]) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(asyncio.shield(task), STOP_TIMEOUT)
    except TimeoutError:
        process.kill()
        await task


def _write_private(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_bytes(data)
    return path


def _webhook_listener(state_dir: Path, certificate: ServerCertificate) -> WebhookListener:
    directory = state_dir / "webhook"
    cert = _write_private(directory / "tls.crt", certificate.cert_pem + certificate.ca_pem)
    key = _write_private(directory / "tls.key", certificate.key_pem)
    return WebhookListener(host="127.0.0.1", port=free_port(), cert_file=cert, key_file=key)


async def run_sandbox(*, state_dir: Path, port: int, api_port: int, on_ready: Callable[[SandboxInfo], None],
                      stop: asyncio.Event | None = None, verify_interval: float = DEFAULT_VERIFY_INTERVAL) -> None:
    """One sandbox in ``state_dir`` (refused when one runs there already), until ``stop`` or a signal."""
    with state_lock(state_dir):
        registry = await asyncio.to_thread(start_demo_registry, state_dir)
        try:
            (state_dir / "registry-url").write_text(registry.host + "\n")
            await _run(state_dir=state_dir, port=port, api_port=api_port, on_ready=on_ready, stop=stop,
                       verify_interval=verify_interval, registry=registry)
        finally:
            registry.stop()


async def _run(*, state_dir: Path, port: int, api_port: int, on_ready: Callable[[SandboxInfo], None],
               stop: asyncio.Event | None, verify_interval: float, registry: DemoRegistry) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()

    def take_signals() -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)

    take_signals()
    state_dir.mkdir(parents=True, exist_ok=True)
    users_file = state_dir / "users.yaml"
    accounts = {name: service_account_user(name) for name in (OPERATOR, API)}
    users, _ = sandbox_users.ensure(users_file, service_accounts=accounts.values())
    async with EmulatorServer(ClusterEmulator(users=users), port=port) as server:
        kubeconfig = server.write_kubeconfig(state_dir / "kubeconfig")
        as_account = {name: kubeconfigs.write(state_dir / f"{name.removeprefix('shipway-')}.kubeconfig", server.url,
                                              token=users.by_name(user).token, ca_pem=server.ca_pem)
                      for name, user in accounts.items()}
        for person in users:  # a kubeconfig per sandbox user, for kubectl as that user (mode 0600)
            if person.name not in accounts.values() and person.name != users.admin.name:
                kubeconfigs.write(state_dir / "users" / f"{person.name}.kubeconfig", server.url, token=person.token,
                                  ca_pem=server.ca_pem)
        client = KubeClient(kubeconfig=kubeconfig, user_agent="shipway-sandbox", field_manager="shipway-sandbox")
        try:
            await bootstrap(client, registry=registry.host, password=registry.password, username=USERNAME)
        except BaseException:
            await client.close()
            raise
        certificate = make_server_certificate("127.0.0.1")
        webhook = _webhook_listener(state_dir, certificate)
        # The operator runs in a process of its own, exactly as it would on a cluster: its event loop is its
        # own, not shared with the emulator's and the API's.
        metrics_port = free_port()
        operator = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "shipway", "operator", "run", "--standalone", "--kubeconfig",
            str(as_account[OPERATOR]),
            "--verify-interval", str(verify_interval), "--metrics-port", str(metrics_port),
            "--metrics-host", "127.0.0.1")
        operator_task = asyncio.create_task(_wait_process(operator), name="shipway-operator")
        api = ApiServer(kubeconfig=as_account[API], host="127.0.0.1", port=api_port,
                        settings=ApiSettings(system_namespace=SYSTEM_NAMESPACE), webhook=webhook)
        api_task = asyncio.create_task(api.serve(), name="shipway-api")
        try:
            await asyncio.wait_for(api.started(), 30)
            try:
                await register_webhook(client, url=f"https://127.0.0.1:{webhook.port}{WEBHOOK_PATH}",
                                       ca_pem=certificate.ca_pem)
            finally:
                await client.close()
            api_url = api.url
            (state_dir / "api-url").write_text(api_url + "\n")
            on_ready(SandboxInfo(url=server.url, kubeconfig=kubeconfig, state_dir=state_dir, api_url=api_url,
                                 users_file=users_file, user_names=tuple(u.name for u in users),
                                 admin_token=Secret(users.admin.token),
                                 operator_metrics_url=f"http://127.0.0.1:{metrics_port}/metrics",
                                 registry_url=registry.host))
            stopped = asyncio.create_task(stop.wait())
            await asyncio.wait({stopped, operator_task, api_task}, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
        finally:
            log.info("stopping the sandbox")
            await _stop(api_task, api.stop)
            await _stop_process(operator, operator_task)
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(signum)
