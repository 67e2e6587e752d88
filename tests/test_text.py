"Tokenisation rules, vocabulary and loaders of course_lib.text (notebook 12_text)."
import pytest
import torch

from course_lib.text import (POST_RULES, TK_BOS, TK_MAJ, TK_REP, TK_UP, TK_WREP, LMLoader,
                             SortishSampler, SortSampler, Tokenizer, Vocab, add_bos, deal_caps,
                             encode_labels, fix_html, load_imdb, pad_collate, replace_all_caps,
                             replace_rep, replace_wrep, rm_useless_spaces, spaces_around, tokenize)


@pytest.fixture(scope='module')
def tok(): return Tokenizer()


def test_xxup_appears(tok):
    tokens = tok(["This film is BAD. I mean it."])[0]
    assert TK_UP in tokens, tokens
    assert tokens[tokens.index(TK_UP) + 1] == 'bad'


def test_the_2019_rule_order_lost_xxup():
    tokens = ['It', 'is', 'BAD']
    assert TK_UP not in replace_all_caps(deal_caps(tokens))   # 2019: deal_caps first
    assert replace_all_caps(tokens) == ['It', 'is', TK_UP, 'bad']
    assert POST_RULES.index(replace_all_caps) < POST_RULES.index(deal_caps)


def test_case_markers():
    assert deal_caps(['Great', 'great', 'I', 'McDonald']) == [TK_MAJ, 'great', 'great', TK_MAJ, 'i',
                                                              'mcdonald']
    assert replace_all_caps(['A', 'OK', 'ok']) == ['A', TK_UP, 'ok', 'ok']   # one letter: xxmaj's job
    assert add_bos(['a']) == [TK_BOS, 'a']


def test_html():
    assert fix_html('a<br /><br>b &amp; <i>c</i>') == 'a\n\nb &  c '
    assert fix_html('1 @,@ 000 <unk>') == '1,000  xxunk '


def test_repetitions():
    assert replace_rep('Sooooo!!!!').split() == ['S', TK_REP, '5', 'o', TK_REP, '4', '!']
    assert replace_rep('good!!!') == 'good!!!'                      # three is not a run
    assert replace_wrep('so, so, so, so bad').split() == [TK_WREP, '4', 'so', 'bad']
    assert replace_wrep('the the the theory') == 'the the the theory'
    assert replace_wrep('a a a a a').split() == [TK_WREP, '5', 'a']


def test_spaces():
    assert spaces_around('action/comedy #1') == 'action / comedy  # 1'
    assert rm_useless_spaces('a   b \n  c') == 'a b\nc'


def test_tokenizer_end_to_end(tok):
    tokens = tok(["I didn't like it.<br /><br />It's BAD!!!! so so so so bad"])[0]
    assert tokens[:3] == [TK_BOS, TK_MAJ, 'i']
    assert "n't" in tokens and '\n\n' in tokens
    assert [TK_UP, 'bad', TK_REP, '4', '!', TK_WREP, '4', 'so'] == tokens[-9:-1]
    assert not any(t.strip() == '' and t != '\n\n' for t in tokens), tokens


def test_fingerprint_changes_with_the_rules(tok):
    assert tok.fingerprint() == Tokenizer().fingerprint()
    assert tok.fingerprint() != Tokenizer(post_rules=[deal_caps, replace_all_caps]).fingerprint()


def test_tokenize_cache_and_workers(tok, tmp_path, monkeypatch):
    monkeypatch.setenv('COURSE_LIB_HOME', str(tmp_path))
    texts = [f'Text number {i}, NOT SHOUTED!!!!' for i in range(30)]
    direct = tok(texts)
    assert tokenize(texts, tok, n_workers=2, chunk=7, show_progress=False) == direct
    assert tokenize(texts, tok, cache='toy', n_workers=1, show_progress=False) == direct
    (cached,) = (tmp_path/'tokens').glob('toy-*.pkl')
    assert tokenize(texts, tok, cache='toy', show_progress=False) == direct   # read back
    other = Tokenizer(post_rules=[add_bos])
    tokenize(texts, other, cache='toy', n_workers=1, show_progress=False)
    (new,) = (tmp_path/'tokens').glob('toy-*.pkl')    # a new key; the old file is gone
    assert new != cached
    tokenize(texts[:3], tok, cache='toy-part', n_workers=1, show_progress=False)
    tokenize(texts[:5], tok, cache='toy', n_workers=1, show_progress=False)   # replaces toy's file only
    assert len(list((tmp_path/'tokens').glob('toy-part-*.pkl'))) == 1, "another cache's file was removed"


