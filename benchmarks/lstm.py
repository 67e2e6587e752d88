"""Lesson 12's LSTMs timed side by side: what weight dropout costs, and how close a Python loop gets to nn.LSTM.

One training step (forward and backward) of a language model's batch, `(bs, sl)` tokens through an embedding
and two LSTM layers (12b/12c's sizes: 300 units):

- `awd_lstm_vs_nn_lstm_*`: course_lib's `AWDLSTM` encoder in training mode (embedding, input, weight and hidden
  dropout) against a bare stack of `nn.LSTM`s of the same sizes under the same embedding (target <= 1.15x);
- `lstm_scratch_vs_nn_lstm_*`: one from-scratch layer (12a's `LSTMLayer`, its `FastLSTMLayer`, and on CUDA
  `FastLSTMLayer` under `torch.compile`) against one `nn.LSTM` layer (cuDNN on a GPU; GPU target <= 2x).

Every ratio compares two models timed in alternating rounds of the same run (best round of each).

    python benchmarks/lstm.py [--quick]
"""

import torch
from torch import nn

from course_lib.awd_lstm import AWDLSTM, FastLSTMLayer, LSTMLayer, copy_lstm_weights
from course_lib.core import best_time
from _cli import benchmark_parser


class BareLSTMStack(nn.Module):
    "The baseline: `AWDLSTM`'s embedding and layer sizes with no dropout at all."
    def __init__(self, vocab_sz, emb_sz, n_hid, n_layers):
        super().__init__()
        self.emb = nn.Embedding(vocab_sz, emb_sz)
        sizes = [emb_sz] + [n_hid] * (n_layers - 1) + [emb_sz]
        self.rnns = nn.ModuleList(nn.LSTM(ni, nh, batch_first=True) for ni, nh in zip(sizes[:-1], sizes[1:]))

    def forward(self, x):
        out = self.emb(x)
        for rnn in self.rnns: out, _ = rnn(out)
        return out, out


def train_step(model, x, device):
    "One forward and backward pass, as a function of nothing, for `best_time`."
    model.to(device).train()
    def step():
        if hasattr(model, 'reset'): model.reset()
        out = model(x)[0]
        out.float().sum().backward()
        for p in model.parameters(): p.grad = None
    return step


def side_by_side(steps, device, rounds):
    "Seconds per call of each step function: best of `rounds` rounds, the functions alternating."
    best = {name: float('inf') for name in steps}
    for step in steps.values(): step()                    # warm-up (and compilation) outside the timing
    for _ in range(rounds):
        for name, step in steps.items():
            best[name] = min(best[name], best_time(step, repeats=1, device=device, min_round=0.05))
    return best


def awd_vs_bare(device, quick):
    bs, sl, vocab, emb_sz, n_hid = (16, 35, 2000, 128, 128) if quick else (64, 70, 10_000, 300, 300)
    torch.manual_seed(0)
    x = torch.randint(0, vocab, (bs, sl), device=device)
    awd = AWDLSTM(vocab, emb_sz, n_hid, n_layers=2, hidden_p=0.15, input_p=0.25, embed_p=0.02, weight_p=0.2)
    bare = BareLSTMStack(vocab, emb_sz, n_hid, n_layers=2)
    times = side_by_side({'awd': train_step(awd, x, device), 'bare': train_step(bare, x, device)},
                         device, rounds=3 if quick else 5)
    return times['awd'] / times['bare']


def scratch_vs_nn(device, quick, compiled=False):
    bs, sl, nh = (16, 35, 128) if quick else (64, 70, 300)
    torch.manual_seed(0)
    x = torch.randn(bs, sl, nh, device=device)
    lstm = nn.LSTM(nh, nh, batch_first=True)
    loop, fast = copy_lstm_weights(LSTMLayer(nh, nh), lstm), copy_lstm_weights(FastLSTMLayer(nh, nh), lstm)
    steps = {'nn': train_step(lstm, x, device), 'loop': train_step(loop, x, device),
             'fast': train_step(fast, x, device)}
    if compiled: steps['compiled'] = train_step(torch.compile(fast), x, device)
    times = side_by_side(steps, device, rounds=2 if quick else 3)
    return {name: seconds / times['nn'] for name, seconds in times.items() if name != 'nn'}


def main(quick):
    cpu = torch.device('cpu')
    print(f'awd_lstm_vs_nn_lstm_cpu: {awd_vs_bare(cpu, quick):.2f}x', flush=True)
    ratios = scratch_vs_nn(cpu, quick)
    print(f"lstm_scratch_vs_nn_lstm_cpu: {ratios['loop']:.2f}x", flush=True)
    print(f"lstm_fast_vs_nn_lstm_cpu: {ratios['fast']:.2f}x", flush=True)
    names = ['awd_lstm_vs_nn_lstm_cuda', 'lstm_scratch_vs_cudnn', 'lstm_fast_vs_cudnn', 'lstm_compiled_vs_cudnn']
    if not torch.cuda.is_available():
        for name in names: print(f'{name}: skipped (no CUDA)')
        return
    cuda = torch.device('cuda')
    print(f'awd_lstm_vs_nn_lstm_cuda: {awd_vs_bare(cuda, quick):.2f}x', flush=True)
    ratios = scratch_vs_nn(cuda, quick, compiled=True)
    for name, key in zip(names[1:], ['loop', 'fast', 'compiled']): print(f'{name}: {ratios[key]:.2f}x')


if __name__ == '__main__':
    main(benchmark_parser(__doc__, 'small sizes (under a minute on a 2-core CPU)').parse_args().quick)
