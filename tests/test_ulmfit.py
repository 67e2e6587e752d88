"""ULMFiT's classifier: packed sequences with CPU lengths from any device, padded mode with the same scores,
padding-free pooling, groups, freezing,
the same scores in eval mode as in training mode, and the bag-of-words baseline."""
import random

import pytest
import torch
import torch.nn.functional as F

import course_lib.ulmfit as ulmfit
from course_lib.awd_lstm import get_language_model
from course_lib.core import default_device
from course_lib.text import pad_texts
from course_lib.ulmfit import (BagOfWords, classifier_splitter, fit_gradually, freeze_to, get_text_classifier,
                               lm_splitter, masked_concat_pool)


def _padded(lengths, vocab_sz=50, pad=1):
    texts = [torch.randint(2, vocab_sz, (n,)) for n in lengths]
    tokens = torch.full((len(texts), max(lengths)), pad)
    for row, text in enumerate(texts): tokens[row, :len(text)] = text
    return texts, tokens, torch.tensor(lengths)


def _with_statistics(clf, tokens, lengths):
    "`clf` in eval mode after one training-mode batch: RunningBatchNorm has no statistics before one."
    with torch.no_grad(): clf.train()(tokens, lengths)
    return clf.eval()


def _check_on(device, monkeypatch):
    "Padded batch == each text alone, with the lengths on `device`; pack_padded_sequence sees CPU lengths."
    seen = []
    real_pack = ulmfit.pack_padded_sequence
    def watching(input, lengths, *args, **kwargs):
        seen.append(lengths.device.type)
        return real_pack(input, lengths, *args, **kwargs)
    monkeypatch.setattr(ulmfit, 'pack_padded_sequence', watching)
    torch.manual_seed(0)
    clf = get_text_classifier(50, 3, emb_sz=8, n_hid=16, n_layers=2).to(device)
    texts, tokens, lengths = _padded([9, 2, 5, 7])
    _with_statistics(clf, tokens.to(device), lengths.to(device))
    with torch.no_grad():
        batch = clf(tokens.to(device), lengths.to(device))
        alone = torch.cat([clf(t[None].to(device), torch.tensor([len(t)], device=device)) for t in texts])
    torch.testing.assert_close(batch, alone, atol=1e-5, rtol=1e-5)
    assert batch.device.type == torch.device(device).type
    assert seen and set(seen) == {'cpu'}, seen


def test_classifier_runs_with_lengths_on_the_models_device(monkeypatch):
    _check_on(default_device(), monkeypatch)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA: 2019 failed with CUDA lengths')
def test_classifier_runs_with_lengths_on_cuda(monkeypatch):
    _check_on(torch.device('cuda'), monkeypatch)


def test_padding_would_change_the_result_without_packing():
    "The check above can fail: reading the padding gives other scores."
    torch.manual_seed(0)
    clf = get_text_classifier(50, 3, emb_sz=8, n_hid=16)
    texts, tokens, lengths = _padded([9, 2])
    _with_statistics(clf, tokens, lengths)
    with torch.no_grad():
        honest = clf(tokens, lengths)
        fooled = clf(tokens, torch.tensor([9, 9]))          # pretend the padding is text
    assert (honest[1] - fooled[1]).abs().max() > 1e-4
    torch.testing.assert_close(honest[0], fooled[0])


def test_padded_mode_gives_the_packed_scores():
    "packed=False runs the LSTMs over the padding too: outputs up to each text's end, so the scores, are the same."
    torch.manual_seed(0)
    packed = get_text_classifier(50, 3, emb_sz=8, n_hid=16, n_layers=3, drop_mult=0.)
    padded = get_text_classifier(50, 3, emb_sz=8, n_hid=16, n_layers=3, drop_mult=0., packed=False)
    padded.load_state_dict(packed.state_dict())
    packed, padded = packed.double(), padded.double()     # float64: rounding far below the tolerance
    assert packed.encoder.packed and not padded.encoder.packed
    texts, tokens, lengths = _padded([9, 2, 5, 7])
    for clf in (packed, padded): _with_statistics(clf, tokens, lengths)
    with torch.no_grad():
        expected = packed(tokens, lengths)
        torch.testing.assert_close(padded(tokens, lengths), expected, atol=1e-9, rtol=1e-9)
        alone = torch.cat([padded(t[None], torch.tensor([len(t)])) for t in texts])
    torch.testing.assert_close(alone, expected, atol=1e-9, rtol=1e-9)