def test_vocab():
    vocab = Vocab.from_tokens([['b', 'a', 'b', 'c'], ['b', 'a']], min_freq=2)
    assert vocab.itos[:2] == ['xxunk', 'xxpad'] and vocab.itos[-2:] == ['b', 'a']
    assert vocab.numericalize(['a', 'c']).tolist() == [vocab.stoi['a'], 0]
    assert len(Vocab.from_tokens([['b', 'a', 'b', 'c']], max_size=10, min_freq=1)) == 10
    with pytest.raises(ValueError, match='needs'): Vocab(['a'])


def test_lm_loader_streams():
    docs = [torch.arange(10) + 100 * k for k in range(5)]
    dl = LMLoader(docs, bs=3, bptt=4)
    batches = list(dl)
    assert len(batches) == len(dl) == 4          # 49 // 3 = 16 columns per row, 4 batches
    stream = torch.cat(docs)
    x = torch.cat([b[0] for b in batches], dim=1)
    y = torch.cat([b[1] for b in batches], dim=1)
    assert torch.equal(x.flatten(), stream[:48]) and torch.equal(y.flatten(), stream[1:49])
    shuffled = list(LMLoader(docs, bs=3, bptt=4, shuffle=True))
    assert all(b[0].shape == (3, 4) for b in shuffled)
    with pytest.raises(ValueError, match='cannot fill'): LMLoader(docs[:1], bs=20)


def test_samplers_and_padding():
    lengths = [5, 1, 9, 3, 7, 2, 8, 4, 6]
    sorted_batches = list(SortSampler(lengths, 4))
    assert [lengths[i] for b in sorted_batches for i in b] == sorted(lengths, reverse=True)
    torch.manual_seed(0)
    batches = list(SortishSampler(lengths, 2, chunk_batches=2))
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert lengths[batches[0][0]] == 9 and len(batches) == len(SortishSampler(lengths, 2))
    samples = [(torch.tensor([4, 5, 6]), torch.tensor(1)), (torch.tensor([7]), torch.tensor(0))]
    (tokens, lens), labels = pad_collate(samples, pad_idx=1)
    assert tokens.tolist() == [[4, 5, 6], [7, 1, 1]] and lens.tolist() == [3, 1]
    assert labels.tolist() == [1, 0]


def test_labels_and_imdb_sample(tmp_path):
    assert encode_labels(['pos', 'neg', 'pos']) == ([1, 0, 1], ['neg', 'pos'])
    with pytest.raises(ValueError, match='not among'): encode_labels(['x'], ['neg', 'pos'])
    from course_lib.data import samples_dir
    imdb = load_imdb(samples_dir()/'imdb_sample')
    assert (len(imdb['train'][0]), len(imdb['valid'][0]), imdb['unsup']) == (800, 200, [])
    with pytest.raises(FileNotFoundError, match="untar_data"): load_imdb(tmp_path)


def test_general_english_is_a_mirror_only_dataset(tmp_path, monkeypatch):
    from course_lib.data import DataUnavailableError, get_dataset, untar_data
    ds = get_dataset('general_english')
    assert ds.url is None and ds.is_archive and len(ds.mirror) == 8
    monkeypatch.setenv('COURSE_LIB_HOME', str(tmp_path/'home'))
    monkeypatch.delenv('COURSE_LIB_MIRROR', raising=False)
    with pytest.raises(DataUnavailableError, match='no official download.*general_english/'):
        untar_data('general_english')
    mirror = tmp_path/'mirror'
    (mirror/'general_english').mkdir(parents=True)
    monkeypatch.setenv('COURSE_LIB_MIRROR', str(mirror))
    for copy in ds.mirror: (mirror/copy.path).write_bytes(b'not the real shard')
    with pytest.warns(UserWarning, match='sha256'), \
            pytest.raises(DataUnavailableError, match='copy is damaged'):
        untar_data('general_english')
