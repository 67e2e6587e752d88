"""Lesson 10's exception-based `Runner` (course_lib.loop): checks of the library that would distract
from the lesson in notebook 05b, so they live here."""
import torch
from torch import nn, optim

from course_lib.callbacks import AvgStatsCallback, Recorder
from course_lib.core import set_seed
from course_lib.loop import Runner
from course_lib.schedules import one_cycle
from course_lib.training import ArrayDataset, DataBunch, accuracy, create_learner, get_dls


def tiny_learner(seed=0, lr=0.5):
    "05b's: notebook 03's MLP (8 hidden units) on points labelled by the sign of x0 * x1."
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(60, 2, generator=gen)
    y = (x[:, 0] * x[:, 1] > 0).long()
    set_seed(seed)
    split = ArrayDataset(x[:40], y[:40]), ArrayDataset(x[40:], y[40:])
    return create_learner(DataBunch(*get_dls(*split, bs=10), c=2), lr=lr, nh=8)


def test_split_batch_can_read_dict_batches():
    "A `Runner` subclass that overrides `split_batch` trains on batches that are dicts."
    class DictRunner(Runner):
        def split_batch(self, batch): return batch['x'], batch['y']

    x, y = torch.randn(30, 3), torch.randint(0, 2, (30,))
    dict_ds = [{'x': x[i], 'y': y[i]} for i in range(30)]
    learn = tiny_learner()
    learn.data = DataBunch(*get_dls(dict_ds[:20], dict_ds[20:], 10))
    learn.model = nn.Linear(3, 2)
    learn.opt = optim.SGD(learn.model.parameters(), lr=0.1)
    run = DictRunner()
    run.fit(1, learn)
    assert run.xb.shape == (10, 3)            # the last batch: validation, read from the dicts


def test_fit_calls_no_item_per_batch(monkeypatch):
    "`AvgStatsCallback` and `Recorder` keep numbers on the device: no float `.item()` during a fit."
    calls, real_item = [], torch.Tensor.item
    def counting_item(self):
        # the DataLoader draws a shuffling seed with item() on an integer tensor once per
        # pass; losses and metrics are floats
        if self.is_floating_point(): calls.append(1)
        return real_item(self)

    learn = tiny_learner()
    learn.opt = optim.SGD(learn.model.parameters(), lr=0.1, momentum=0.9)
    run = Runner(cbs=[*one_cycle(0.5), Recorder(), AvgStatsCallback([accuracy])])
    monkeypatch.setattr(torch.Tensor, 'item', counting_item)
    run.fit(2, learn)
    monkeypatch.undo()
    assert len(run.recorder.lrs[0]) == 8, 'the fit should have run 2 epochs of 4 batches'
    assert not calls, f'{len(calls)} float .item() calls during a 2-epoch fit: keep stats as tensors'
