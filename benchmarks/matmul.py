"""Lesson 8's matrix multiplications timed side by side: each version's speed-up over three Python loops.

The problem is 01_matmul's: 5 MNIST-sized rows (784 pixels) times a 784x10 weight matrix, on one CPU thread.
On a CUDA machine it also times a large square product in fp32, tf32 and bf16 against fp32 on the CPU.

    python benchmarks/matmul.py [--quick]
"""

import torch

from course_lib.core import best_time
from _cli import benchmark_parser


def matmul_loops(a, b):
    c = torch.zeros(a.shape[0], b.shape[1])
    for i in range(a.shape[0]):
        for j in range(b.shape[1]):
            for k in range(a.shape[1]): c[i, j] += a[i, k] * b[k, j]
    return c

def matmul_elementwise(a, b):
    c = torch.zeros(a.shape[0], b.shape[1])
    for i in range(a.shape[0]):
        for j in range(b.shape[1]): c[i, j] = (a[i] * b[:, j]).sum()
    return c

def matmul_broadcast(a, b):
    c = torch.zeros(a.shape[0], b.shape[1])
    for i in range(a.shape[0]): c[i] = (a[i, :, None] * b).sum(dim=0)
    return c

VARIANTS = {'elementwise': matmul_elementwise, 'broadcast': matmul_broadcast,
            'einsum': lambda a, b: torch.einsum('ik,kj->ij', a, b), 'at': lambda a, b: a @ b}


def cpu_variants(quick):
    torch.set_num_threads(1)   # as in 01: a 5x784 product gains nothing from more threads
    a, b = torch.randn(5, 784), torch.randn(784, 10)
    expected = a @ b
    for f in (matmul_loops, *VARIANTS.values()):
        torch.testing.assert_close(f(a, b), expected, rtol=1e-4, atol=1e-4)
    loops = best_time(lambda: matmul_loops(a, b), repeats=1 if quick else 3, min_round=0)
    for name, f in VARIANTS.items():
        seconds = best_time(lambda: f(a, b), repeats=3 if quick else 7)
        print(f'matmul_{name}_vs_loops: {loops / seconds:,.0f}x', flush=True)


def gpu_products(quick):
    if not torch.cuda.is_available():
        print('matmul_gpu_fp32_vs_cpu: skipped (no CUDA)')
        print('matmul_gpu_bf16_vs_fp32: skipped (no CUDA)')
        print('matmul_gpu_bf16_tflops: skipped (no CUDA)')
        return
    n, cuda = (2048 if quick else 8192), torch.device('cuda')
    a, b = torch.randn(n, n), torch.randn(n, n)
    cpu = best_time(lambda: a @ b, repeats=2)
    ag, bg = a.to(cuda), b.to(cuda)
    fp32 = best_time(lambda: ag @ bg, repeats=5, device=cuda)
    ah, bh = ag.bfloat16(), bg.bfloat16()
    bf16 = best_time(lambda: ah @ bh, repeats=5, device=cuda)
    print(f'matmul_gpu_fp32_vs_cpu: {cpu / fp32:,.0f}x')
    print(f'matmul_gpu_bf16_vs_fp32: {fp32 / bf16:.2f}x')
    print(f'matmul_gpu_bf16_tflops: {2 * n**3 / bf16 / 1e12:.0f} (n={n})')


if __name__ == '__main__':
    args = benchmark_parser(__doc__, 'fewer rounds (well under a minute on a CPU)').parse_args()
    threads = torch.get_num_threads()
    cpu_variants(args.quick)
    torch.set_num_threads(threads)
    gpu_products(args.quick)
