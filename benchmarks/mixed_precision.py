"""How much faster is a training step with mixed precision than in float32?

Times training steps (forward, loss, backward, optimizer step) of an XResNet on random images, in
float32 and with `torch.autocast` (plus `GradScaler` for float16, plus the channels-last layout
where asked), with the same model, batch and optimizer. The variants alternate, repeat after repeat,
and the median of the per-repeat ratios fp32 time / AMP time is printed: above 1x, AMP is faster.
This is what `course_lib.fp16.MixedPrecision` does inside a `Learner` fit, without the Learner.

On a CPU it measures a small XResNet at 64 px with bfloat16 (a CPU's "mixed precision"); on a CUDA
GPU, xresnet50 at 128 px with bfloat16 and xresnet18 at 128 px with bfloat16 + channels-last, the
figures issue 13 asks for (targets: >= 2x and >= 3x). Without CUDA the GPU lines say
`skipped (no CUDA)`. The models come from `course_lib.xresnet` (notebook 11) when it exists, else from
a compact local ResNet with the same design (XResNet stem, avg-pool shortcuts).

    python benchmarks/mixed_precision.py [--quick] [--threads N]

Prints `name: value` lines, e.g. `amp_speedup_cpu_bf16_resnet10_64px: 1.10x`.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # run from a checkout

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.core import set_seed


# ------------------------------------------------------------------------------------------ models
def _conv(ni, nf, ks=3, stride=1, act=True, zero_bn=False):
    "Conv (no bias) -> BatchNorm (weight 0 if `zero_bn`) -> ReLU if `act`."
    bn = nn.BatchNorm2d(nf)
    nn.init.constant_(bn.weight, 0. if zero_bn else 1.)
    layers = [nn.Conv2d(ni, nf, ks, stride=stride, padding=ks // 2, bias=False), bn]
    if act: layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class _ResBlock(nn.Module):
    "A basic (expansion 1) or bottleneck (expansion 4) block with an avg-pool shortcut."
    def __init__(self, expansion, ni, nh, stride=1):
        super().__init__()
        nf, ni = nh * expansion, ni * expansion
        if expansion == 1: layers = [_conv(ni, nh, 3, stride), _conv(nh, nf, 3, act=False, zero_bn=True)]
        else: layers = [_conv(ni, nh, 1), _conv(nh, nh, 3, stride),
                        _conv(nh, nf, 1, act=False, zero_bn=True)]
        self.convs = nn.Sequential(*layers)
        self.idconv = nn.Identity() if ni == nf else _conv(ni, nf, 1, act=False)
        self.pool = nn.Identity() if stride == 1 else nn.AvgPool2d(2, ceil_mode=True)

    def forward(self, x): return F.relu(self.convs(x) + self.idconv(self.pool(x)))


def local_xresnet(expansion, layers, c_in=3, n_out=1000):
    "An XResNet (Bag of Tricks: 3-conv stem, avg-pool shortcuts, zero-init last BN)."
    stem_sizes = [c_in, 32, 64, 64]
    stem = [_conv(stem_sizes[i], stem_sizes[i + 1], stride=2 if i == 0 else 1) for i in range(3)]
    sizes = [64 // expansion, 64, 128, 256, 512]
    blocks = [nn.Sequential(*[_ResBlock(expansion, sizes[i] if j == 0 else sizes[i + 1], sizes[i + 1],
                                        stride=1 if i == 0 or j > 0 else 2) for j in range(n)])
              for i, n in enumerate(layers)]
    return nn.Sequential(*stem, nn.MaxPool2d(3, stride=2, padding=1), *blocks,
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(sizes[-1] * expansion, n_out))


def get_arch(name):
    "`course_lib.xresnet.<name>` if notebook 11's module exists, else the local version."
    try:
        from course_lib import xresnet
        return getattr(xresnet, name), 'course_lib.xresnet'
    except (ImportError, AttributeError):
        layers = {'xresnet10': (1, [1, 1, 1, 1]), 'xresnet18': (1, [2, 2, 2, 2]),
                  'xresnet50': (4, [3, 4, 6, 3])}[name]
        return (lambda: local_xresnet(*layers)), 'local'


# ------------------------------------------------------------------------------------------ timing
def make_step(model, opt, xb, yb, dtype=None, channels_last=False):
    "A function that runs one training step; AMP with `dtype` if given."
    device_type = xb.device.type
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        xb = xb.contiguous(memory_format=torch.channels_last)
    scaler = torch.amp.GradScaler(device_type, enabled=dtype == torch.float16)
    def step():
        with torch.autocast(device_type, dtype=dtype or torch.float32, enabled=dtype is not None):
            loss = F.cross_entropy(model(xb).float(), yb)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        opt.zero_grad(set_to_none=True)
    return step


def time_steps(step, n, device):
    "Seconds per step, over `n` steps after the device has finished its queue."
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
    sync()
    start = time.perf_counter()
    for _ in range(n): step()
    sync()
    return (time.perf_counter() - start) / n


def speedup(arch_name, device, size, bs, dtype, channels_last, repeats, n_steps):
    "Median over `repeats` of fp32 time / AMP time, the two interleaved."
    arch, source = get_arch(arch_name)
    set_seed(0)
    xb = torch.randn(bs, 3, size, size, device=device)
    yb = torch.randint(0, 10, (bs,), device=device)
    steps = {}
    for variant in ('fp32', 'amp'):
        set_seed(0)
        model = arch().to(device)
        opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
        amp = variant == 'amp'
        steps[variant] = make_step(model, opt, xb, yb, dtype if amp else None, channels_last and amp)
        for _ in range(3): steps[variant]()           # warm up: kernels chosen, memory allocated
    ratios = []
    for _ in range(repeats):
        times = {variant: time_steps(step, n_steps, device) for variant, step in steps.items()}
        ratios.append(times['fp32'] / times['amp'])
    return statistics.median(ratios), source


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true', help='fewer repeats: under a minute on 2 CPU cores')
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads (default: torch\'s)')
    args = parser.parse_args(argv)
    if args.threads: torch.set_num_threads(args.threads)
    repeats, n_steps = (3, 2) if args.quick else (7, 5)

    cpu = torch.device('cpu')
    ratio, source = speedup('xresnet10', cpu, size=64, bs=16, dtype=torch.bfloat16, channels_last=False,
                            repeats=repeats, n_steps=n_steps)
    print(f'amp_model_source: {source}')
    print(f'amp_cpu_threads: {torch.get_num_threads()}')
    print(f'amp_speedup_cpu_bf16_xresnet10_64px: {ratio:.2f}x')

    gpu_runs = [('amp_speedup_cuda_bf16_xresnet50_128px', 'xresnet50', False),
                ('amp_speedup_cuda_bf16_channels_last_xresnet18_128px', 'xresnet18', True)]
    if not torch.cuda.is_available():
        for name, *_ in gpu_runs: print(f'{name}: skipped (no CUDA)')
        return
    device = torch.device('cuda')
    print(f'amp_gpu: {torch.cuda.get_device_name(device)}')
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    for name, arch_name, channels_last in gpu_runs:
        if dtype != torch.bfloat16: name = name.replace('bf16', 'fp16')
        ratio, _ = speedup(arch_name, device, size=128, bs=128, dtype=dtype, channels_last=channels_last,
                           repeats=repeats, n_steps=4 * n_steps)
        print(f'{name}: {ratio:.2f}x')


if __name__ == '__main__':
    main()
