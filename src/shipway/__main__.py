"""``python -m shipway``: the same as the ``shipway`` command."""

from shipway.cli.main import run

if __name__ == "__main__":
    run()
