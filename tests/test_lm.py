"Corpus readers, count baselines, perplexity and saving of course_lib.lm (notebook 12b_lm_pretrain)."
import lzma
import math

import pytest
import torch

from course_lib.lm import (KneserNeyBigram, UnigramLM, general_english_articles, lm_perplexity, load_lm,
                           match_embeddings, ngram_perplexity, pretraining_articles, save_lm, take_tokens,
                           wikitext_articles, wikitext_file)
from course_lib.text import LMLoader, Vocab


def test_wikitext_articles(tmp_path):
    text = ' \n = First = \n \n Some text . \n = = Section = = \n More . \n = Second = \n Two . \n'
    (tmp_path/'test.txt').write_text(text)
    articles = wikitext_articles(tmp_path/'test.txt')
    assert [a.split('\n')[0] for a in articles] == ['= First =', '= Second =']
    assert '= = Section = =' in articles[0] and articles[1].endswith('Two .')


def test_wikitext_csv_and_file_names(tmp_path):
    (tmp_path/'train.csv').write_text('"= A =\n a b ."\n"= B =\n c ."\n')
    assert wikitext_file(tmp_path, 'train') == tmp_path/'train.csv'
    assert wikitext_articles(tmp_path/'train.csv') == ['= A =\n a b .', '= B =\n c .']
    with pytest.raises(FileNotFoundError, match='wiki.valid.tokens'): wikitext_file(tmp_path, 'valid')


def test_pretraining_articles_falls_back_to_the_sample(tmp_path, monkeypatch):
    "Offline, with no mirror and an empty cache: no train split, no general_english, the bundled valid split."
    monkeypatch.setenv('COURSE_LIB_HOME', str(tmp_path))
    monkeypatch.setenv('COURSE_LIB_OFFLINE', '1')
    monkeypatch.delenv('COURSE_LIB_MIRROR', raising=False)
    from course_lib.data import is_sample
    with pytest.warns(Warning):
        corpus, path, articles = pretraining_articles()
    assert corpus == 'wikitext-2-valid' and is_sample(path) and len(articles) >= 1
    held_out = wikitext_articles(wikitext_file(path.parent, 'test'))
    assert not set(articles) & set(held_out)
    with pytest.raises(ValueError, match='Unknown corpus'): pretraining_articles('imdb')


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


# The toy stream of the notebook's hand check: two texts, joined as LMLoader joins them.
TOY = [torch.tensor([0, 1, 0]), torch.tensor([1, 0, 2])]


def test_unigram_add_one():
    lm = UnigramLM(TOY, 4)   # counts 3, 2, 1, 0 of 6 tokens: (c + 1) / (6 + 4)
    assert torch.allclose(lm.next_probs(2), torch.tensor([.4, .3, .2, .1], dtype=torch.float64))
    assert torch.allclose(lm.log_prob(torch.tensor([0, 3]), torch.tensor([3, 0])).exp(),
                          torch.tensor([.1, .4], dtype=torch.float64))


def test_kneser_ney_bigram_by_hand():
    lm = KneserNeyBigram(TOY, 4, discount=0.5)
    # bigrams 0 1 (x2), 1 0 (x2), 0 2; p_cont = (1 - .5)/3 + .5 * 3/3/4 = 7/24 for 0, 1, 2 and 3/24 for 3
    expected = {0: [7, 43, 19, 3], 1: [59.25, 5.25, 5.25, 2.25], 2: [21, 21, 21, 9], 3: [21, 21, 21, 9]}
    for prev, row in expected.items():
        probs = lm.next_probs(prev)
        assert torch.allclose(probs * 72, torch.tensor(row, dtype=torch.float64)), (prev, probs * 72)
        assert math.isclose(probs.sum().item(), 1, rel_tol=1e-12)
    assert math.isclose(KneserNeyBigram(TOY, 4).d, 0.2)   # Ney: n1 / (n1 + 2 n2) = 1 / (1 + 4)


def test_count_models_sum_to_one_on_random_text():
    torch.manual_seed(0)
    docs = [torch.randint(0, 30, (50,)) for _ in range(4)]
    for lm in UnigramLM(docs, 40), KneserNeyBigram(docs, 40):   # 10 words never seen
        for prev in (0, 5, 35):
            probs = lm.next_probs(prev)
            assert (probs > 0).all() and math.isclose(probs.sum().item(), 1, rel_tol=1e-9), type(lm).__name__


class Pairs:
    "A loader of one batch: `x` the previous tokens, `y` the next."
    def __init__(self, x, y): self.x, self.y = torch.tensor([x]), torch.tensor([y])
    def __iter__(self): yield self.x, self.y


def test_ngram_perplexity_known_values():
    bigram = KneserNeyBigram(TOY, 4, discount=0.5)
    # p(1 | 0) = 43/72, p(2 | 0) = 19/72: perplexity is the inverse geometric mean
    assert math.isclose(ngram_perplexity(bigram, Pairs([0, 0], [1, 2])), 72 / math.sqrt(43 * 19))
    assert math.isclose(ngram_perplexity(UnigramLM(TOY, 4), Pairs([0, 1], [0, 3])), 1 / math.sqrt(.4 * .1))
    uniform = UnigramLM([torch.arange(10)], 10)   # every word once: 1/10 each
    docs = [torch.randint(0, 10, (200,)) for _ in range(3)]
    assert math.isclose(ngram_perplexity(uniform, LMLoader(docs, bs=4, bptt=9)), 10, rel_tol=1e-9)
