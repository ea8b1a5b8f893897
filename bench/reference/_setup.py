"""Imported first by every reference script (run with the magenta venv's python): puts
tests/reference (magenta_compat, common, the golden makers) and bench/ on the path and
applies the runtime shims before TensorFlow or magenta is imported."""

import os
import sys
import time

T_START = time.perf_counter()
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "reference"))
sys.path.insert(0, ROOT)

import magenta_compat  # noqa: E402

magenta_compat.apply()
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import warnings  # noqa: E402

warnings.filterwarnings("ignore")
