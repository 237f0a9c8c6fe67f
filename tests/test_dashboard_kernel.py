"The dashboard in a real Jupyter kernel (issue 15): a notebook trains a few steps with it on, and the widget state it leaves is checked."
import json, os
from pathlib import Path
import nbformat
from nbclient import NotebookClient

DOC_IMAGES = os.environ.get('METACOG_DOC_IMAGES')   # a folder: also save a dashboard frame there (nbs/images for the docs)

CELLS = [
    "import torch; torch.set_num_threads(1)\nfrom metacog.all import *\nfrom metacog.test_utils import toy_learner, ActAt",
    # no dashboard argument: in a kernel, with metacog.dashboard imported, metacog_learner turns it on
    "learn = toy_learner(layers=2, cbs=[Introspector(level=2, every=2), ModifyCallback(), ActAt(5, 'lr_down', factor=0.5)])\nlearn.fit(2, 3e-3)",
    "import json\nd = learn.dashboard\n"
    "print(json.dumps(dict(mode=d.mode, tabs=[d.tabs.get_title(i) for i in range(len(d.tabs.children))],\n"
    "    n_train=len(d.lines['train'].get_xdata()), n_valid=len(d.lines['valid'].get_xdata()),\n"
    "    actions=[(a['step'], a['action'], a['status']) for a in d.acted], table='lr_down' in d.html['actions'].value,\n"
    "    png=d.images['loss'].value[:4] == b'\\x89PNG', header=d.header.value, model_id=d.widget.model_id,\n"
    "    grad_layers=len(d.lines['grad'][1]), grad_steps=len(d.lines['grad'][0]), heads=list(d.lines['attn'].shape))))",
]

def test_dashboard_in_a_kernel(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    if DOC_IMAGES: nb.cells.append(nbformat.v4.new_code_cell(f"learn.dashboard.save({str(Path(DOC_IMAGES).resolve()/'dashboard_frame.png')!r})"))
    NotebookClient(nb, timeout=300, kernel_name='python3', resources=dict(metadata=dict(path=str(tmp_path)))).execute()
    shown = [o for o in nb.cells[1].outputs if 'application/vnd.jupyter.widget-view+json' in o.get('data', {})]
    state = json.loads(next(o['text'] for o in nb.cells[2].outputs if o.get('name') == 'stdout'))
    assert len(shown) == 1 and shown[0]['data']['application/vnd.jupyter.widget-view+json']['model_id'] == state['model_id']
    assert state['mode'] == 'widget' and state['tabs'] == ['loss', 'diagnoses', 'actions', 'layers']
    assert state['n_train'] == 16 and state['n_valid'] == 2          # 2 epochs of 8 steps; one point per evaluation
    assert state['actions'] == [[5, 'lr_down', 'in flight']] and state['table'] and state['png']
    assert 'step 16' in state['header']
    assert state['grad_layers'] >= 2 and state['grad_steps'] == 8 and state['heads'] == [2, 2]   # every 2nd step; 2 layers x 2 heads
