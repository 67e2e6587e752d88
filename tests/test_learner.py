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

@pytest.mark.parametrize('mode', ['bars', 'lines'])
def test_an_error_before_the_progress_callback_starts_is_not_hidden(monkeypatch, mode):
    "A callback failing in begin_fit: after_fit still runs, and the user sees that error."
    monkeypatch.setenv('COURSE_LIB_PROGRESS', mode)
    class FailsEarly(Callback):
        order = -5
        def begin_fit(self, learn): raise RuntimeError('cannot start')
    with pytest.raises(RuntimeError, match='cannot start'):
        make_learner().fit(1, cbs=FailsEarly())


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


def test_batches_keep_their_structure():
    "(x1, x2, y) -> model(x1, x2); (x, y) with x a list (collated tuples) -> model(x)."
    class ListInput(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 3)
        def forward(self, pair): return self.lin(torch.cat(list(pair), dim=1))
    ds = [((a, b), t) for a, b, t in zip(torch.randn(40, 2), torch.randn(40, 2),
                                        torch.randint(0, 3, (40,)))]
    dls = DataBunch(DataLoader(ds, 8), DataLoader(ds, 8), c=3)
    learn = Learner(ListInput(), dls)
    learn.fit(1)
    assert isinstance(learn.xb, list) and learn.avg_stats.history[-1]['valid_loss'] > 0


def test_a_callback_named_like_a_learner_attribute():
    class Model(Callback): pass          # its name would be 'model'
    with pytest.raises(ValueError, match="already has an attribute named 'model'"):
        Learner(mlp(), synth_dls(), cbs=Model())
    two = Recorder()
    two.name = 'avg_stats'
    with pytest.raises(ValueError, match=r"already has a callback \(Metrics\) named 'avg_stats'"):
        Learner(mlp(), synth_dls(), cbs=two)


def test_early_stopping_of_05b_reads_the_learner_metrics():
    from course_lib.loop import EarlyStopping
    stop = EarlyStopping('valid_accuracy', mode='max', patience=1, min_delta=1.)
    learn = make_learner(metrics=accuracy, cbs=stop)
    learn.fit(5)
    assert stop.stopped_epoch == 1 and learn.epochs_done == 2   # nothing beats +1.0 accuracy


# --- using a trained learner -----------------------------------------------------------------

def test_validate_gives_the_last_rows_figures():
    learn = make_learner(metrics=accuracy)
    learn.fit(2)
    row, last = learn.validate(), learn.avg_stats.history[-1]
    assert row.keys() == {'valid_loss', 'valid_accuracy'}
    assert row['valid_loss'] == pytest.approx(last['valid_loss'], rel=1e-5)
    assert row['valid_accuracy'] == pytest.approx(last['valid_accuracy'])


def test_predict_and_test_dl_on_unlabeled_inputs():
    learn = make_learner()
    learn.fit(2)
    x = learn.dls.valid_ds.x
    preds, targets = learn.get_preds(learn.test_dl(x))
    assert targets is None and preds.shape == (len(x), 3)
    assert torch.equal(preds, learn.get_preds()[0])         # the same inputs, the same outputs
    label, probs = learn.predict(x[5])
    assert label == int(preds[5].argmax()) and torch.allclose(probs, preds[5].softmax(0))
    with pytest.raises(ValueError, match='have no targets'): learn.validate(learn.test_dl(x))


def test_an_exported_learner_predicts_identically(tmp_path):
    from course_lib.learner import load_learner
    learn = make_learner(metrics=accuracy)
    learn.fit(2)
    path = learn.export(tmp_path/'learn.pkl')
    assert path.stat().st_size < 100_000, 'export saves no data'
    loaded = load_learner(path)
    x = learn.dls.valid_ds.x
    assert torch.equal(loaded.get_preds(loaded.test_dl(x))[0], learn.get_preds(learn.test_dl(x))[0])
    assert loaded.opt is None and loaded.dls.train_dl is None and loaded.dls.c == 3
    assert loaded.predict(x[0])[0] == learn.predict(x[0])[0]
    with pytest.raises(FileNotFoundError, match='learn.export'): load_learner(tmp_path/'nothing.pkl')


def test_export_of_a_callback_pickle_cannot_save_says_why(tmp_path):
    def local(x): return x
    from course_lib.callbacks import BatchTransformCallback
    learn = make_learner(cbs=BatchTransformCallback(local))
    with pytest.raises(TypeError, match='at the top level of a module'): learn.export(tmp_path/'x.pkl')
    assert not list(tmp_path.iterdir()), 'a failed export leaves no file behind'


