"""How much does the Learner cost over a plain PyTorch loop?

Trains the MNIST CNN of notebook 06 for one epoch (training pass + validation pass) two ways, on the
CPU, with the same model, data loaders and optimizer (SGD with momentum): a hand-written loop with
PyTorch's `OneCycleLR` and the validation loss and accuracy, and `Learner.fit_one_cycle` with what a
user normally has on (accuracy metric, quiet progress, recorder, one-cycle schedule). The
two alternate, repeat after repeat, and the median of the per-repeat ratios is printed. Whole-epoch
ratios swing by a few percent between identical runs on a shared machine, so the same run also times
the Learner's own code (event dispatch and callbacks, moving and splitting batches, the loss check)
from inside, as a share of the epoch.

    python benchmarks/learner_overhead.py [--quick] [--threads N]

Prints `name: value` lines, e.g. `learner_overhead_bs64: 1.02x`, `learner_own_share_bs64: 1.4%`.
"""
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # run from a checkout

import torch
import torch.nn.functional as F

from course_lib.cnn import cnn_model, init_cnn
from course_lib.core import patch_env, set_seed
from course_lib.data import get_mnist
from course_lib.learner import Learner, sgd_momentum
from course_lib.training import ArrayDataset, DataBunch, accuracy, get_dls, normalize
from _cli import benchmark_parser


def mnist_dls(bs, n_train, n_valid):
    "MNIST as 1x28x28 images, normalised; the first `n_train` / `n_valid` digits."
    x_train, y_train, x_valid, y_valid = get_mnist()
    x_train, y_train = x_train[:n_train], y_train[:n_train]
    x_valid, y_valid = x_valid[:n_valid], y_valid[:n_valid]
    mean, std = x_train.mean(), x_train.std()
    images = lambda x: normalize(x, mean, std).view(-1, 1, 28, 28)
    train_ds = ArrayDataset(images(x_train), y_train)
    valid_ds = ArrayDataset(images(x_valid), y_valid)
    return DataBunch(*get_dls(train_ds, valid_ds, bs), c=10)


def make_model():
    return init_cnn(cnn_model([8, 16, 32, 32]))


def raw_epoch(model, opt, dls, lr_max=0.1):
    "The baseline as a PyTorch user writes it: one-cycle lr, validation loss and accuracy."
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr_max, total_steps=len(dls.train_dl))
    model.train()
    for xb, yb in dls.train_dl:
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        sched.step()
        opt.zero_grad()
    model.eval()
    total, correct, count = 0., 0., 0
    with torch.no_grad():
        for xb, yb in dls.valid_dl:
            out = model(xb)
            total += F.cross_entropy(out, yb) * len(yb)
            correct += (out.argmax(dim=1) == yb).float().sum()
            count += len(yb)
    return float(total) / count, float(correct) / count


class TimedLearner(Learner):
    "A Learner that adds up the time spent in its own code: dispatch, callbacks, batch handling."
    own = 0.

    def __call__(self, event):
        start = time.perf_counter()
        super().__call__(event)
        self.own += time.perf_counter() - start

    def split_batch(self):
        start = time.perf_counter()
        super().split_batch()
        self.own += time.perf_counter() - start

    def _check_loss(self):
        start = time.perf_counter()
        super()._check_loss()
        self.own += time.perf_counter() - start


def measure(bs, n_train, n_valid, repeats):
    dls = mnist_dls(bs, n_train, n_valid)
    set_seed(0)
    init = make_model().state_dict()    # each timed epoch starts from these weights
    raw_model, model, timed_model = make_model(), make_model(), make_model()
    raw_opt = sgd_momentum(raw_model.parameters(), lr=0.1)
    learn = Learner(model, dls, lr=0.1, metrics=accuracy, device='cpu')
    timed = TimedLearner(timed_model, dls, lr=0.1, metrics=accuracy, device='cpu')
    raw_epoch(raw_model, raw_opt, dls)          # warm-up: allocator, first-call costs
    learn.fit_one_cycle(1)
    ratios, shares = [], []
    for _ in range(repeats):
        for m in (raw_model, model, timed_model): m.load_state_dict(init)
        start = time.perf_counter()
        raw_epoch(raw_model, raw_opt, dls)
        raw = time.perf_counter() - start
        start = time.perf_counter()
        learn.fit_one_cycle(1)
        ratios.append((time.perf_counter() - start) / raw)
        timed.own = 0.
        start = time.perf_counter()
        timed.fit_one_cycle(1)
        shares.append(timed.own / (time.perf_counter() - start))
    return statistics.median(ratios), statistics.median(shares), raw


def main(argv=None):
    parser = benchmark_parser(__doc__, 'small data, few repeats (< 1 min)', threads=1)
    args = parser.parse_args(argv)   # one thread by default: steady timings on a shared machine
    torch.set_num_threads(args.threads)
    n_train, n_valid, repeats = (1_024, 512, 3) if args.quick else (10_240, 2_048, 7)
    print(f'setup: MNIST CNN, {n_train} train / {n_valid} valid digits, CPU, '
          f'{args.threads} thread(s), {repeats} interleaved repeats')
    with patch_env(COURSE_LIB_PROGRESS='quiet', COURSE_LIB_DEVICE='cpu'):
        for bs in (64, 512):
            ratio, share, raw = measure(bs, n_train, n_valid, repeats)
            print(f'raw_epoch_bs{bs}: {raw:.2f} s')
            print(f'learner_overhead_bs{bs}: {ratio:.3f}x')
            print(f'learner_own_share_bs{bs}: {100 * share:.2f}%')


if __name__ == '__main__':
    main()
