"""The Learner (09b) and its progress reporting (09c): behaviour, reliability and the mistakes learners make."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from course_lib.callbacks import Callback, Recorder, TrainEvalCallback
from course_lib.core import set_seed
from course_lib.learner import Learner, SaveModel
from course_lib.loop import CancelFitException, DeviceCallback
from course_lib.progress import ProgressLines, progress_callback, progress_mode
from course_lib.training import ArrayDataset, DataBunch, accuracy


@pytest.fixture(autouse=True)
def quiet_and_isolated(monkeypatch, tmp_path):
    "No progress output, a private model cache, the CPU."
    monkeypatch.setenv('COURSE_LIB_PROGRESS', 'quiet')
    monkeypatch.setenv('COURSE_LIB_HOME', str(tmp_path/'home'))
    monkeypatch.setenv('COURSE_LIB_DEVICE', 'cpu')


def synth_dls(n=256, bs=32, seed=0, dtype=torch.float32):
    "Three classes of points in 2D, separable by lines: a task a tiny MLP learns in seconds."
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n + 128, 2, generator=g, dtype=dtype)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()
    train, valid = ArrayDataset(x[:n], y[:n]), ArrayDataset(x[n:], y[n:])
    return DataBunch(DataLoader(train, bs, shuffle=True), DataLoader(valid, bs * 2), c=3)


def mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))


def make_learner(seed=0, **kwargs):
    set_seed(seed)
    return Learner(mlp(seed), synth_dls(seed=seed), lr=0.1, **kwargs)


def weights(model): return torch.cat([p.detach().flatten() for p in model.parameters()])


# --- behaviour -------------------------------------------------------------------------------

def test_fit_learns_and_records_a_row_per_epoch():
    learn = make_learner(metrics=accuracy)
    learn.fit(3)
    history = learn.avg_stats.history
    assert [row['epoch'] for row in history] == [0, 1, 2]
    assert list(history[0]) == ['epoch', 'train_loss', 'valid_loss', 'valid_accuracy', 'time']
    assert history[-1]['valid_loss'] < history[0]['valid_loss']
    assert history[-1]['valid_accuracy'] > 0.8, history[-1]
    assert learn.epochs_done == 3 and learn.data is learn.dls


def test_fit_matches_a_hand_written_loop_exactly():
    learn = make_learner(seed=1)
    set_seed(1)
    learn.fit(2)
    model, dls = mlp(1), synth_dls(seed=1)
    set_seed(1)                              # the shuffling starts from the same state
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(2):
        model.train()
        for xb, yb in dls.train_dl:
            F.cross_entropy(model(xb), yb).backward()
            opt.step()
            opt.zero_grad()
        model.eval()
        with torch.no_grad():
            for xb, yb in dls.valid_dl: model(xb)
    assert torch.equal(weights(learn.model), weights(model))


def test_the_same_seeded_run_twice_gives_identical_losses():
    runs = []
    for _ in range(2):
        learn = make_learner(seed=3)
        learn.fit_one_cycle(2, 0.2)
        runs.append(learn.recorder.losses)
    assert runs[0] == runs[1] and len(runs[0]) == 2 * 8


def test_multi_input_batches_are_counted_by_their_targets():
    class TwoInputs(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 3)
        def forward(self, a, b): return self.lin(torch.cat([a, b], dim=1))
    x1, x2, y = torch.randn(50, 2), torch.randn(50, 2), torch.randint(0, 3, (50,))
    ds = [(a, b, t) for a, b, t in zip(x1, x2, y)]
    dls = DataBunch(DataLoader(ds, 16), DataLoader(ds, 32), c=3)
    learn = Learner(TwoInputs(), dls, metrics=[accuracy])
    learn.fit(1)
    preds, targets = learn.get_preds()
    expected = F.cross_entropy(preds, targets).item()
    assert math.isclose(learn.avg_stats.history[-1]['valid_loss'], expected, rel_tol=1e-5)


def test_splitter_gives_one_param_group_and_lr_each():
    learn = make_learner(splitter=lambda m: [m[0].parameters(), m[2].parameters()])
    learn.fit(1, lr=[0.01, 0.1])
    assert [group['lr'] for group in learn.opt.param_groups] == [0.01, 0.1]
    learn.fit_one_cycle(1, lr_max=slice(0.001, 0.1))
    assert len(learn.recorder.lrs) == 2
    assert max(learn.recorder.lrs[0]) == pytest.approx(0.001, rel=0.05)
    assert max(learn.recorder.lrs[1]) == pytest.approx(0.1, rel=0.05)
    with pytest.raises(ValueError, match='3 learning rates for 2 parameter groups'):
        learn.fit(1, lr=[0.1, 0.1, 0.1])


def test_lr_find_restores_model_and_optimizer():
    learn = make_learner()
    learn.fit(1)
    before, opt = weights(learn.model).clone(), learn.opt
    finder = learn.lr_find(max_iter=20)
    assert len(finder.lrs) >= 10
    assert torch.equal(weights(learn.model), before) and learn.opt is opt
    assert len(learn.avg_stats.history) == 1


def test_a_callback_can_take_over_a_step():
    class CountBackward(Callback):
        calls = 0
        def backward(self, learn):
            self.calls += 1
            Learner.backward(learn)          # the default is still there
    cb = CountBackward()
    learn = make_learner(cbs=cb)
    learn.fit(1)
    assert cb.calls == 8
    assert learn.avg_stats.history[-1]['train_loss'] < 1.2


def test_two_callbacks_taking_over_one_step_is_an_error_at_the_start():
    class A(Callback):
        def predict(self, learn): Learner.predict(learn)
    class B(Callback):
        def predict(self, learn): Learner.predict(learn)
    learn = make_learner(cbs=A())
    with pytest.raises(ValueError, match='A and B both take over predict'):
        learn.fit(1, cbs=B())
    assert learn.epochs_done == 0 and not hasattr(learn, 'b')   # removed again


def test_after_fit_runs_when_an_error_escapes():
    class Boom(Callback):
        def after_batch(self, learn):
            if learn.iter == 2: raise RuntimeError('boom')
        def after_fit(self, learn): self.cleaned = True
    cb = Boom()
    learn = make_learner()
    with pytest.raises(RuntimeError, match='boom'): learn.fit(1, cbs=cb)
    assert cb.cleaned


def test_fit_callbacks_are_removed_afterwards():
    learn = make_learner()
    recorder = learn.recorder
    class Stop(Callback):
        def after_batch(self, learn): raise CancelFitException()
    learn.fit(1, cbs=Stop())
    assert not hasattr(learn, 'stop') and learn.recorder is recorder


def test_get_preds_returns_predictions_and_targets_on_the_cpu():
    learn = make_learner()
    preds, targets = learn.get_preds()
    assert preds.shape == (128, 3) and targets.shape == (128,)
    assert preds.device.type == 'cpu'


# --- reliability -----------------------------------------------------------------------------

def test_nan_loss_stops_the_fit_naming_epoch_and_batch():
    class Poison(Callback):
        def begin_batch(self, learn):
            if learn.epoch == 1 and learn.iter == 3 and learn.in_train:
                learn.xb = learn.xb * float('nan')
    learn = make_learner(cbs=Poison())
    with pytest.raises(FloatingPointError, match='training loss is nan at epoch 1, batch 3'):
        learn.fit(3)


def test_inf_loss_stops_the_fit_too():
    learn = make_learner(loss_func=lambda pred, y: F.cross_entropy(pred, y) * float('inf'))
    with pytest.raises(FloatingPointError, match='loss is inf at epoch 0, batch 0'):
        learn.fit(1)


def test_interrupt_then_resume_gives_the_weights_of_an_uninterrupted_run():
    full = make_learner(seed=5)
    full.fit_one_cycle(3, 0.3)

    class Interrupt(Callback):
        def after_step(self, learn):
            if learn.epoch == 2 and learn.iter == 4: raise KeyboardInterrupt
    learn = make_learner(seed=5)
    with pytest.raises(KeyboardInterrupt):
        learn.fit_one_cycle(3, 0.3, cbs=[SaveModel('run'), Interrupt()])
    # consistent: no gradients left over, every parameter has its momentum buffer
    assert all(p.grad is None for p in learn.model.parameters())
    assert all('momentum_buffer' in learn.opt.state[p] for p in learn.model.parameters())
    assert learn.epochs_done == 2

    resumed = Learner(mlp(seed=99), synth_dls(seed=5), lr=0.1)   # as a new process would
    resumed.load('run')
    assert resumed.epochs_done == 2
    resumed.fit_one_cycle(3, 0.3, resume=True)
    assert torch.equal(weights(resumed.model), weights(full.model))


def test_save_load_round_trip_and_missing_name():
    learn = make_learner()
    learn.fit(1)
    path = learn.save('one')
    assert path.name == 'one.pth' and path.parent.name == 'models'
    other = make_learner(seed=7).load('one')
    assert torch.equal(weights(other.model), weights(learn.model))
    assert other.opt.state_dict()['state'].keys() == learn.opt.state_dict()['state'].keys()
    with pytest.raises(FileNotFoundError, match=r"No checkpoint .*two\.pth; saved there: \['one'\]"):
        other.load('two')


# --- mistakes learners make ------------------------------------------------------------------

def test_a_loss_class_instead_of_an_instance():
    with pytest.raises(TypeError, match=r'loss_func=CrossEntropyLoss is a class; pass an instance, '
                                        r'loss_func=CrossEntropyLoss\(\)'):
        Learner(mlp(), synth_dls(), loss_func=nn.CrossEntropyLoss)
    Learner(mlp(), synth_dls(), loss_func=nn.CrossEntropyLoss()).fit(1)


def test_loss_arguments_swapped():
    def my_loss(target, pred): return F.cross_entropy(pred, target)
    learn = Learner(mlp(), synth_dls(), loss_func=my_loss)
    with pytest.raises(TypeError, match=r"loss_func\(target, pred\) works: .* Swap your loss"):
        learn.fit(1)


def test_float64_inputs_simply_work():
    learn = Learner(mlp(), synth_dls(dtype=torch.float64), lr=0.1, metrics=accuracy)
    learn.fit(2)
    assert learn.avg_stats.history[-1]['valid_accuracy'] > 0.7


def test_a_callback_the_learner_adds_passed_again():
    for cb, what in [(TrainEvalCallback(), 'counts every batch'), (Recorder(), 'learn.recorder')]:
        with pytest.raises(ValueError, match=f'The Learner adds a {type(cb).__name__} itself: .*{what}'):
            Learner(mlp(), synth_dls(), cbs=[cb])
    with pytest.raises(ValueError, match='pass device=... to the Learner'):
        Learner(mlp(), synth_dls(), cbs=[DeviceCallback()])
    learn = make_learner()
    with pytest.raises(ValueError, match='adds a Recorder itself'): learn.fit(1, cbs=Recorder())
    assert learn.epochs_done == 0


def test_one_callback_or_nested_lists_of_callbacks_work():
    class Count(Callback):
        def begin_fit(self, learn): self.n = 0
        def after_batch(self, learn): self.n += learn.in_train
    one, two = Count(), Count()
    two.name = 'count_2'
    learn = make_learner(cbs=one)          # one callback where a list was expected
    learn.fit(1, cbs=[[two]])              # a list inside the list
    assert one.n == two.n == 8


def test_one_metric_where_a_list_was_expected():
    learn = make_learner(metrics=accuracy)
    learn.fit(1)
    assert 'valid_accuracy' in learn.avg_stats.history[-1]


def test_classes_and_non_callbacks_get_a_clear_message():
    with pytest.raises(TypeError, match=r'Recorder is a class: pass an instance, Recorder\(...\)'):
        Learner(mlp(), synth_dls(), cbs=[Recorder])
    with pytest.raises(TypeError, match='is not a Callback'):
        Learner(mlp(), synth_dls(), cbs=[print])
    with pytest.raises(TypeError, match="metric 'accuracy' is not a function"):
        Learner(mlp(), synth_dls(), metrics=['accuracy'])


def test_dict_batches_get_a_clear_message_and_a_way_out():
    ds = [{'x': torch.randn(2), 'y': torch.tensor(1)} for _ in range(20)]
    dls = DataBunch(DataLoader(ds, 4), DataLoader(ds, 4), c=3)
    with pytest.raises(TypeError, match=r"The batches are dicts \(keys 'x', 'y'\)"):
        Learner(mlp(), dls).fit(1)

    class DictBatch(Callback):
        def split_batch(self, learn): learn.xb, learn.yb = learn.batch['x'], learn.batch['y']
    learn = Learner(mlp(), dls, cbs=DictBatch())
    learn.fit(1)
    assert learn.epochs_done == 1


# --- progress --------------------------------------------------------------------------------

def test_progress_modes(monkeypatch, capsys):
    monkeypatch.setenv('COURSE_LIB_PROGRESS', 'lines')
    assert progress_mode() == 'lines' and isinstance(progress_callback(), ProgressLines)
    make_learner(metrics=accuracy).fit(2)
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ['epoch', 'train_loss', 'valid_loss', 'valid_accuracy', 'time']
    assert [line.split()[0] for line in out[1:]] == ['0', '1']
    monkeypatch.setenv('COURSE_LIB_PROGRESS', 'quiet')
    make_learner().fit(1)
    assert capsys.readouterr().out == ''
    monkeypatch.setenv('COURSE_LIB_PROGRESS', 'loud')
    with pytest.raises(ValueError, match="COURSE_LIB_PROGRESS='loud': use one of auto, bars, lines, quiet"):
        progress_mode()
