"""The test command's kernels share the cores: pytest-xdist workers do not oversubscribe them."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_xdist_workers_share_the_cores_between_their_kernels():
    "Each pytest-xdist worker's kernels get cores / workers threads; without xdist nothing is set."
    code = "import os, runpy; runpy.run_path('conftest.py'); print(os.environ.get('OMP_NUM_THREADS'))"
    env = {k: v for k, v in os.environ.items() if k not in ('OMP_NUM_THREADS', 'PYTEST_XDIST_WORKER_COUNT')}
    run = lambda extra: subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT,
                                       env={**env, **extra}, check=True).stdout.strip()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()
    assert run({'PYTEST_XDIST_WORKER_COUNT': '2'}) == str(max(1, cores // 2))
    assert run({'PYTEST_XDIST_WORKER_COUNT': '2', 'OMP_NUM_THREADS': '3'}) == '3'   # the user's choice wins
    assert run({}) == 'None'
