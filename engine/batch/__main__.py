"""`python -m engine.batch PLAN [options]`: the same as `magstation batch PLAN` (the engine
starts batches this way, as processes of their own)."""

import sys

from engine.cli import main

if __name__ == "__main__":
    sys.exit(main(["batch", *sys.argv[1:]]))
