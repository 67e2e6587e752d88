"""Transfer learning (11a): each transferred model owns its body, so one arm's fine-tuning cannot leak into
another arm or into the pretrained network."""
import torch
import torch.nn.functional as F

from course_lib.transfer import freeze, transfer_model, unfreeze
from course_lib.xresnet import xresnet


def tiny_pretrained(seed=0):
    torch.manual_seed(seed)
    return xresnet([1, 1], n_out=10, stem=(4, 4, 8), widths=(8, 16))


def tensors(module): return [*module.parameters(), *module.buffers()]


def test_arms_share_no_modules_or_parameters():
    pretrained = tiny_pretrained()
    a, b = transfer_model(pretrained, 5), transfer_model(pretrained, 5)
    ids = lambda m: {id(t) for t in tensors(m)}
    assert not ids(a) & ids(b)
    assert not ids(a) & ids(pretrained)
    assert a.body.stem is not b.body.stem and a.body.stem is not pretrained.stem
    for ta, tp in zip(tensors(a.body), tensors(pretrained[:-1])):   # same starting values
        assert torch.equal(ta, tp)


def test_fine_tuning_one_arm_leaves_the_pretrained_model_and_other_arms_alone():
    pretrained = tiny_pretrained()
    before = {k: v.clone() for k, v in pretrained.state_dict().items()}
    a, b = transfer_model(pretrained, 5), transfer_model(pretrained, 5)
    b_before = {k: v.clone() for k, v in b.state_dict().items()}
    unfreeze(freeze(a))
    opt = torch.optim.SGD(a.parameters(), lr=0.5)
    x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 5, (8,))
    for _ in range(3):
        F.cross_entropy(a(x), y).backward()
        opt.step(); opt.zero_grad()
    moved = [k for k, v in a.body.state_dict().items() if not torch.equal(v, before[k])]
    assert moved, "the arm's body should have trained"
    for k, v in pretrained.state_dict().items(): assert torch.equal(v, before[k]), k
    for k, v in b.state_dict().items(): assert torch.equal(v, b_before[k]), k
