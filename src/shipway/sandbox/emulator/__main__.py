"""``python -m shipway.sandbox.emulator --port P [--kubeconfig PATH]``: the emulator in its own process.

It serves on 127.0.0.1, writes a kubeconfig pointing at it when asked, prints one line
``emulator listening on http://127.0.0.1:P`` to stdout once ready, and exits cleanly within a second
on SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import pathlib
import signal
import sys

from shipway.sandbox.emulator import kubeconfig
from shipway.sandbox.emulator.emulator import ClusterEmulator
from shipway.sandbox.emulator.serving import EmulatorServer


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m shipway.sandbox.emulator",
                                     description="Run the Kubernetes API emulator on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="TCP port (0: any free port)")
    parser.add_argument("--kubeconfig", type=pathlib.Path, default=None, help="write a kubeconfig here")
    parser.add_argument("--service-account-delay", type=float, default=0.05,
                        help="seconds before a new namespace gets its default ServiceAccount")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    emulator = ClusterEmulator(service_account_delay=args.service_account_delay)
    async with EmulatorServer(emulator, port=args.port) as server:
        if args.kubeconfig is not None:
            kubeconfig.write(args.kubeconfig, server.url)
        print(f"emulator listening on {server.url}", flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    asyncio.run(serve(parse_args(sys.argv[1:] if argv is None else argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
