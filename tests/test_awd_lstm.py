"""The from-scratch LSTM matches nn.LSTM; the AWD-LSTM dropouts keep torch.optim happy and do drop."""
import pytest
import torch
from torch import nn

from course_lib.awd_lstm import (AWDLSTM, EmbeddingDropout, FastLSTMLayer, LSTMLayer, RNNDropout, RNNTrainer,
                                 WeightDropout, copy_lstm_weights, cross_entropy_flat, find_encoder,
                                 get_language_model)


def _run(model, x, state, probe):
    out, (h, c) = model(x, state)
    weights = [p for p in model.parameters() if p.ndim == 2]            # W_ih, W_hh
    grads = torch.autograd.grad((out * probe).sum() + h.sum() + c.sum(), [x, *weights])
    return [out, h.reshape(c.shape[-2:]), c.reshape(c.shape[-2:]), *grads]


@pytest.mark.parametrize('layer_class', [LSTMLayer, FastLSTMLayer])
@pytest.mark.parametrize('dtype,tol', [(torch.float32, 1e-5), (torch.float64, 1e-10)])
def test_lstm_layer_matches_nn_lstm(layer_class, dtype, tol):
    torch.manual_seed(0)
    ni, nh, bs, sl = 6, 10, 4, 25
    lstm = nn.LSTM(ni, nh, batch_first=True).to(dtype)
    ours = copy_lstm_weights(layer_class(ni, nh).to(dtype), lstm)
    x = torch.randn(bs, sl, ni, dtype=dtype, requires_grad=True)
    h0, c0 = torch.randn(2, bs, nh, dtype=dtype)
    probe = torch.randn(bs, sl, nh, dtype=dtype)
    theirs = _run(lstm, x, (h0[None], c0[None]), probe)
    mine = _run(ours, x, (h0, c0), probe)
    names = ['outputs', 'h', 'c', 'grad x', 'grad W_ih', 'grad W_hh']
    for name, a, b in zip(names, mine, theirs):
        diff = (a - b).abs().max().item()
        assert diff <= tol, f'{layer_class.__name__} {name} differs from nn.LSTM by {diff:.2e} > {tol}'


def test_lstm_layer_differs_when_weights_differ():
    "The comparison can fail: a layer with its own random weights does not match."
    torch.manual_seed(0)
    lstm, ours = nn.LSTM(3, 4, batch_first=True), LSTMLayer(3, 4)
    x = torch.randn(2, 5, 3)
    assert (ours(x)[0] - lstm(x)[0]).abs().max() > 1e-3


def test_weight_dropout_keeps_only_leaves_and_sgd_accepts_the_model():
    torch.manual_seed(0)
    wd = WeightDropout(nn.LSTM(4, 5, batch_first=True), weight_p=0.5)
    x = torch.randn(2, 3, 4)
    wd(x)                                                   # a forward pass first, as in training
    params = list(wd.parameters())
    assert all(p.is_leaf for p in params)
    assert 'module.weight_hh_l0' not in dict(wd.named_parameters())
    opt = torch.optim.SGD(wd.parameters(), lr=0.1)         # 2019's WeightDropout raised here
    raw_before = wd.weight_hh_l0_raw.detach().clone()
    wd(x)[0].sum().backward()
    opt.step()
    assert not torch.equal(raw_before, wd.weight_hh_l0_raw.detach()), 'SGD updates the raw weight'


def test_weight_dropout_draws_new_masks_each_training_forward():
    torch.manual_seed(0)
    wd = WeightDropout(nn.LSTM(8, 16, batch_first=True), weight_p=0.5)
    x = torch.randn(2, 3, 8)
    masks = []
    for _ in range(3):
        wd(x)
        masks.append(wd.module.weight_hh_l0.detach() == 0)
    assert not torch.equal(masks[0], masks[1]) and not torch.equal(masks[1], masks[2])
    for mask in masks: assert 0.35 < mask.float().mean() < 0.65
    raw = wd.weight_hh_l0_raw.detach()
    kept = ~masks[-1]
    torch.testing.assert_close(wd.module.weight_hh_l0.detach()[kept], raw[kept] * 2)   # 1/(1-p)
    wd.eval()
    wd(x)
    assert torch.equal(wd.module.weight_hh_l0.detach(), raw)


def test_rnn_and_embedding_dropout_masks():
    torch.manual_seed(0)
    dropped = RNNDropout(0.5)(torch.ones(8, 10, 32)) == 0
    assert torch.equal(dropped, dropped[:, :1].expand_as(dropped)), 'one mask per sequence'
    emb = EmbeddingDropout(nn.Embedding(20, 4), 0.5)
    out = emb(torch.arange(20).repeat(2))
    assert torch.equal(out[:20], out[20:])
    assert 3 < (out[:20] == 0).all(dim=1).sum() < 17


def test_language_model_trains_and_is_tied():
    torch.manual_seed(0)
    lm = get_language_model(vocab_sz=30, emb_sz=16, n_hid=32, n_layers=2, drop_mult=0.)
    assert lm.decoder.decoder.weight is lm.encoder.embedding.emb.weight
    x = torch.randint(0, 30, (4, 12))
    opt = torch.optim.Adam(lm.parameters(), lr=1e-1)
    losses = []
    for _ in range(40):
        lm.reset()
        loss = cross_entropy_flat(lm(x[:, :-1]), x[:, 1:])
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 2, f'memorising one batch should halve the loss: {losses[0]:.2f} -> {losses[-1]:.2f}'


def test_encoder_state_is_carried_and_reset():
    torch.manual_seed(0)
    enc = AWDLSTM(50, 8, 16, 2).eval()
    x = torch.randint(0, 50, (3, 10))
    whole, _ = enc(x)
    enc.reset()
    halves = torch.cat([enc(x[:, :5])[0], enc(x[:, 5:])[0]], dim=1)
    torch.testing.assert_close(whole, halves)
    enc(torch.randint(0, 50, (5, 4)))                        # a new batch size starts from zeros
    assert enc.hidden[0][0].shape == (1, 5, 16)


def test_find_encoder_error_says_what_to_do():
    with pytest.raises(ValueError, match='holds no AWDLSTM'):
        RNNTrainer().begin_fit(type('L', (), {'model': nn.Linear(2, 2)})())
    assert isinstance(find_encoder(get_language_model(10, 4, 4)), AWDLSTM)
