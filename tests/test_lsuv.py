"""LSUV (07a): the shifted conv layer trains (2019's in-place shift did not), and LSUV reaches mean 0 / std 1."""
import pytest
import torch
from torch import nn

from course_lib.cnn import Hooks, cnn_model, init_cnn
from course_lib.lsuv import ConvLayer, layer_stats, lsuv_init, lsuv_layer


def small_model(seed=0):
    torch.manual_seed(seed)
    return init_cnn(cnn_model([4, 8, 16], layer=ConvLayer))


def batch(seed=1, n=64):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 28, 28, generator=g) * 2 - 0.5   # not centred: LSUV has work to do


def test_conv_layer_backward_works_and_gradients_are_right():
    layer = ConvLayer(2, 3, stride=1).double()
    with torch.no_grad(): layer.bias.fill_(-0.4)
    x = torch.randn(2, 2, 6, 6, dtype=torch.float64, requires_grad=True)
    layer(x).sum().backward()                  # 2019's ReLU + in-place sub_ raised here
    assert layer.conv.weight.grad is not None and x.grad is not None
    assert torch.autograd.gradcheck(lambda x, *ps: layer(x), (x, *layer.parameters()))
    assert 'bias' in layer.state_dict() and layer.bias.dtype == torch.float64   # a buffer: saved, moved
    assert all(p is not layer.bias for p in layer.parameters())                 # ... and not trained


def test_an_inplace_shift_after_relu_is_what_breaks():
    "The failure the layer avoids, so this file notices if PyTorch ever changes it."
    conv = nn.Conv2d(1, 2, 3)
    out = torch.relu(conv(torch.randn(1, 1, 5, 5))).sub_(0.4)
    with pytest.raises(RuntimeError, match='inplace'): out.sum().backward()


def all_stats(model, xb):
    stats = []
    def record(hook, module, inputs, output): stats.append((output.mean().item(), output.std().item()))
    with torch.no_grad(), Hooks([m for m in model if isinstance(m, ConvLayer)], record): model(xb)
    return stats


def test_lsuv_reaches_mean_0_and_std_1_in_every_layer():
    model, xb = small_model(), batch()
    before = all_stats(model, xb)
    assert max(abs(m) for m, s in before) > 0.1          # a ReLU's outputs start with a positive mean
    lsuv_init(model, xb)
    for mean, std in all_stats(model, xb):              # all layers, measured after the whole run
        assert abs(mean) < 1e-3 and abs(std - 1) < 1e-3, (mean, std)


def test_lsuv_works_from_a_bad_scale_and_a_leaky_capped_activation():
    from functools import partial
    from course_lib.cnn import GeneralRelu
    torch.manual_seed(0)
    model = cnn_model([4, 8, 16], layer=partial(ConvLayer, act=partial(GeneralRelu, leak=0.1, maxv=6.)))
    with torch.no_grad():
        for p in model.parameters(): p.mul_(7.)     # far too large, and non-zero conv biases
    xb = batch()
    lsuv_init(model, xb, tol=1e-4)
    for mean, std in all_stats(model, xb): assert abs(mean) < 1e-4 and abs(std - 1) < 1e-4


def test_scaling_first_keeps_the_means_closer_to_zero():
    xb = batch()
    worst = {}
    for weight_first in (False, True):
        model = lsuv_init(small_model(), xb, weight_first=weight_first)
        worst[weight_first] = max(abs(m) for m, s in all_stats(model, xb))
    assert worst[True] < 1e-3 and worst[False] > 0.02, worst


def test_layer_stats_stops_after_the_layer_and_leaves_no_hook():
    model, xb = small_model(), batch()
    ran = []
    model[-1].register_forward_hook(lambda *args: ran.append(True))   # the head
    mean, std = layer_stats(model, model[0], xb)
    assert not ran, 'layers after the measured one should not run'
    assert not model[0]._forward_hooks
    with torch.no_grad(): out = model[0](xb)
    assert (mean, std) == pytest.approx((out.mean().item(), out.std().item()))


def test_mode_restored_and_clear_errors():
    model, xb = small_model(), batch()
    model.train()
    lsuv_init(model, xb)
    assert model.training
    with pytest.raises(ValueError, match='never ran'): layer_stats(model, nn.Conv2d(1, 4, 3), xb)
    with pytest.raises(ValueError, match='no ConvLayer'): lsuv_init(nn.Sequential(nn.Linear(3, 2)), torch.randn(4, 3))
    dead = ConvLayer(1, 4)
    nn.init.zeros_(dead.conv.weight)
    nn.init.zeros_(dead.conv.bias)
    with pytest.raises(ValueError, match='all equal'): lsuv_layer(nn.Sequential(dead), dead, xb)
