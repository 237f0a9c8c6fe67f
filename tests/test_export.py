"GGUF export (issue 12): the file read back by `gguf`, its vocabulary in Python, and, where llama-cpp-python is installed, llama.cpp itself."
import hashlib, json, socket, sys, threading
from http.server import BaseHTTPRequestHandler, HTTPServer
import numpy as np, pytest, torch
from metacog.core import MetacogError
from metacog.data import bpe_tokenizer, bundled_corpus, char_tokenizer
from metacog.model import make_model
from metacog.export import (GGUF_SAMPLE_TEXTS, GGUFTokenizer, check_gguf, export_gguf, gguf_vocab, push_ollama, tensor_types,
                            write_gguf, GGUF_FILE_TYPES)

gguf = pytest.importorskip('gguf')
TEXT = bundled_corpus()

@pytest.fixture(scope='module')
def toks():
    "A char tokenizer that knows every sample character, and a byte-level BPE one"
    return dict(char=char_tokenizer(TEXT + ''.join(GGUF_SAMPLE_TEXTS)), bpe=bpe_tokenizer(TEXT, vocab_size=400))

# the shapes a metacog model can take: presets, tied or untied, grouped-query attention, a head width other than d/heads
SHAPES = {'untied': {}, 'tied': dict(tie_embeddings=True), 'gqa': dict(num_key_value_heads=2),
          'gqa1-tied': dict(num_key_value_heads=1, tie_embeddings=True), 'head32': dict(head_dim=32)}

def _model(tok, shape, preset='tiny', **kw): return make_model(preset, len(tok), seed=0, **{**SHAPES[shape], **kw})

def _field(r, k):
    f = r.fields[k]
    if f.types[0] == gguf.GGUFValueType.STRING: return bytes(f.parts[-1]).decode()
    return f.parts[-1][0].item()

@pytest.mark.parametrize('shape', list(SHAPES))
def test_reader_sees_the_config(toks, tmp_path, shape):
    tok = toks['bpe']; m = _model(tok, shape); c = m.config
    write_gguf(m, tok, tmp_path/'m.gguf', 'F16')
    r = gguf.GGUFReader(str(tmp_path/'m.gguf'))
    hd, kv = c.head_dim, c.num_key_value_heads
    assert [_field(r, f'llama.{k}') for k in ('context_length', 'embedding_length', 'block_count', 'feed_forward_length',
            'attention.head_count', 'attention.head_count_kv', 'attention.key_length', 'rope.dimension_count', 'vocab_size')] == \
           [c.max_position_embeddings, c.hidden_size, c.num_hidden_layers, c.intermediate_size, c.num_attention_heads, kv, hd, hd, len(tok)]
    assert _field(r, 'general.file_type') == GGUF_FILE_TYPES['F16']
    shapes = {t.name: t.shape.tolist() for t in r.tensors}
    assert ('output.weight' in shapes) == (not c.tie_word_embeddings)
    assert shapes['token_embd.weight'] == [c.hidden_size, len(tok)]
    assert shapes['blk.0.attn_q.weight'] == [c.hidden_size, c.num_attention_heads*hd]
    assert shapes['blk.0.attn_k.weight'] == [c.hidden_size, kv*hd] == shapes['blk.0.attn_v.weight']
    assert shapes['blk.0.attn_output.weight'] == [c.num_attention_heads*hd, c.hidden_size]
    assert shapes['blk.0.ffn_down.weight'] == [c.intermediate_size, c.hidden_size]
    assert len(shapes) == 2 + 9*c.num_hidden_layers + (not c.tie_word_embeddings)

@pytest.mark.parametrize('kind', ['char', 'bpe'])
def test_vocab_round_trip_in_python(toks, tmp_path, kind):
    tok = toks[kind]
    write_gguf(_model(tok, 'untied', 'micro'), tok, tmp_path/'m.gguf', 'Q8_0')
    gt = GGUFTokenizer(tmp_path/'m.gguf')
    for s in GGUF_SAMPLE_TEXTS + (TEXT[:2000],):
        ids = tok.encode(s, add_special_tokens=False)
        assert gt.encode(s) == ids, s
        assert gt.decode(ids) == s

