"""The command line every benchmark script shares (not a benchmark itself: `run.py` skips `_*.py`)."""
import argparse


def benchmark_parser(doc: str,              # the script's docstring: its first line describes it
                     quick_help: str,       # what `--quick` shrinks, and how long it then takes
                     threads=False):        # False: no `--threads`; else its default (None: PyTorch's)
    "An `ArgumentParser` with `--quick` and, if asked, `--threads`; add the script's own options to it."
    parser = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    parser.add_argument('--quick', action='store_true', help=quick_help)
    if threads is not False:
        default = "PyTorch's" if threads is None else threads
        parser.add_argument('--threads', type=int, default=threads,
                            help=f'PyTorch CPU threads (default {default})')
    return parser
