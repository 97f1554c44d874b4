"""``python -m shipway_sandbox.emulator --port P [--kubeconfig PATH] [--users PATH]``: the emulator in its
own process.

It serves on 127.0.0.1, writes a kubeconfig pointing at it when asked, prints one line
``emulator listening on http(s)://127.0.0.1:P`` to stdout once ready, and exits cleanly within a second
on SIGINT or SIGTERM.

``--users PATH`` turns on authentication and RBAC: requests are authenticated with the tokens of that users
file and authorized from the RBAC objects in the emulator. It is then served over HTTPS (kubectl sends
credentials only over TLS; ``--no-tls`` to opt out) with a CA made for the run, and the kubeconfig carries
that CA and the admin's token.
A missing file is created first with the sandbox's users (admin, team-a, team-b) and fresh tokens, mode 0600;
their names, never their tokens, are reported on stderr.

``--change-retention N`` keeps N changes for watches and paginated lists to resume from, and
``--change-retention-seconds S`` none older than S seconds (older resourceVersions get 410 Gone);
``--bookmark-interval S`` sends a BOOKMARK every S seconds on watches that allow them, and
``--min-request-timeout S`` ends watches without ``timeoutSeconds`` after S to 2S seconds. The lags of the
controllers: ``--service-account-delay``, ``--gc-delay``, ``--namespace-deletion-delay`` (seconds). Failures are
injected over the side endpoints under ``/_emulator/`` (see :mod:`shipway_sandbox.emulator.side`).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import pathlib
import signal
import sys

from shipway_sandbox.emulator import controllers, users
from shipway_sandbox.emulator.emulator import ClusterEmulator
from shipway_sandbox.emulator.serving import EmulatorServer
from shipway_sandbox.emulator.users import Users


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0: {text}")
    return value


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m shipway_sandbox.emulator",
                                     description="Run the Kubernetes API emulator on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="TCP port (0: any free port)")
    parser.add_argument("--kubeconfig", type=pathlib.Path, default=None, help="write a kubeconfig here")
    parser.add_argument("--service-account-delay", type=float, default=controllers.SERVICE_ACCOUNT_DELAY,
                        help="seconds before a new namespace gets its default ServiceAccount, or a deleted one is "
                             f"recreated (default: {controllers.SERVICE_ACCOUNT_DELAY})")
    parser.add_argument("--gc-delay", type=float, default=controllers.GC_DELAY,
                        help="seconds before the garbage collector acts on a change of ownership "
                             f"(default: {controllers.GC_DELAY})")
    parser.add_argument("--namespace-deletion-delay", type=float, default=controllers.NAMESPACE_DELETION_DELAY,
                        help="seconds before each pass of the namespace controller over a deleted namespace "
                             f"(default: {controllers.NAMESPACE_DELETION_DELAY})")
    parser.add_argument("--users", type=pathlib.Path, default=None,
                        help="authenticate and authorize requests with this users.yaml (created when missing)")
    parser.add_argument("--no-tls", action="store_true",
                        help="serve plain HTTP even with --users (kubectl then sends no token: it is anonymous)")
    parser.add_argument("--change-retention", type=_non_negative_int, default=10_000, metavar="N",
                        help="changes kept for watches and paginated lists to resume from; an older "
                             "resourceVersion gets 410 Gone (default: 10000)")
    parser.add_argument("--change-retention-seconds", type=_positive_float, default=300.0, metavar="S",
                        help="changes older than this are not kept either, as etcd compacts them "
                             "(default: 300)")
    parser.add_argument("--min-request-timeout", type=_positive_float, default=1800.0, metavar="S",
                        help="a watch without timeoutSeconds ends after S to 2S seconds (default: 1800)")
    parser.add_argument("--bookmark-interval", type=_positive_float, default=60.0, metavar="S",
                        help="seconds between BOOKMARK events on watches that allow them (default: 60)")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    known: Users | None = None
    if args.users is not None:
        known, created = users.ensure(args.users)
        names = ", ".join(user.name for user in known)
        print(f"{'created' if created else 'using'} users {names} in {args.users}", file=sys.stderr, flush=True)
    emulator = ClusterEmulator(service_account_delay=args.service_account_delay, gc_delay=args.gc_delay,
                               namespace_deletion_delay=args.namespace_deletion_delay, users=known,
                               change_retention=args.change_retention,
                               change_retention_seconds=args.change_retention_seconds,
                               min_request_timeout=args.min_request_timeout,
                               bookmark_interval=args.bookmark_interval)
    async with EmulatorServer(emulator, port=args.port, tls=False if args.no_tls else None) as server:
        if args.kubeconfig is not None:
            server.write_kubeconfig(args.kubeconfig)
        print(f"emulator listening on {server.url}", flush=True)
        _settle_memory()
        await stop.wait()


def _settle_memory() -> None:
    """Leave what start-up made (modules, schemas, CEL grammar, the built-in objects) out of every later garbage
    collection: a full collection then costs what the cluster's objects cost, not also what never goes away."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


def main(argv: list[str] | None = None) -> int:
    try:
        asyncio.run(serve(parse_args(sys.argv[1:] if argv is None else argv)))
    except users.UsersFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
