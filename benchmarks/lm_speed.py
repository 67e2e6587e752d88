"""How fast does notebook 12b's language model train, bare and through the Learner?

The model of 12b's CPU run (vocabulary 10,000, embeddings of 96, three LSTM layers of 256 units, 12b's
`drop_mult`) on batches of 8 x 70 random tokens, trained two ways in alternating rounds of the same run:

- `bare`: a plain loop, `Adam` and `F.cross_entropy` on the same `LMLoader`, nothing else;
- `learner`: `course_lib.lm.lm_learner` and `fit_one_cycle`, as 12b runs it (AdamW with weight decay,
  AR/TAR, gradient clipping, one-cycle, the recorder, a one-batch validation).

Both run on the CPU with one thread (`--threads` to change), so the figures can be compared with other
runs of this script on the same machine, not with a 2-thread notebook run. Each arm's tokens per second is
its best round (the least disturbed by other work on the machine); the ratio is learner time over bare time.

    python benchmarks/lm_speed.py [--quick] [--threads N]

Prints `name: value` lines, e.g. `lm_learner_vs_bare: 1.03x`.
"""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # run from a checkout

import torch
import torch.nn.functional as F

from course_lib.awd_lstm import get_language_model
from course_lib.lm import lm_learner
from course_lib.text import LMLoader, Vocab, lm_databunch
from _cli import benchmark_parser

VOCAB, EMB, HID, LAYERS, BS, BPTT, DROP_MULT = 10_000, 96, 256, 3, 8, 70, 0.1   # 12b's CPU run


def random_docs(n_batches, seed=0):
    "Texts of random tokens, enough for `n_batches` batches of `BS` x `BPTT` (and one token more)."
    g = torch.Generator().manual_seed(seed)
    n = n_batches * BS * BPTT + 1
    return [torch.randint(2, VOCAB, (1000,), generator=g) for _ in range(n // 1000 + 1)]


def bare_round(docs):
    "Seconds and tokens of one pass of the plain loop over `docs`."
    torch.manual_seed(0)
    model = get_language_model(VOCAB, EMB, HID, LAYERS, drop_mult=DROP_MULT).train()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    dl = LMLoader(docs, BS, BPTT)
    start, n = time.perf_counter(), 0
    for x, y in dl:
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        loss.backward()
        opt.step()
        opt.zero_grad()
        n += y.numel()
    return time.perf_counter() - start, n


def learner_round(docs):
    "Seconds and tokens of one `fit_one_cycle` epoch of 12b's `lm_learner` over `docs`."
    torch.manual_seed(0)
    vocab = Vocab(['xxunk', 'xxpad'] + [f'w{i}' for i in range(VOCAB - 2)])
    data = lm_databunch(docs, [docs[0][:BS * BPTT + 1]], vocab, bs=BS, bptt=BPTT)
    learn = lm_learner(data, vocab, EMB, HID, LAYERS, drop_mult=DROP_MULT, lr=3e-3)
    start = time.perf_counter()
    learn.fit_one_cycle(1, lr_max=3e-3, cbs=[])
    return time.perf_counter() - start, len(data.train_dl) * BS * BPTT


def main(quick, threads):
    torch.set_num_threads(threads)
    n_batches, rounds = (6, 2) if quick else (20, 3)
    docs = random_docs(n_batches)
    print(f'setup: vocab {VOCAB:,}, emb {EMB}, {LAYERS}x{HID} LSTM, drop_mult {DROP_MULT}, bs {BS} x bptt {BPTT}, '
          f'{n_batches} batches a round, {rounds} rounds, CPU, {threads} thread(s)')
    best = {'bare': 0., 'learner': 0.}
    bare_round(docs[:2])                                  # warm-up outside the timing
    for _ in range(rounds):
        for name, run in (('bare', bare_round), ('learner', learner_round)):
            seconds, n = run(docs)
            best[name] = max(best[name], n / seconds)
    print(f"lm_bare_tokens_per_s: {best['bare']:,.0f}")
    print(f"lm_learner_tokens_per_s: {best['learner']:,.0f}")
    print(f"lm_learner_vs_bare: {best['bare'] / best['learner']:.2f}x")


if __name__ == '__main__':
    args = benchmark_parser(__doc__, '6 batches a round, 2 rounds', threads=1).parse_args()
    main(args.quick, args.threads)
