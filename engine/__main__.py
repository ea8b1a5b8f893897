"""`python -m engine` runs the engine process (same as `magstation engine`)."""

import sys

from engine.cli import main

if __name__ == "__main__":
    sys.exit(main(["engine", *sys.argv[1:]]))
