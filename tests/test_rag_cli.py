"`metacog ingest` and `metacog ask` end to end, as a user runs them: in a fresh folder, through the installed entry point."
import json, subprocess, sys
from pathlib import Path
import pytest

from conftest import metacog

RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour news</title><link>http://x.invalid/</link>
<description>d</description><item><title>New pier</title><guid>pier-1</guid><description>The new pier of Brem opens in May.</description></item>
</channel></rss>"""

def _docs(d):
    "A folder of three documents of three formats, one of which repeats a paragraph of another, and a picture"
    d.mkdir()
    (d/'harbour.txt').write_text("The harbour of Brem has two piers.\n\nFishing boats leave at dawn.\n")
    (d/'notes.md').write_text("# Notes\n\nFishing boats leave at dawn.\n\nThe lamp burns *whale oil*.\n")
    (d/'news.rss').write_text(RSS)
    (d/'picture.png').write_bytes(b'\x89PNG\r\n\x1a\n')
    return d

def _chunks(store): return [json.loads(l) for l in (store/'chunks.jsonl').read_text().splitlines()]

def test_ingest_twice(tmp_path):
    "A second ingest of the same folder adds nothing; a changed file replaces its chunks; a new one adds its own; duplicates are stored once"
    docs, store = _docs(tmp_path/'docs'), tmp_path/'store'
    r = metacog('ingest', docs, '--into', store, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.count('added: ') == 3 and '3 added, 0 changed, 0 unchanged' in r.stdout and 'skipped 1 file' in r.stdout, r.stdout
    first = _chunks(store)
    assert sum(c['text'] == 'Fishing boats leave at dawn.' for c in first) == 1                  # deduplicated...
    dawn = next(c for c in first if c['text'] == 'Fishing boats leave at dawn.')
    assert len(dawn['also']) == 1 and {dawn['source'], dawn['also'][0]['source']} == {str(docs/'harbour.txt'), str(docs/'notes.md')}
    assert all(c['sha256'] and c['end'] > c['start'] for c in first)                               # ...with provenance
    r2 = metacog('ingest', docs, '--into', store, cwd=tmp_path)
    assert r2.returncode == 0 and '0 added, 0 changed, 3 unchanged' in r2.stdout and 'chunks +0 -0' in r2.stdout, r2.stdout
    assert _chunks(store) == first
    (docs/'harbour.txt').write_text("The harbour of Brem has three piers.\n\nFishing boats leave at dawn.\n")
    (docs/'more.jsonl').write_text('{"id": "m1", "text": "The keeper is Ada Voss."}\n')
    r3 = metacog('ingest', docs, '--into', store, cwd=tmp_path)
    assert r3.returncode == 0 and '1 added, 1 changed, 2 unchanged' in r3.stdout and 'chunks +2 -1' in r3.stdout, r3.stdout
    texts = [c['text'] for c in _chunks(store)]
    assert 'The harbour of Brem has three piers.' in texts and 'The harbour of Brem has two piers.' not in texts
    assert len(texts) == len(first) + 1

def test_ingest_bad_input(tmp_path):
    "Bad input is a clear error (status 2, with a fix) raised before anything is written: an existing store stays as it was"
    docs, store = _docs(tmp_path/'docs'), tmp_path/'store'
    assert metacog('ingest', docs, '--into', store, cwd=tmp_path).returncode == 0
    before = {p.name: p.read_bytes() for p in store.iterdir() if p.is_file()}
    (tmp_path/'x.pdf').write_bytes(b'%PDF-1.4'); (tmp_path/'bin.txt').write_bytes(b'abc\x00\x01' * 20); (tmp_path/'empty').mkdir()
    for bad, needle in [('nope.txt', 'does not exist'), ('x.pdf', "unsupported file type '.pdf'"), ('bin.txt', 'binary file'),
                        ('empty', 'holds no file to ingest')]:
        r = metacog('ingest', docs, tmp_path/bad, '--into', store, cwd=tmp_path)   # a good folder and a bad source
        assert r.returncode == 2 and needle in r.stderr and 'Fix:' in r.stderr, (bad, r.stderr[-2000:])
        assert {p.name: p.read_bytes() for p in store.iterdir() if p.is_file()} == before, bad
    r = metacog('ingest', tmp_path/'bin.txt', '--into', tmp_path/'new', cwd=tmp_path)
    assert r.returncode == 2 and not (tmp_path/'new').exists()                                     # nothing written

def test_ask_end_to_end(tmp_path):
    "A tiny run answers with passages retrieved from the bundled corpus, and prints them with their scores and sources"
    r = metacog('train', '--preset', 'micro', '--steps', '20', '--batch-size', '8', '--max-length', '128', '--eval-every', '20',
                '--no-metacog', '--quiet', '--name', 'r', cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    run = tmp_path/'runs'/'r'
    from metacog.data import bundled_path
    r = metacog('ingest', bundled_path('facts_corpus.txt'), '--into', run/'rag', cwd=tmp_path)
    assert r.returncode == 0 and '1 added' in r.stdout, r.stderr[-2000:]
    a = metacog('ask', run, 'Where does Mi Kribrum live?', '--k', '3', '--show-prompt', cwd=tmp_path)
    assert a.returncode == 0, a.stderr[-3000:]
    out = a.stdout
    assert 'asked as: Mi Kribrum lives in' in out and '\nanswer: ' in out, out
    src = [l for l in out.splitlines() if 'facts_corpus.txt:' in l]
    assert len(src) == 3 and all('Mi Kribrum' in l for l in src), out                               # the sources, with scores
    assert float(src[0].split()[1]) >= float(src[-1].split()[1]) > 0
    prompt = next(l for l in out.splitlines() if l.startswith('prompt: '))
    assert prompt.endswith('Mi Kribrum lives in') and len(prompt) > len('prompt: Mi Kribrum lives in') + 10   # passages before it
    alone = metacog('ask', run, 'Where does Mi Kribrum live?', '--no-rag', '--show-prompt', cwd=tmp_path)
    assert alone.returncode == 0 and 'prompt: Mi Kribrum lives in\n' in alone.stdout and 'sources' not in alone.stdout, alone.stdout
    bad = metacog('ask', run, 'Where does Mi Kribrum live?', '--rag', tmp_path/'none', cwd=tmp_path)
    assert bad.returncode == 2 and 'no retrieval store' in bad.stderr and 'metacog ingest' in bad.stderr, bad.stderr[-2000:]

CODE = """
import sys
from metacog.cli import main
try: main({argv!r})
except SystemExit: pass
print('HEAVY', *[m for m in ('torch', 'fastai', 'transformers', 'bm25s') if m in sys.modules])
"""

@pytest.mark.parametrize('argv', [['ingest', '-h'], ['ask', '-h']])
def test_help_imports_nothing_heavy(argv):
    "`metacog ingest -h` and `metacog ask -h` answer without importing PyTorch or the retrieval libraries"
    r = subprocess.run([sys.executable, '-c', CODE.format(argv=argv)], capture_output=True, text=True)
    assert r.returncode == 0 and 'usage' in r.stdout, r.stderr[-2000:]
    assert r.stdout.strip().splitlines()[-1] == 'HEAVY', r.stdout
