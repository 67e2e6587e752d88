"""course_lib.optimizers against torch.optim, and the hyperparameter accessor of course_lib.callbacks."""
import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn, optim

from course_lib.callbacks import get_hyper, has_hyper, set_hyper
from course_lib.optimizers import Optimizer, adam_opt, adamw_opt, lamb_opt, sgd_opt, sgd_step


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))


def _weights_after(make_opt, steps=20):
    model, gen = _model(), torch.Generator().manual_seed(1)
    opt = make_opt(model.parameters())
    for _ in range(steps):
        xb, yb = torch.randn(16, 6, generator=gen), torch.randint(0, 3, (16,), generator=gen)
        F.cross_entropy(model(xb), yb).backward()
        opt.step()
        opt.zero_grad()
    return torch.cat([p.detach().flatten() for p in model.parameters()])


PAIRS = {
    'sgd': (lambda ps: sgd_opt(ps, lr=0.5), lambda ps: optim.SGD(ps, lr=0.5)),
    'sgd_momentum_l2': (lambda ps: sgd_opt(ps, lr=0.1, momentum=0.9, wd=1e-2),
                        lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-2)),
    'adam_l2': (lambda ps: adam_opt(ps, lr=1e-2, wd=1e-2),
                lambda ps: optim.Adam(ps, lr=1e-2, weight_decay=1e-2)),
    'adamw': (lambda ps: adamw_opt(ps, lr=1e-2, wd=0.1), lambda ps: optim.AdamW(ps, lr=1e-2, weight_decay=0.1)),
}


@pytest.mark.parametrize('name', PAIRS)
def test_matches_torch_over_20_steps(name):
    ours, theirs = PAIRS[name]
    gap = (_weights_after(ours) - _weights_after(theirs)).abs().max().item()
    assert gap <= 1e-6, f'{name}: weights differ by {gap:.2e} after 20 steps'


def test_adam_and_adamw_differ():
    gap = (_weights_after(lambda ps: adam_opt(ps, lr=1e-2, wd=0.1))
           - _weights_after(lambda ps: adamw_opt(ps, lr=1e-2, wd=0.1))).abs().max().item()
    assert gap > 1e-3, 'L2 in Adam and decoupled weight decay should train differently'


def test_lamb_moves_each_layer_by_lr_times_its_norm():
    model = _model()
    before = [p.detach().clone() for p in model.parameters()]
    opt = lamb_opt(model.parameters(), lr=0.05)
    F.cross_entropy(model(torch.randn(16, 6)), torch.randint(0, 3, (16,))).backward()
    opt.step()
    for p, p0 in zip(model.parameters(), before):
        assert abs(((p - p0).norm() / p0.norm()).item() - 0.05) < 1e-5


def test_state_dict_resumes_exactly_and_copies_keep_steppers():
    model = _model()
    opt = adam_opt(model.parameters(), lr=1e-2)
    data = [(torch.randn(8, 6), torch.randint(0, 3, (8,))) for _ in range(6)]
    def train(model, opt, batches):
        for xb, yb in batches:
            F.cross_entropy(model(xb), yb).backward()
            opt.step()
            opt.zero_grad()
    train(model, opt, data[:3])
    saved = copy.deepcopy((model.state_dict(), opt.state_dict()))
    copied_model, copied_opt = copy.deepcopy((model, opt))
    assert copied_opt.steppers == opt.steppers
    train(model, opt, data[3:])
    train(copied_model, copied_opt, data[3:])
    resumed = _model()
    resumed.load_state_dict(saved[0])
    resumed_opt = adam_opt(resumed.parameters())
    resumed_opt.load_state_dict(saved[1])
    train(resumed, resumed_opt, data[3:])
    for p, q, r in zip(model.parameters(), resumed.parameters(), copied_model.parameters()):
        assert torch.equal(p, q) and torch.equal(p, r)


def test_bad_hyperparameters_say_what_to_do():
    params = _model().parameters()
    with pytest.raises(TypeError, match=r"weight_decay is wd here"):
        Optimizer(params, [sgd_step], weight_decay=1e-4)
    with pytest.raises(ValueError, match='Invalid learning rate'):
        Optimizer(_model().parameters(), [sgd_step], lr=-1.)


def test_hyper_accessor_maps_momentum_to_betas():
    p = [nn.Parameter(torch.zeros(2))]
    adam = optim.Adam(p, betas=(0.9, 0.99)).param_groups[0]
    set_hyper(adam, 'momentum', 0.8)
    assert adam['betas'] == (0.8, 0.99) and get_hyper(adam, 'sqr_mom') == 0.99
    sgd = optim.SGD(p, lr=0.1, momentum=0.5).param_groups[0]
    assert get_hyper(sgd, 'momentum') == 0.5
    ours = adam_opt(p).param_groups[0]
    set_hyper(ours, 'momentum', 0.7)
    assert ours['momentum'] == 0.7 and 'betas' not in ours
    adagrad = optim.Adagrad(p).param_groups[0]
    assert not has_hyper(adagrad, 'momentum')
    with pytest.raises(KeyError, match="no hyperparameter 'momentum'"):
        get_hyper(adagrad, 'momentum')
