"Corpus readers, perplexity and saving of course_lib.lm (notebook 12b_lm_pretrain)."
import lzma
import math

import pytest
import torch

from course_lib.lm import (general_english_articles, lm_perplexity, load_lm, match_embeddings,
                           save_lm, take_tokens, wikitext_articles)
from course_lib.text import LMLoader, Vocab


def test_wikitext_articles(tmp_path):
    text = ' \n = First = \n \n Some text . \n = = Section = = \n More . \n = Second = \n Two . \n'
    (tmp_path/'test.txt').write_text(text)
    articles = wikitext_articles(tmp_path/'test.txt')
    assert [a.split('\n')[0] for a in articles] == ['= First =', '= Second =']
    assert '= = Section = =' in articles[0] and articles[1].endswith('Two .')


def test_general_english_shards(tmp_path):
    shard = '<doc id="1" url="u" title="A">\nA\n\nText a.\n</doc>\n<doc id="2">\nB\n\nb.\n</doc>\n'
    with lzma.open(tmp_path/'x_part0.txt.xz', 'wt') as f: f.write(shard)
    assert general_english_articles(tmp_path) == ['A\n\nText a.', 'B\n\nb.']
    with pytest.raises(FileNotFoundError, match='general_english'):
        general_english_articles(tmp_path/'nothing')


def test_take_tokens():
    docs = [torch.arange(5), torch.arange(5)]
    assert [len(d) for d in take_tokens(docs, 7)] == [5, 2]
    assert take_tokens(docs, None) == docs


def test_match_embeddings():
    state = {'emb': torch.tensor([[0., 1.], [2., 3.], [4., 5.]]), 'bias': torch.tensor([1., 2., 3.]),
             'other': torch.zeros(4)}
    out = match_embeddings(state, ['a', 'b', 'c'], ['c', 'z', 'a'])
    assert out['emb'].tolist() == [[4., 5.], [2., 3.], [0., 1.]]
    assert out['bias'].tolist() == [3., 2., 1.] and out['other'] is state['other']


class Uniform(torch.nn.Module):
    "Equal scores for every token: perplexity is the vocabulary size."
    def __init__(self, n):
        super().__init__()
        self.n, self.w = n, torch.nn.Parameter(torch.zeros(1))

    def forward(self, x): return torch.zeros(*x.shape, self.n) + self.w


def test_perplexity_of_a_uniform_model():
    docs = [torch.randint(0, 50, (200,)) for _ in range(3)]
    assert math.isclose(lm_perplexity(Uniform(50), LMLoader(docs, bs=4, bptt=9)), 50, rel_tol=1e-5)


def test_save_and_load(tmp_path, monkeypatch):
    from course_lib.awd_lstm import get_language_model
    monkeypatch.setenv('COURSE_LIB_HOME', str(tmp_path))
    vocab = Vocab(['xxunk', 'xxpad'] + [f'w{i}' for i in range(30)])
    model = get_language_model(len(vocab), 8, 12, 2, pad_token=vocab.pad_idx)
    path = save_lm(model, vocab, 'tiny', emb_sz=8, n_hid=12, n_layers=2)
    assert path.parent == tmp_path/'models' and (tmp_path/'models'/'tiny_encoder.pth').exists()
    model2, vocab2 = load_lm('tiny')
    assert vocab2.itos == vocab.itos
    for (k, a), (k2, b) in zip(model.state_dict().items(), model2.state_dict().items()):
        assert k == k2 and torch.equal(a, b), k
    with pytest.raises(FileNotFoundError, match='12b_lm_pretrain'): load_lm('missing')