def test_all_layers_pools_every_layer_and_ignores_padding():
    "all_layers=True: the head reads each layer's output side by side, and padding still changes nothing."
    torch.manual_seed(0)
    kw = dict(emb_sz=8, n_hid=16, n_layers=3, drop_mult=0.)
    last = get_text_classifier(50, 3, packed=False, **kw)
    every = get_text_classifier(50, 3, all_layers=True, packed=False, **kw)
    assert last.head.layers[0].sums.shape[0] == 3 * 8            # the last layer, 8 wide
    assert every.head.layers[0].sums.shape[0] == 3 * (16 + 16 + 8)
    every.encoder.load_state_dict(last.encoder.state_dict())
    every = every.double()
    texts, tokens, lengths = _padded([9, 2, 5])
    with torch.no_grad():
        out, raw = every.encoder(tokens, lengths)
        # the last block of features is the last layer's output, as the default encoder gives it
        torch.testing.assert_close(out[..., -8:], raw)
        torch.testing.assert_close(raw, last.double().encoder(tokens, lengths)[0])
    _with_statistics(every, tokens, lengths)
    with torch.no_grad():
        batch = every(tokens, lengths)
        alone = torch.cat([every(t[None], torch.tensor([len(t)])) for t in texts])
    torch.testing.assert_close(alone, batch, atol=1e-9, rtol=1e-9)


def test_masked_concat_pool_ignores_padding():
    torch.manual_seed(0)
    out = torch.randn(2, 6, 3)
    lengths = torch.tensor([6, 2])
    pooled = masked_concat_pool(out, lengths)
    assert pooled.shape == (2, 9)
    real = out[1, :2]
    torch.testing.assert_close(pooled[1], torch.cat([real[-1], real.max(0).values, real.mean(0)]))
    out[1, 2:] = 1e6                                        # huge padding values change nothing
    torch.testing.assert_close(masked_concat_pool(out, lengths)[1], pooled[1])


def test_splitters_cover_each_parameter_once_and_freeze_to():
    lm = get_language_model(40, 8, 16, n_layers=3)
    groups = lm_splitter(lm)
    assert len(groups) == 4                                  # 3 LSTM layers, embedding + decoder
    ids = [id(p) for g in groups for p in g]
    assert len(ids) == len(set(ids)) == len(list(lm.parameters()))
    assert lm.decoder.decoder.weight in groups[-1]
    clf = get_text_classifier(40, 2, 8, 16, n_layers=3)
    cgroups = classifier_splitter(clf)
    assert len(cgroups) == 5 and sum(map(len, cgroups)) == len(list(clf.parameters()))
    n = freeze_to(clf, classifier_splitter, -2)
    assert n == sum(p.numel() for g in cgroups[-2:] for p in g)
    assert [all(p.requires_grad for p in g) for g in cgroups] == [False, False, False, True, True]
    freeze_to(clf, classifier_splitter, 0)
    assert all(p.requires_grad for p in clf.parameters())


def test_frozen_groups_do_not_move_under_adam():
    torch.manual_seed(0)
    clf = get_text_classifier(40, 2, 8, 16)
    groups = classifier_splitter(clf)
    opt = torch.optim.Adam([{'params': g} for g in groups], lr=1e-2)
    freeze_to(clf, classifier_splitter, -1)
    before = [p.detach().clone() for p in groups[0]]
    _, tokens, lengths = _padded([5, 3, 4, 2], vocab_sz=40)
    torch.nn.functional.cross_entropy(clf(tokens, lengths), torch.tensor([0, 1, 0, 1])).backward()
    opt.step()
    assert all(torch.equal(a, b) for a, b in zip(before, groups[0]))
    assert any(p.grad is not None for p in groups[-1])


def test_classifier_learns_a_task_marked_by_one_token(monkeypatch):
    "End to end through text loaders, Learner and one-cycle: one marker token decides the class."
    from functools import partial

    from course_lib.learner import Learner
    from course_lib.text import TextDataset, clas_databunch
    from course_lib.training import accuracy
    monkeypatch.setenv('COURSE_LIB_PROGRESS', 'quiet')
    rng = random.Random(0)
    def texts(n, vocab_sz=200):
        docs, labels = [], []
        for _ in range(n):
            label, length = rng.randint(0, 1), rng.randint(10, 60)
            ids = [rng.randint(10, vocab_sz - 1) for _ in range(length)]
            ids[rng.randrange(length)] = 7 + label       # the marker, anywhere in the text
            docs.append(torch.tensor(ids))
            labels.append(label)
        return TextDataset(docs, labels)
    torch.manual_seed(0)
    dls = clas_databunch(texts(1000), texts(300), bs=32, c=2)
    model = get_text_classifier(200, 2, emb_sz=64, n_hid=64, n_layers=2, drop_mult=0.3)
    learn = Learner(model, dls, F.cross_entropy, metrics=accuracy, device='cpu',
                    opt_func=partial(torch.optim.Adam))
    learn.fit_one_cycle(3, 1e-2)
    assert learn.avg_stats.history[-1]['valid_accuracy'] > 0.95, learn.avg_stats.history


