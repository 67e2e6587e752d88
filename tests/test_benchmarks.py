"""The benchmark runner (benchmarks/run.py): it runs each script, collects `name: value` lines, reports failures,
and writes the JSON report and the docs page; plus one real benchmark (01's matmul) end to end."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUNNER = ROOT/'benchmarks'/'run.py'


def runner(*args, cwd=ROOT, timeout=300):
    return subprocess.run([sys.executable, str(RUNNER), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


@pytest.fixture
def bench_dir(tmp_path):
    "Three fake benchmarks: one fine (with a GPU part skipped), one that crashes, one that prints nothing useful."
    folder = tmp_path/'benchmarks'
    folder.mkdir()
    (folder/'fine.py').write_text(
        "import sys\nprint('warming up...')\nquick = '--quick' in sys.argv\n"
        "print(f'fine_ratio: {1.5 if quick else 2.5}x')\nprint('fine_gpu: skipped (no CUDA)')\n")
    (folder/'broken.py').write_text("print('broken_first: 1.1x')\nraise ValueError('the model did not fit')\n")
    (folder/'silent.py').write_text("print('no figures here')\n")
    (folder/'_helper.py').write_text("raise SystemExit('a helper is not a benchmark')\n")
    return folder


def test_runner_collects_figures_and_failures(bench_dir, tmp_path):
    out, page = tmp_path/'results.json', tmp_path/'docs'/'benchmarks.md'
    result = runner('--dir', bench_dir, '--quick', '--out', out, '--page', page)
    assert result.returncode == 1, result.stderr   # one script failed, so the run did
    report = json.loads(out.read_text())
    scripts = {s['script']: s for s in report['scripts']}
    assert sorted(scripts) == ['broken', 'fine', 'silent']      # _helper.py is not run
    assert scripts['fine']['status'] == 'ok'
    assert scripts['fine']['figures'] == [{'name': 'fine_ratio', 'value': '1.5x'},
                                         {'name': 'fine_gpu', 'value': 'skipped (no CUDA)'}]
    assert scripts['broken']['status'] == 'failed'
    assert scripts['broken']['error'] == 'ValueError: the model did not fit'
    assert scripts['broken']['figures'] == [{'name': 'broken_first', 'value': '1.1x'}]  # what it printed is kept
    assert scripts['silent']['status'] == 'failed' and 'no `name: value` line' in scripts['silent']['error']
    assert report['quick'] is True and report['machine']['cores'] >= 1
    rows = {line.split()[1]: line for line in result.stdout.splitlines() if line.startswith(('fine', 'broken'))}
    assert rows['fine_ratio'].split()[-1] == '1.5x'
    assert 'FAILED: ValueError: the model did not fit' in result.stdout
    text = page.read_text()
    assert text.startswith('# Benchmarks\n') and '| `fine` | `fine_ratio` | 1.5x |' in text
    assert '1 figures need a CUDA GPU' in text and 'no GPU' in text and 'quick' in text


def test_runner_page_from_a_stored_report(bench_dir, tmp_path):
    out, page = tmp_path/'results.json', tmp_path/'benchmarks.md'
    assert runner('--dir', bench_dir, 'fine', '--out', out).returncode == 0
    assert json.loads(out.read_text())['scripts'][0]['figures'][0]['value'] == '2.5x'   # full sizes
    result = runner('--from', out, '--page', page)
    assert result.returncode == 0 and '| `fine` | `fine_ratio` | 2.5x |' in page.read_text()


def test_runner_errors_are_one_line(bench_dir, tmp_path):
    result = runner('--dir', bench_dir, 'nope')
    assert result.returncode != 0 and result.stderr.strip() == \
        'run.py: no benchmark called nope; there are: broken, fine, silent.'
    result = runner('--from', tmp_path/'missing.json')
    assert result.returncode != 0 and result.stderr.count('\n') == 1 and 'cannot read the report' in result.stderr


def test_runner_timeout_keeps_what_was_printed(tmp_path):
    folder = tmp_path/'benchmarks'
    folder.mkdir()
    (folder/'slow.py').write_text("import time\nprint('slow_first: 3x', flush=True)\ntime.sleep(60)\n")
    result = runner('--dir', folder, '--timeout', 3, '--out', tmp_path/'r.json')
    script = json.loads((tmp_path/'r.json').read_text())['scripts'][0]
    assert result.returncode == 1 and script['status'] == 'timeout'
    assert script['figures'] == [{'name': 'slow_first', 'value': '3x'}]


def test_matmul_benchmark_quick(tmp_path):
    "01's matmul variants through the runner: each faster than three Python loops, GPU parts skipped without CUDA."
    import torch
    result = runner('matmul', '--quick', '--out', tmp_path/'r.json')
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path/'r.json').read_text())
    figures = {f['name']: f['value'] for f in report['scripts'][0]['figures']}
    for variant in ('elementwise', 'broadcast', 'einsum', 'at'):
        assert float(figures[f'matmul_{variant}_vs_loops'].rstrip('x').replace(',', '')) > 10, figures
    if not torch.cuda.is_available(): assert figures['matmul_gpu_fp32_vs_cpu'] == 'skipped (no CUDA)'
