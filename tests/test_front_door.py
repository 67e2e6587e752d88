"""The front door: a fresh script trains, validates, predicts, exports and reloads with `from course_lib.all import *` only."""
import os
import subprocess
import sys
import textwrap

TRAIN = '''
from course_lib.all import *

set_seed(0)
g = torch.Generator().manual_seed(0)
x = torch.randn(384, 2, generator=g)
y = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()          # three classes, split by lines
dls = DataBunch(*get_dls(ArrayDataset(x[:256], y[:256]), ArrayDataset(x[256:], y[256:]), 32), c=3)
model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
learn = Learner(model, dls, F.cross_entropy, lr=0.1, metrics=accuracy)
learn.fit_one_cycle(4, 0.3)
row = learn.validate()
assert row['valid_accuracy'] > 0.8, row
label, probs = learn.predict(x[300])
assert label in (0, 1, 2) and abs(float(probs.sum()) - 1) < 1e-5
learn.export('front_door')
preds, targets = learn.get_preds(learn.test_dl(x[256:]))
assert targets is None
torch.save(preds, 'preds.pt')
torch.save(x[256:], 'inputs.pt')
print('valid accuracy', row['valid_accuracy'])
'''

PREDICT = '''
from course_lib.all import *

learn = load_learner('front_door')
inputs, saved = torch.load('inputs.pt'), torch.load('preds.pt')
preds, _ = learn.get_preds(learn.test_dl(inputs))
assert torch.equal(preds, saved), (preds - saved).abs().max()
print('identical', len(preds))
'''


def run(script, cwd, env):
    result = subprocess.run([sys.executable, '-c', textwrap.dedent(script)], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_a_fresh_script_trains_predicts_exports_and_reloads(tmp_path):
    env = dict(os.environ, COURSE_LIB_HOME=str(tmp_path/'home'), COURSE_LIB_PROGRESS='lines',
               COURSE_LIB_DEVICE='cpu', OMP_NUM_THREADS='1')
    out = run(TRAIN, tmp_path, env)
    assert 'train_loss' in out and 'valid accuracy' in out, out   # progress lines, then the result
    assert (tmp_path/'home'/'models'/'front_door.pkl').exists()
    assert 'identical 128' in run(PREDICT, tmp_path, env)        # a second process, nothing shared


def test_the_front_door_has_the_learner_and_none_of_the_drafts():
    import course_lib.all as front
    import course_lib.learner
    assert front.Learner is course_lib.learner.Learner
    for name in ('Runner', 'CallbackRunner', 'TrainingBundle', 'fit', 'AvgStatsCallback', 'lr_find',
                 'create_learner'):
        assert name not in front.__all__, f'{name} is a draft the final Learner replaced'
