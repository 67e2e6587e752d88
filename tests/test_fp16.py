"""course_lib.fp16: dynamic loss scaling skips overflowing steps, from scratch and through torch.amp."""

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from course_lib.fp16 import LossScaler, MasterWeights, MixedPrecision, half_step, model_to_half
from course_lib.callbacks import Callback
from course_lib.core import patch_env
from course_lib.learner import Learner
from course_lib.optimizers import adam_opt
from course_lib.training import ArrayDataset, DataBunch


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))


def test_loss_scaler_halves_on_overflow_and_doubles_after_good_steps():
    scaler = LossScaler(scale=1024., growth_interval=2)
    scaler.update(False)
    assert scaler.scale == 512.
    scaler.update(True)
    assert scaler.scale == 512.
    scaler.update(True)
    assert scaler.scale == 1024.


def test_half_step_skips_an_overflowing_step():
    model = model_to_half(_model())
    assert model[0].weight.dtype == torch.float16 and model[1].weight.dtype == torch.float32
    masters = MasterWeights(model)
    opt, scaler = adam_opt(masters.params, lr=1e-2), LossScaler(scale=2.**10)
    xb, yb = torch.randn(16, 4), torch.randint(0, 2, (16,))
    _, finite = half_step(model, masters, opt, scaler, xb, yb, F.cross_entropy)
    assert finite and opt.state[masters.params[0]]['step'] == 1
    before = [p.detach().clone() for p in masters.params]
    hook = model[0].weight.register_hook(lambda grad: torch.full_like(grad, float('inf')))
    _, finite = half_step(model, masters, opt, scaler, xb, yb, F.cross_entropy)
    hook.remove()
    assert not finite and scaler.scale == 2.**9
    assert opt.state[masters.params[0]]['step'] == 1, 'the optimizer must not step on overflow'
    assert all(torch.equal(p.detach(), q) for p, q in zip(masters.params, before))
    _, finite = half_step(model, masters, opt, scaler, xb, yb, F.cross_entropy)
    assert finite and not torch.equal(masters.params[0].detach(), before[0])
    assert torch.equal(model[0].weight.float(), masters.params[0].detach().half().float())


class _InjectInf(Callback):
    def after_backward(self, learn):
        if learn.in_train and learn.iter == 1: learn.model[0].weight.grad[0] = float('inf')


class _Log(Callback):
    def begin_fit(self, learn): self.weights, self.scales = [], []
    def after_step(self, learn):
        self.weights.append(learn.model[0].weight.detach().clone())
        self.scales.append(learn.mixed_precision.scaler.get_scale())


def _dls():
    x, y = torch.randn(96, 4), torch.randint(0, 2, (96,))
    return DataBunch(DataLoader(ArrayDataset(x, y), 32), DataLoader(ArrayDataset(x, y), 32), c=2)


def test_mixed_precision_fp16_skips_and_halves_through_grad_scaler():
    log = _Log()
    learn = Learner(_model(), _dls(), lr=1e-2, opt_func=adam_opt, device='cpu',
                    cbs=[MixedPrecision(torch.float16, init_scale=2.**10), _InjectInf(), log])
    with patch_env(COURSE_LIB_PROGRESS='quiet'): learn.fit(1)
    assert log.scales == [2.**10, 2.**9, 2.**9]
    assert torch.equal(log.weights[1], log.weights[0]), 'the overflowing step must be skipped'
    assert learn.opt.state_dict()['state'][0]['step'] == 2


def test_mixed_precision_defaults_to_bf16_on_cpu_with_float32_predictions():
    learn = Learner(_model(), _dls(), lr=1e-2, device='cpu', cbs=MixedPrecision())
    with patch_env(COURSE_LIB_PROGRESS='quiet'): learn.fit(1)
    amp = learn.mixed_precision
    assert amp.dtype == torch.bfloat16 and not amp.scaler.is_enabled()
    preds, _ = learn.get_preds()
    assert preds.dtype == torch.float32


def test_mixed_precision_channels_last_trains_a_convnet():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    x, y = torch.randn(64, 3, 8, 8), torch.randint(0, 2, (64,))
    dls = DataBunch(DataLoader(ArrayDataset(x, y), 32), DataLoader(ArrayDataset(x, y), 32), c=2)
    before = model[0].weight.detach().clone()
    learn = Learner(model, dls, lr=1e-2, device='cpu', cbs=MixedPrecision(channels_last=True))
    with patch_env(COURSE_LIB_PROGRESS='quiet'): learn.fit(1)
    assert model[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert not torch.equal(model[0].weight.detach(), before)
