"""How much faster is a training step with mixed precision than in float32?

Times training steps (forward, loss, backward, optimizer step) of an XResNet on random images, in
float32 and with `torch.autocast` (plus `GradScaler` for float16, plus the channels-last layout
where asked), with the same model, batch and optimizer. The variants alternate, repeat after repeat,
and the median of the per-repeat ratios fp32 time / AMP time is printed: above 1x, AMP is faster.
This is what `course_lib.fp16.MixedPrecision` does inside a `Learner` fit, without the Learner.

On a CPU it measures a small XResNet at 64 px with bfloat16 (a CPU's "mixed precision"); on a CUDA
GPU, xresnet50 at 128 px with bfloat16 and xresnet18 at 128 px with bfloat16 + channels-last, the
figures issue 13 asks for (targets: >= 2x and >= 3x). Without CUDA the GPU lines say
`skipped (no CUDA)`. The models are notebook 11's (`course_lib.xresnet`).

    python benchmarks/mixed_precision.py [--quick] [--threads N]

Prints `name: value` lines, e.g. `amp_speedup_cpu_bf16_resnet10_64px: 1.10x`.
"""
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # run from a checkout

import torch
import torch.nn.functional as F

from course_lib.core import best_time, set_seed
from course_lib.fp16 import amp_dtype
from course_lib.xresnet import xresnet, xresnet18, xresnet50
from _cli import benchmark_parser


# ------------------------------------------------------------------------------------------ models
# notebook 11's XResNets (xresnet10: one block per stage)
ARCHS = {'xresnet10': lambda: xresnet([1, 1, 1, 1]), 'xresnet18': xresnet18, 'xresnet50': xresnet50}


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


def speedup(arch_name, device, size, bs, dtype, channels_last, repeats, n_steps):
    "Median over `repeats` of fp32 time / AMP time, the two interleaved."
    arch = ARCHS[arch_name]
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
        # the fastest of `n_steps` steps (the library's timer waits for the device's queue)
        times = {variant: best_time(step, repeats=n_steps, device=device, min_round=0)
                 for variant, step in steps.items()}
        ratios.append(times['fp32'] / times['amp'])
    return statistics.median(ratios)


def main(argv=None):
    parser = benchmark_parser(__doc__, 'fewer repeats: under a minute on 2 CPU cores', threads=None)
    args = parser.parse_args(argv)
    if args.threads: torch.set_num_threads(args.threads)
    repeats, n_steps = (3, 2) if args.quick else (7, 5)

    cpu = torch.device('cpu')
    ratio = speedup('xresnet10', cpu, size=64, bs=16, dtype=torch.bfloat16, channels_last=False,
                            repeats=repeats, n_steps=n_steps)
    print(f'amp_model_source: {xresnet.__module__}')   # the notebook's models, not a copy
    print(f'amp_cpu_threads: {torch.get_num_threads()}')
    print(f'amp_speedup_cpu_bf16_xresnet10_64px: {ratio:.2f}x')

    gpu_runs = [('amp_speedup_cuda_bf16_xresnet50_128px', 'xresnet50', False),
                ('amp_speedup_cuda_bf16_channels_last_xresnet18_128px', 'xresnet18', True)]
    if not torch.cuda.is_available():
        for name, *_ in gpu_runs: print(f'{name}: skipped (no CUDA)')
        return
    device = torch.device('cuda')
    print(f'amp_gpu: {torch.cuda.get_device_name(device)}')
    dtype = amp_dtype(device)
    for name, arch_name, channels_last in gpu_runs:
        if dtype != torch.bfloat16: name = name.replace('bf16', 'fp16')
        ratio = speedup(arch_name, device, size=128, bs=128, dtype=dtype, channels_last=channels_last,
                           repeats=repeats, n_steps=4 * n_steps)
        print(f'{name}: {ratio:.2f}x')


if __name__ == '__main__':
    main()
