"Render nbs/index.ipynb to README.md as nbdev-readme lays it out (markdown cells as they are, code cells fenced, hidden cells dropped), for machines without Quarto: `python .ci/readme.py`"
import json, re, sys
from pathlib import Path
root = Path(__file__).resolve().parent.parent
nb = json.loads((root/'nbs/index.ipynb').read_text())
out = []
for c in nb['cells']:
    src = ''.join(c['source'])
    if c['cell_type'] == 'markdown':
        out.append(src)
    elif c['cell_type'] == 'code':
        lines = src.splitlines()
        if any(l.strip() in ('#| hide', '#|hide') for l in lines): continue
        lines = [l for l in lines if not l.startswith('#|')]
        out.append('```python\n' + '\n'.join(lines) + '\n```')
text = '\n\n'.join(out) + '\n'
text = text.replace('<!-- WARNING', '<!-- WARNING')
text = text.replace('](images/', '](nbs/images/')   # the docs' images live beside the notebooks
(root/'README.md').write_text('<!-- This file is generated from nbs/index.ipynb: edit the notebook, not this file. -->\n\n' + text)
print('README.md written', len(text))
