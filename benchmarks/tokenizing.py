"""Texts per second of course_lib.text's tokeniser: one process against one per core, same texts, one run.

    python benchmarks/tokenizing.py [--quick] [--texts N] [--workers N]

Prints `name: value` lines. The texts are IMDB reviews from the data layer (the bundled 1,000-review
sample with --quick or when the full dataset is not available). The script is not called `tokenize.py`:
that name would shadow the standard library module of the same name, which Python itself imports.
"""
import time

from course_lib.data import untar_data
from course_lib.core import default_workers
from course_lib.text import Tokenizer, load_imdb, tokenize_parallel
from _cli import benchmark_parser


def texts_per_second(texts, tok, n_workers, chunk):
    start = time.perf_counter()
    tokens = tokenize_parallel(texts, tok, n_workers, chunk, show_progress=False)
    return len(texts) / (time.perf_counter() - start), tokens


def main(argv=None):
    parser = benchmark_parser(__doc__, '1,000 sample reviews (under a minute)')
    parser.add_argument('--texts', type=int, default=None, help='how many reviews (default 4,000)')
    parser.add_argument('--workers', type=int, default=None, help='processes (default: one per core)')
    args = parser.parse_args(argv)
    n_texts = args.texts or (1_000 if args.quick else 4_000)
    n_workers = args.workers or default_workers()
    imdb = load_imdb(untar_data('imdb_sample' if args.quick else 'imdb'))
    texts = (imdb['train'][0] + imdb['valid'][0])[:n_texts]
    chunk = max(len(texts) // (4 * n_workers), 50)    # a few chunks per worker
    tok = Tokenizer()
    tok(texts[:10])                                   # load spaCy before timing
    one, tokens_one = texts_per_second(texts, tok, 1, chunk)
    many, tokens_many = texts_per_second(texts, tok, n_workers, chunk)
    assert tokens_one == tokens_many, 'the worker processes gave other tokens than one process'
    print(f'tokenize_texts: {len(texts)}')
    print(f'tokenize_texts_per_s_1proc: {one:.0f}')
    print(f'tokenize_texts_per_s_{n_workers}proc: {many:.0f}')
    print(f'tokenize_parallel_speedup_{n_workers}proc: {many / one:.2f}x')


if __name__ == '__main__':
    main()
