"""xresnet's opt-in stem for small images: 32 px keeps enough resolution for four stages; the default is unchanged."""
import torch
from torch import nn

from course_lib.xresnet import xresnet18


def stage_sizes(model, size):
    "Height of the activations after the stem and after each stage, for a batch of `size` px."
    x, sizes = torch.zeros(2, 3, size, size), {}
    model.eval()
    with torch.no_grad():
        for name, part in model.named_children():
            if name == 'head': break
            x = part(x)
            sizes[name] = x.shape[-1]
    return sizes


def test_small_input_keeps_32_px_images_large_enough_for_every_stage():
    default = stage_sizes(xresnet18(n_out=10, width=0.25), 32)
    small = stage_sizes(xresnet18(n_out=10, width=0.25, small_input=True), 32)
    assert default == {'stem': 8, 'stage1': 8, 'stage2': 4, 'stage3': 2, 'stage4': 1}
    assert small == {'stem': 32, 'stage1': 32, 'stage2': 16, 'stage3': 8, 'stage4': 4}


def test_the_default_stem_is_unchanged():
    torch.manual_seed(0)
    default = xresnet18(n_out=10)
    torch.manual_seed(0)
    small = xresnet18(n_out=10, small_input=True)
    assert isinstance(default.stem[-1], nn.MaxPool2d) and default.stem[0][0].stride == (2, 2)
    assert not any(isinstance(m, nn.MaxPool2d) for m in small.stem) and small.stem[0][0].stride == (1, 1)
    # the same layers and the same initial weights: only strides and the pool differ
    for (name, a), (_, b) in zip(default.state_dict().items(), small.state_dict().items()):
        assert torch.equal(a, b), name
