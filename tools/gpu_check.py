"""The scripted GPU course run: notebooks, benchmarks and (optionally) the test suite on a CUDA machine, one report.

    python tools/gpu_check.py --out gpu_run                 # every lesson notebook, then every benchmark
    python tools/gpu_check.py --out gpu_run lesson12        # one group (a borrowed GPU gives minutes, not hours)
    python tools/gpu_check.py --out gpu_run --tests 11 11a  # also the README's test command on those notebooks
    python tools/gpu_check.py --cpu --quick --out gpu_dry_run 01 # a dry run on a machine without CUDA

It sets COURSE_LIB_DEVICE=cuda, so a notebook that quietly fell back to the CPU fails instead, and
COURSE_LIB_OFFLINE=1 (a borrowed machine has no network: data comes from $COURSE_LIB_MIRROR, the cache
or the bundled samples). What it writes in --out:

    report.md            the one report: machine and card, the datasets used (and any notes: re-encoded
                         copies from tools/pack_gpu_data.py, samples), then notebooks, benchmarks, tests
    notebooks.json       `course-lib run --report`: notebook, status, seconds, headline metric, card
    benchmarks.json      `benchmarks/run.py --out`: every `name: value` figure
    executed.tar.gz      the executed notebooks, to copy into nbs/ where a headline needs a GPU
    pytest.log           with --tests: the log of the README's test command

Exit status 0 when everything ran and passed, 1 otherwise; without CUDA (and without --cpu) it stops at once,
in one line. See docs/gpu.md for what to carry to an offline GPU machine.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))   # course_lib from this clone, installed or not (as the runs below)
CLI = 'import sys; from course_lib.tools.cli import main; sys.exit(main(sys.argv[1:]))'


def _run(cmd, env, log=None, timeout=None) -> tuple[int, str]:
    "Run `cmd` from the repository root, echoing its output (and keeping it in `log`); its status and output."
    start = time.perf_counter()
    print(f"\n$ {' '.join(map(str, cmd))}", flush=True)
    proc = subprocess.Popen(list(map(str, cmd)), cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    out = []
    for line in proc.stdout:
        print(line, end='', flush=True)
        out.append(line)
    rc = proc.wait(timeout=timeout)
    if log: Path(log).write_text(''.join(out))
    print(f'(exit status {rc}, {time.perf_counter() - start:.0f} s)', flush=True)
    return rc, ''.join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog='\n\n'.join(__doc__.split('\n\n')[1:]))
    parser.add_argument('names', nargs='*', metavar='NOTEBOOK|LESSON', help='notebooks to run (default: all lessons)')
    parser.add_argument('--out', type=Path, required=True, help='folder for the report and the executed notebooks')
    parser.add_argument('--quick', action='store_true', help='quick mode for notebooks and benchmarks')
    parser.add_argument('--cpu', action='store_true', help='run on the CPU (a dry run of this script)')
    parser.add_argument('--tests', action='store_true', help="also run the README's test command (pytest) on "
                        'the selected notebooks, COURSE_LIB_DEVICE set as above')
    parser.add_argument('--no-notebooks', action='store_true', help='skip the notebooks')
    parser.add_argument('--no-bench', action='store_true', help='skip the benchmarks')
    parser.add_argument('--bench', nargs='*', default=[], metavar='BENCHMARK', help='only these benchmarks')
    args = parser.parse_args(argv)

    import torch
    if not args.cpu and not torch.cuda.is_available():
        print('gpu_check: PyTorch sees no CUDA device here; run it on a GPU machine, or pass --cpu for a dry run.',
              file=sys.stderr)
        return 1
    device = 'cpu' if args.cpu else 'cuda'
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, 'COURSE_LIB_DEVICE': device, 'COURSE_LIB_OFFLINE': '1', 'PYTHONUNBUFFERED': '1'}
    env['PYTHONPATH'] = os.pathsep.join(p for p in (str(ROOT), env.get('PYTHONPATH')) if p)  # no install needed
    if args.quick: env['COURSE_LIB_QUICK'] = '1'
    quick = ['--quick'] if args.quick else []
    card = torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU'
    sections, ok = [], True

    if not args.no_notebooks:
        executed = Path(tempfile.mkdtemp(prefix='gpu_check-'))   # only the tarball stays in --out
        rc, _ = _run([sys.executable, '-c', CLI, 'run', *args.names, *quick, '--out', executed,
                      '--report', out/'notebooks.json'], env)
        ok &= rc == 0
        report = json.loads((out/'notebooks.json').read_text()) if (out/'notebooks.json').exists() else None
        if report is None: sections.append(f'## Notebooks\n\n`course-lib run` failed before writing its report '
                                           f'(exit status {rc}).')
        else: sections.append(_notebook_section(report))
        with tarfile.open(out/'executed.tar.gz', 'w:gz') as tar:
            for nb in sorted(executed.glob('*.ipynb')): tar.add(nb, arcname=nb.name)
        shutil.rmtree(executed, ignore_errors=True)

    if not args.no_bench:
        rc, text = _run([sys.executable, ROOT/'benchmarks'/'run.py', *args.bench, *quick,
                         '--out', out/'benchmarks.json'], env)
        ok &= rc == 0
        sections.append('## Benchmarks\n\n```\n' + text.split('\n\n', 1)[-1].strip() + '\n```')

    if args.tests:
        from course_lib.tools.notebooks import find_nbs_dir, select_notebooks
        nbs = select_notebooks(args.names, find_nbs_dir(ROOT/'nbs'))
        rc, text = _run([sys.executable, '-m', 'pytest', '-q', *(p.relative_to(ROOT) for p in nbs), 'tests'],
                        env, log=out/'pytest.log')
        ok &= rc == 0
        last = [l for l in text.splitlines() if l.strip()][-1:] or ['(no output)']
        sections.append(f'## Tests (`COURSE_LIB_DEVICE={device} pytest`)\n\n`{last[0].strip("= ")}` '
                        '(full log: pytest.log)')

    rc, text = _run([sys.executable, '-c', CLI, 'data'], env)   # where each dataset came from, and its notes
    rows = [line for line in text.splitlines() if line.strip() and ' missing ' not in line]
    sections.insert(0, '## Data\n\n```\n' + '\n'.join(rows) + '\n```')

    head = (f"# GPU course run\n\n**Card:** {card}. **Device:** {device}. PyTorch {torch.__version__}. "
            f"{'Quick mode' if args.quick else 'Full sizes'}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. "
            f"Result: {'everything ran' if ok else 'something FAILED (see below)'}.")
    (out/'report.md').write_text('\n\n'.join([head, *sections]) + '\n')
    print(f'\nreport: {out/"report.md"}')
    return 0 if ok else 1


def _notebook_section(report) -> str:
    from course_lib.tools.notebooks import report_table   # the table `course-lib run --report` writes
    return '\n'.join(['## Notebooks', '', *report_table(report)])


if __name__ == '__main__':
    sys.exit(main())