def test_a_learner_reshaping_batches_with_view_tfm_exports_and_reloads(tmp_path):
    "06's `view_tfm` must pickle: 09b's MNIST learners use it through a BatchTransformCallback."
    from course_lib.callbacks import BatchTransformCallback
    from course_lib.cnn import Lambda, view_tfm
    from course_lib.learner import load_learner
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(96, 16, generator=g), torch.randint(0, 3, (96,), generator=g)
    dls = DataBunch(DataLoader(ArrayDataset(x[:64], y[:64]), 32),
                    DataLoader(ArrayDataset(x[64:], y[64:]), 32), c=3)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(16, 3),
                          Lambda(view_tfm(3)))     # in the model too, as 06's CNNs have it
    learn = Learner(model, dls, lr=0.1, cbs=BatchTransformCallback(view_tfm(1, 4, 4)))
    learn.fit(1)
    loaded = load_learner(learn.export(tmp_path/'view.pkl'))
    assert torch.equal(loaded.get_preds(loaded.test_dl(x))[0], learn.get_preds(learn.test_dl(x))[0])
    assert 'view_tfm(3,)' in repr(loaded.model), 'the reloaded Lambda keeps its name'


def test_an_image_learner_predicts_files_and_folders_after_export(tmp_path):
    from course_lib.data_block import image_databunch
    from course_lib.learner import load_learner
    from test_data_block import make_folder
    path = make_folder(tmp_path/'images')
    dls = image_databunch(path, size=8, bs=4, num_workers=0)
    set_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 2))
    learn = Learner(model, dls, lr=0.1)
    learn.fit(1)
    folder = path/'val'/'dog'
    preds, targets = learn.get_preds(learn.test_dl(folder))
    assert targets is None and preds.shape == (2, 2)
    files = sorted(folder.iterdir())
    test_preds = learn.get_preds(learn.test_dl(files))[0]
    assert torch.equal(test_preds, preds)
    valid_preds = learn.get_preds()[0]
    assert torch.allclose(preds, valid_preds[2:]), 'read and normalised as the validation set'
    label, probs = learn.predict(files[0])
    assert label in ('cat', 'dog') and probs.shape == (2,)
    loaded = load_learner(learn.export(tmp_path/'images.pkl'))
    assert torch.equal(loaded.get_preds(loaded.test_dl(folder))[0], preds)
    assert loaded.predict(files[0])[0] == label


def test_an_exported_image_learner_does_not_keep_the_loaders_device(tmp_path):
    "A loader that moved batches to a GPU must not make the file unusable on a CPU-only machine."
    from course_lib.data_block import image_databunch
    from course_lib.learner import load_learner
    from test_data_block import make_folder
    path = make_folder(tmp_path/'images')
    dls = image_databunch(path, size=8, bs=4, num_workers=0, device='cpu')
    assert dls.valid_dl.device == 'cpu'
    learn = Learner(nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 2)), dls)
    loaded = load_learner(learn.export(tmp_path/'images.pkl'))
    assert loaded.dls.wrapper.device is None and dls.valid_dl.device == 'cpu'
    assert loaded.test_dl(path/'val').device is None


def test_load_of_another_shape_names_the_layers_and_changes_nothing(tmp_path):
    learn = make_learner()
    learn.fit(1)
    learn.save(tmp_path/'small.pth')
    wide = Learner(nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 3)), synth_dls())
    before = weights(wide.model)
    with pytest.raises(ValueError, match=r"0.weight is \(16, 2\) there, \(32, 2\) here") as error:
        wide.load(tmp_path/'small.pth')
    assert '\n' not in str(error.value) and 'Nothing was loaded' in str(error.value)
    assert torch.equal(weights(wide.model), before) and wide.opt is None
    deeper = Learner(nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3), nn.Linear(3, 3)),
                     synth_dls())
    with pytest.raises(ValueError, match='3.weight is missing'): deeper.load(tmp_path/'small.pth')


# --- the argument mistakes of other APIs -------------------------------------------------------

def test_lesson_9_argument_order():
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match="lesson 9's order"): Learner(model, opt, F.cross_entropy, synth_dls())


def test_fastai_argument_order():
    with pytest.raises(TypeError, match="fastai's order"): Learner(synth_dls(), mlp())


def test_an_optimizer_instance_as_opt_func():
    model = mlp()
    opt = torch.optim.AdamW(model.parameters())
    with pytest.raises(TypeError, match=r'opt_func=torch.optim.AdamW or partial'):
        Learner(model, synth_dls(), opt_func=opt)


@pytest.mark.parametrize('lr', ['1e-2', None])
def test_a_learning_rate_that_is_not_a_number(lr):
    learn = make_learner()
    if lr is None: learn.lr = object()
    with pytest.raises(TypeError, match='is not a number'): learn.fit_one_cycle(1, lr)


def test_a_loss_that_needs_three_arguments():
    def weighted(pred, target, weight): return F.cross_entropy(pred, target) * weight
    with pytest.raises(TypeError, match=r'needs 3 arguments.*functools.partial'):
        make_learner(loss_func=weighted)
    from functools import partial
    make_learner(loss_func=partial(weighted, weight=2.)).fit(1)   # bound: fine
