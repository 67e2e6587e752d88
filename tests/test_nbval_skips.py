"""Skipped notebook cells under `pytest -rs`: the export cell is no test; any other skip names its notebook and why."""
import shutil
import subprocess
import sys
from pathlib import Path

from helpers import write_notebook

ROOT = Path(__file__).resolve().parents[1]


def test_skipped_cells_name_their_notebook_and_reason_and_export_cells_are_not_tests(tmp_path):
    shutil.copy(ROOT/'conftest.py', tmp_path/'conftest.py')   # the repository's nbval set-up, as it is now
    write_notebook(tmp_path/'01_toy.ipynb', 'x = 1',
                   '# NBVAL_SKIP\n# needs a GPU: CUDA graphs\nimport torch; torch.cuda.graph',
                   '#| hide\n# NBVAL_SKIP\nfrom course_lib.tools.notebooks import export_library; export_library()')
    result = subprocess.run([sys.executable, '-m', 'pytest', '-rs', '--nbval-lax', '-p', 'no:cacheprovider',
                             '-p', 'no:xdist', '01_toy.ipynb'], capture_output=True, text=True, cwd=tmp_path,
                            timeout=300)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert 'plugin.py' not in out, out
    assert '01_toy.ipynb, cell 1: needs a GPU: CUDA graphs' in out, out
    assert '1 passed, 1 skipped' in out, 'the export cell is not counted as a test:\n' + out