def test_unknown_characters_are_dropped_by_the_gguf_vocab(tmp_path):
    tok = char_tokenizer('abc \n')
    write_gguf(make_model('micro', len(tok), seed=0), tok, tmp_path/'m.gguf', 'F32')
    assert gguf_vocab(tok)['merges'] == ['ÿ ÿ']                   # ASCII only: the merge that never applies
    ids = tok.encode('a é b', add_special_tokens=False)
    assert tok.unk_token_id in ids and GGUFTokenizer(tmp_path/'m.gguf').encode('a é b') == [i for i in ids if i != tok.unk_token_id]

def test_a_model_wider_than_its_tokenizer_gets_unused_tokens(toks, tmp_path):
    tok = toks['char']
    v = gguf_vocab(tok, len(tok) + 5)
    assert len(v['tokens']) == len(tok) + 5 and v['types'][-5:] == [5]*5

def test_q4_k_m_mix_and_fallbacks():
    t = tensor_types([('token_embd.weight', (100, 128)), ('blk.0.attn_v.weight', (64, 128)), ('blk.0.attn_norm.weight', (128,))],
                     'Q4_K_M', 1, tied=True)
    assert t == {'token_embd.weight': ('Q8_0', 'Q6_K', 'rows of 128 values; Q6_K needs a multiple of 256'),
                 'blk.0.attn_v.weight': ('Q8_0', 'Q6_K', 'rows of 128 values; Q6_K needs a multiple of 256'),
                 'blk.0.attn_norm.weight': ('F32', 'F32', '')}

def test_bad_input(toks, tmp_path):
    from transformers import GPT2Config, GPT2LMHeadModel
    tok = toks['char']
    with pytest.raises(MetacogError, match='unknown quantisation'): export_gguf(_model(tok, 'untied', 'micro'), tok, tmp_path, 'Q2_K')
    gpt2 = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=len(tok), bos_token_id=None, eos_token_id=None))
    with pytest.raises(MetacogError, match="this model is 'gpt2'"): export_gguf(gpt2, tok, tmp_path)
    assert list(tmp_path.iterdir()) == []

def test_missing_gguf_names_the_extra(toks, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, 'gguf', None)
    with pytest.raises(MetacogError, match=r'metacog\[gguf\]'): write_gguf(_model(toks['char'], 'untied', 'micro'), toks['char'], tmp_path/'m.gguf')

# ---- llama.cpp itself (llama-cpp-python), where it is installed

@pytest.mark.parametrize('kind', ['char', 'bpe'])
@pytest.mark.parametrize('shape', ['untied', 'tied', 'gqa', 'gqa1-tied', 'head32'])
def test_llama_cpp_matches_transformers_in_f32(toks, tmp_path, kind, shape):
    pytest.importorskip('llama_cpp')
    tok = toks[kind]; m = _model(tok, shape)
    write_gguf(m, tok, tmp_path/'m.gguf', 'F32')
    c = check_gguf(tmp_path/'m.gguf', m, tok, n_gen=20)
    assert c['tokenize_identical'], c['tokenize_mismatches']
    assert c['max_abs_diff'] < 1e-4, c['max_abs_diff']
    assert c['argmax_agree'] == 1. and c['greedy_identical'], (c['greedy_llama_cpp'], c['greedy_transformers'])

def test_llama_cpp_reads_a_padded_vocab(toks, tmp_path):
    pytest.importorskip('llama_cpp')
    tok = toks['bpe']; m = make_model('micro', len(tok) + 7, seed=0)
    write_gguf(m, tok, tmp_path/'m.gguf', 'F32')
    c = check_gguf(tmp_path/'m.gguf', m, tok, texts=GGUF_SAMPLE_TEXTS[:3], n_gen=5)
    assert c['tokenize_identical'] and c['max_abs_diff'] < 1e-4

