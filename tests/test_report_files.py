"The files a run leaves, as a fastai or Hugging Face user reads them (issue 18): metrics.csv's words, the model folder."
import json, os, subprocess
import pytest

from conftest import metacog

@pytest.fixture(scope='module')
def run(tmp_path_factory):
    "A short `metacog train` run directory"
    tmp = tmp_path_factory.mktemp('files')
    r = metacog('train', '--preset', 'micro', '--steps', '20', '--eval-every', '10', '--max-length', '64', '--quiet', cwd=tmp)
    assert r.returncode == 0, r.stderr[-3000:]
    (run,) = (tmp/'runs').iterdir()
    return run

def test_metrics_csv_words(run):
    "`tokens_seen` (not `train_tokens`, which config.json uses for the corpus size), `eval`, and `epoch` as passes"
    head, *rows = (run/'metrics.csv').read_text().splitlines()
    cols = head.split(',')
    assert 'train_tokens' not in cols and {'step', 'eval', 'tokens_seen', 'epoch', 'valid_loss'} <= set(cols), cols
    last = dict(zip(cols, rows[-1].split(',')))
    cfg = json.loads((run/'config.json').read_text())
    assert int(last['step']) == 20 and int(last['tokens_seen']) == 20*32*64   # steps x batch x context
    assert abs(float(last['epoch']) - int(last['tokens_seen'])/cfg['train_tokens']) < 0.01

def test_model_folder(run):
    "The saved tokenizer knows the context length; a model card with front matter, config, data and metrics"
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from huggingface_hub import ModelCard
    m = run/'model'
    tok, model = AutoTokenizer.from_pretrained(m), AutoModelForCausalLM.from_pretrained(m)
    assert tok.model_max_length == model.config.max_position_embeddings == 64
    card = ModelCard.load(m/'README.md')
    assert card.data.library_name == 'transformers' and 'metacog' in card.data.tags
    for s in ['## Training data', '## Training configuration', '## Final metrics', '| preset | micro |',
              '| validation loss |', f"metacog {json.loads((run/'config.json').read_text())['metacog_version']}"]:
        assert s in card.text or s in str(card), s

def test_report_reads_words(run):
    "`metacog report` says what was observed in words, and that there were no diagnoses when there were none"
    r = metacog('report', run, cwd=run.parent.parent)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'observed at steps' in r.stdout and 'training loss: ' in r.stdout and 'diagnoses: ' in r.stdout, r.stdout
