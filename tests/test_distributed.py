"""DistributedDataParallel with the Learner (course_lib.distributed): two gloo processes on the CPU, started by
torchrun, against one process with the same seed and global batch."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from course_lib.distributed import DistributedTrainer, setup_distributed, world_size

ROOT = Path(__file__).resolve().parent.parent

# One fit of a small MLP on fixed random data; every rank writes its final weights and metrics history,
# and the checkpoint saved by `learn.save` (rank 0 only).
SCRIPT = textwrap.dedent('''
    import json, sys
    from pathlib import Path
    import torch, torch.nn.functional as F
    from torch import nn
    from torch.utils.data import DataLoader
    from course_lib.core import set_seed
    from course_lib.distributed import DistributedTrainer, cleanup_distributed, rank, setup_distributed
    from course_lib.learner import Learner
    from course_lib.training import ArrayDataset, DataBunch

    out = Path(sys.argv[1])
    device = setup_distributed()
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(256, 20, generator=g), torch.randint(0, 4, (256,), generator=g)
    dls = DataBunch(DataLoader(ArrayDataset(x, y), batch_size=32, shuffle=True),
                    DataLoader(ArrayDataset(x[:64], y[:64]), batch_size=64), c=4)
    set_seed(1)
    model = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 4))
    opt = lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9)
    learn = Learner(model, dls, F.cross_entropy, lr=0.1, opt_func=opt, cbs=DistributedTrainer(seed=5),
                    device=device)
    learn.fit(2)                                    # 2 epochs x 8 steps of 32 (16 per rank with 2 ranks)
    assert learn.model is model, type(learn.model)  # unwrapped after the fit
    learn.save(out/'checkpoint.pth')
    torch.save(model.state_dict(), out/f'weights_{rank()}.pt')
    (out/f'history_{rank()}.json').write_text(json.dumps(learn.avg_stats.history))
    cleanup_distributed()
''')


def _run(cmd, tmp_path, **env):
    script = tmp_path/'ddp_fit.py'
    script.write_text(SCRIPT)
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'COURSE_LIB_DEVICE': 'cpu', 'COURSE_LIB_PROGRESS': 'quiet', **env}
    result = subprocess.run([*cmd, str(script), str(tmp_path)], capture_output=True, text=True, env=env,
                            cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    return result


TORCHRUN = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2']


def test_two_processes_match_one(tmp_path):
    one, two = tmp_path/'one', tmp_path/'two'
    one.mkdir(), two.mkdir()
    _run([sys.executable], one)
    _run(TORCHRUN, two)
    w0, w1 = (torch.load(two/f'weights_{r}.pt', weights_only=True) for r in (0, 1))
    single = torch.load(one/'weights_0.pt', weights_only=True)
    for key in single:
        assert torch.equal(w0[key], w1[key]), f'{key} differs between the ranks'
        torch.testing.assert_close(w0[key], single[key], rtol=0, atol=1e-5,
                                   msg=lambda m: f'{key}: 2 processes vs 1: {m}')
    torch.manual_seed(1)                            # the initial weights, as the script made them
    start = torch.nn.Sequential(torch.nn.Linear(20, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4)).state_dict()
    assert (single['0.weight'] - start['0.weight']).abs().max() > 1e-2, 'the fit did not move the weights'
    # the epoch's training loss is over all the data, not one rank's half; validation is the same everywhere
    h_one, h0, h1 = (json.loads(p.read_text()) for p in (one/'history_0.json', two/'history_0.json',
                                                          two/'history_1.json'))
    for a, b, c in zip(h_one, h0, h1):
        assert a['train_loss'] == pytest.approx(b['train_loss'], abs=1e-5) == c['train_loss']
        assert a['valid_loss'] == pytest.approx(b['valid_loss'], abs=1e-5)
    # rank 0 saved the checkpoint; it holds the plain model's keys and loads in this one process
    state = torch.load(two/'checkpoint.pth', weights_only=True)
    assert sorted(state['model']) == sorted(single) and state['epochs_done'] == 2
    model = torch.nn.Sequential(torch.nn.Linear(20, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4))
    model.load_state_dict(state['model'])


def test_world_size_without_torchrun_is_one_clear_error(monkeypatch):
    monkeypatch.setenv('WORLD_SIZE', '2')
    for name in ('RANK', 'MASTER_ADDR', 'MASTER_PORT'): monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match='start the script with torchrun --nproc_per_node N'):
        setup_distributed()
    assert world_size() == 2


def test_fit_without_a_process_group_says_so(monkeypatch):
    from course_lib.distributed import DistributedTrainer
    monkeypatch.setenv('WORLD_SIZE', '2')

    class Learn:
        device, model, dls = torch.device('cpu'), None, type('Data', (), {'train_dl': None})
    with pytest.raises(RuntimeError, match=r'call setup_distributed\(\) before fitting'):
        DistributedTrainer().begin_fit(Learn())


def test_train_script_under_torchrun_quick(tmp_path):
    "`torchrun --nproc_per_node 2 -m course_lib.train --quick` on the CPU: rank 0 alone prints the results line."
    env = {**os.environ, 'COURSE_LIB_DEVICE': 'cpu', 'COURSE_LIB_HOME': str(tmp_path/'home')}
    result = subprocess.run([*TORCHRUN, '-m', 'course_lib.train', '--quick', '--save', 'ddp_quick'],
                            capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    lines = [l for l in result.stdout.splitlines() if 'process(es)' in l]
    assert len(lines) == 1 and lines[0].startswith('2 process(es) on cpu: 1 epoch(s)'), result.stdout
    assert 'saved $COURSE_LIB_HOME/models/ddp_quick.pth' in result.stdout
    assert (tmp_path/'home'/'models'/'ddp_quick.pth').exists()
