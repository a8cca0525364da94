"""The ``rcorn`` command: ``rcorn [OPTIONS] MODULE:APP``."""

import sys


def main() -> None:
    from rcorn._rcorn import run

    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