def _marked(n, rng, vocab_sz=100):
    "`n` texts of random words with one marker word, 7 or 8, that gives the class."
    texts, labels = [], []
    for _ in range(n):
        label, length = rng.randint(0, 1), rng.randint(5, 30)
        ids = [rng.randint(10, vocab_sz - 1) for _ in range(length)]
        ids[rng.randrange(length)] = 7 + label
        texts.append(torch.tensor(ids))
        labels.append(label)
    return texts, torch.tensor(labels)


def _accuracy(clf, texts, labels, train, bs=8):
    clf.train(train)
    correct = 0
    with torch.no_grad():
        for i in range(0, len(texts), bs):
            tokens, lengths = pad_texts(texts[i:i + bs])
            correct += (clf(tokens, lengths).argmax(dim=1) == labels[i:i + bs]).sum().item()
    return correct / len(texts)


@pytest.mark.parametrize('seed', range(8))
def test_eval_mode_scores_what_training_mode_fitted(seed):
    """A classifier that gets its training texts right in training mode gets them right in eval mode.

    No dropout, so that the head's norm layer is the only difference between the modes. A random encoder
    gives pooled features that vary little from text to text (variance far below 1): with nn.BatchNorm1d,
    whose running variance starts at 1, five of these eight scored 50-94% in eval mode."""
    rng = random.Random(seed)
    torch.manual_seed(seed)
    texts, labels = _marked(32, rng)
    clf = get_text_classifier(100, 2, emb_sz=16, n_hid=32, n_layers=2, drop_mult=0.)
    opt = torch.optim.Adam(clf.parameters(), lr=1e-2)
    for epoch in range(100):
        clf.train()
        for batch in torch.randperm(len(texts)).split(8):
            tokens, lengths = pad_texts([texts[i] for i in batch])
            loss = F.cross_entropy(clf(tokens, lengths), labels[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
        fitted = _accuracy(clf, texts, labels, train=True)
        if fitted == 1: break
    assert fitted == 1, f'training-mode accuracy {fitted} after {epoch + 1} epochs'
    assert _accuracy(clf, texts, labels, train=False) >= 0.95


def test_no_dropout_after_the_last_lstm_layer():
    "The head pools the last layer's output as it is; hidden dropout acts between layers only."
    torch.manual_seed(0)
    _, tokens, lengths = _padded([6, 4, 5])
    no_other_dropout = dict(input_p=0., embed_p=0., weight_p=0., hidden_p=0.5)
    for n_layers, dropped in [(1, False), (2, True)]:
        encoder = get_text_classifier(50, 2, 8, 16, n_layers=n_layers, **no_other_dropout).encoder
        with torch.no_grad():
            train_out, _ = encoder.train()(tokens, lengths)
            eval_out, _ = encoder.eval()(tokens, lengths)
        assert (not torch.allclose(train_out, eval_out)) == dropped, n_layers


def test_bag_of_words_is_logistic_regression_on_counts():
    torch.manual_seed(0)
    bow = BagOfWords(50, 3, pad_idx=1)
    assert not bow(*_padded([4, 2])[1:]).any()                  # zero start: every class equal
    torch.nn.init.normal_(bow.word_weights.weight)
    torch.nn.init.normal_(bow.bias)
    texts, tokens, lengths = _padded([9, 2, 5])
    counts = torch.stack([torch.bincount(t, minlength=50) for t in texts]).float()
    expected = counts @ bow.word_weights.weight + bow.bias
    torch.testing.assert_close(bow(tokens, lengths), expected)
    more_padding = torch.cat([tokens, torch.ones(3, 4, dtype=tokens.dtype)], dim=1)
    torch.testing.assert_close(bow(more_padding, lengths), expected)


def test_fit_gradually_unfreezes_stage_by_stage():
    clf = get_text_classifier(40, 2, 8, 16, n_layers=2)
    seen = []
    class Recorder:
        model = clf
        def fit_one_cycle(self, epochs, lr_max):
            seen.append(([all(p.requires_grad for p in g) for g in classifier_splitter(clf)], epochs, lr_max))
    stages = [(-1, 1, 0.1), (-2, 2, slice(0.01, 0.1)), (0, 3, 0.05)]
    fit_gradually(Recorder(), classifier_splitter, stages)
    assert seen == [([False, False, False, True], 1, 0.1), ([False, False, True, True], 2, slice(0.01, 0.1)),
                    ([True] * 4, 3, 0.05)]