def test_quantised_files_load_and_lose_precision_in_order(toks, tmp_path):
    pytest.importorskip('llama_cpp')
    tok = toks['bpe']; m = make_model('age0', len(tok), seed=0, num_hidden_layers=1, intermediate_size=256, max_length=64)   # 256 wide: real K-quants
    diffs = {}
    for q in ('F32', 'F16', 'Q8_0', 'Q4_K_M'):
        man = export_gguf(m, tok, tmp_path, q, check=True, name='m')
        assert man['check']['tokenize_identical'] and json.loads((tmp_path/f'm-{q}.json').read_text())['check']['max_abs_diff'] == man['check']['max_abs_diff']
        diffs[q] = man['check']['max_abs_diff']
    assert diffs['F32'] < 1e-4 < diffs['F16'] < diffs['Q8_0'] < diffs['Q4_K_M'], diffs
    assert set(json.loads((tmp_path/'m-Q4_K_M.json').read_text())['tensor_types'].values()) == {'F32', 'Q4_K', 'Q6_K'}

@pytest.mark.parametrize('quant', ['Q8_0', 'Q4_K_M'])
def test_our_quantisation_is_llama_quantize_byte_for_byte(toks, tmp_path, quant):
    llama_cpp = pytest.importorskip('llama_cpp')
    import ctypes
    tok = toks['bpe']
    m = make_model('age0', len(tok), seed=1, num_hidden_layers=3, num_key_value_heads=1, max_length=64)   # 256 wide: real K-quants
    write_gguf(m, tok, tmp_path/'f32.gguf', 'F32'); write_gguf(m, tok, tmp_path/'ours.gguf', quant)
    p = llama_cpp.llama_model_quantize_default_params(); p.ftype = GGUF_FILE_TYPES[quant]; p.nthread = 2
    assert llama_cpp.llama_model_quantize(str(tmp_path/'f32.gguf').encode(), str(tmp_path/'ref.gguf').encode(), ctypes.byref(p)) == 0
    ours, ref = ({t.name: (t.tensor_type.name, np.asarray(t.data).view(np.uint8)) for t in gguf.GGUFReader(str(tmp_path/f)).tensors}
                 for f in ('ours.gguf', 'ref.gguf'))
    assert sorted(ours) == sorted(ref)
    assert [n for n in ours if ours[n][0] != ref[n][0] or not np.array_equal(ours[n][1], ref[n][1])] == []

# ---- Ollama

def _free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def test_ollama_without_a_server(toks, tmp_path):
    pytest.importorskip('ollama')
    tok = toks['char']; write_gguf(_model(tok, 'untied', 'micro'), tok, tmp_path/'m.gguf', 'Q8_0')
    url = f'http://127.0.0.1:{_free_port()}'
    with pytest.raises(MetacogError, match=f'no Ollama server answers at {url}'): push_ollama(tmp_path/'m.gguf', 'm', url, 256, timeout=5)

def test_ollama_push_sends_what_ollama_create_sends(toks, tmp_path):
    "A stand-in server records the requests: the file as a blob under its sha256, then /api/create naming that blob"
    pytest.importorskip('ollama')
    seen = []
    class H(BaseHTTPRequestHandler):
        def log_message(self, *a): pass
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
            seen.append((self.path, body))
            self.send_response(201 if self.path.startswith('/api/blobs/') else 200)
            self.send_header('Content-Type', 'application/json'); self.end_headers()
            if self.path == '/api/create': self.wfile.write(b'{"status": "success"}')
    srv = HTTPServer(('127.0.0.1', 0), H); th = threading.Thread(target=srv.serve_forever, daemon=True); th.start()
    try:
        tok = toks['char']
        man = export_gguf(_model(tok, 'untied', 'micro'), tok, tmp_path, 'Q8_0', ollama=f'http://127.0.0.1:{srv.server_port}', name='Tiny Demo')
    finally: srv.shutdown(); srv.server_close()
    data = (tmp_path/'tiny-demo-Q8_0.gguf').read_bytes()
    (blob_path, blob), (create_path, create) = seen
    assert blob_path == f'/api/blobs/sha256:{hashlib.sha256(data).hexdigest()}' and blob == data
    req = json.loads(create)
    assert create_path == '/api/create' and req['model'] == 'tiny-demo' and req['files'] == {'tiny-demo-Q8_0.gguf': blob_path.split('/')[-1]}
    assert req['template'] == '{{ .Prompt }}' and req['parameters'] == dict(temperature=0.7, top_p=0.9, num_ctx=256)
    assert man['ollama']['status'] == 'success'
