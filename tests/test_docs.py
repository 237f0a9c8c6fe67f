"""The docs: every public symbol of the library has a docstring and an entry (`show_doc`) on its notebook's page.

The library is what `metacog.all` re-exports plus every module of layers 0-6 (tests/test_layers.py's layers; not the
command line, the benchmarks or the test fixtures). A public symbol is a function or class named in a module's
`__all__` and defined there; a class's public methods (its own, including those added with `@patch`) need docstrings
too (an override may inherit the docstring of the method it overrides, as `inspect.getdoc` does), except fastai's callback events (`before_fit`, `after_batch`, ...), which fastai documents.

The entries are found with nbdev's own processor (`add_show_docs`, the step of `nbdev-docs` that adds a `show_doc`
cell after each exported definition), without executing anything; `.ci/run` executes them (`nbdev-proc-nbs`) and
runs `python tests/test_docs.py PROC_DIR`, which checks the processed pages hold each entry, rendered."""
import ast, importlib, inspect, json, re, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_layers import MODULES, layer

def _all_imports():
    "The modules `metacog/all.py` re-exports"
    tree = ast.parse((ROOT/'metacog'/'all.py').read_text())
    return {n.module.split('.')[1] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module and n.module.startswith('metacog.')}

LIBRARY = sorted(_all_imports() | {m for m in MODULES if layer(m) is not None and layer(m) < 7 and m != 'test_utils'})

def _events():
    "fastai's callback event names (fastai documents them; a callback implements them)"
    from fastai.callback.core import event
    return {k for k in vars(event) if not k.startswith('_')}

def _own_doc(o):
    "The docstring `o` was written with (a dataclass's generated `Name(field, ...)` signature is not one)"
    if isinstance(o, property): return (o.__doc__ or '').strip() or None   # `doc=`, else its getter's docstring
    f = getattr(o, '__func__', o)
    d = f.__dict__.get('__doc__') if inspect.isclass(f) else getattr(f, '__doc__', None)
    if inspect.isclass(f) and d and d.startswith(f.__name__ + '('): return None
    return (d or '').strip() or None

def public_symbols(mod):
    "`(name, object)` for each function and class in `mod.__all__` that `mod` defines"
    m = importlib.import_module(f'metacog.{mod}')
    for n in getattr(m, '__all__', []):
        o = getattr(m, n, None)
        if (inspect.isfunction(o) or inspect.isclass(o)) and getattr(o, '__module__', None) == m.__name__: yield n, o

def public_methods(cls):
    "`(name, member)` of the public methods and properties `cls` defines itself"
    for n, o in vars(cls).items():
        if n.startswith('_'): continue
        if inspect.isfunction(o) or isinstance(o, (property, classmethod, staticmethod)): yield n, o

def method_doc(cls, name):
    "The docstring of method `name` of `cls`, or of the method it overrides (as `inspect.getdoc` inherits it)"
    for c in cls.__mro__:
        if name in vars(c) and (d := _own_doc(vars(c)[name])): return d

def missing_docstrings(mod):
    "The public names of `mod` (and `Class.method`s) without a docstring"
    ev, out = _events(), []
    for n, o in public_symbols(mod):
        if _own_doc(o) is None: out.append(n)
        if inspect.isclass(o):
            out += [f'{n}.{k}' for k, f in public_methods(o) if k not in ev and method_doc(o, k) is None]
    return out

@pytest.mark.parametrize('mod', LIBRARY)
def test_public_symbols_have_docstrings(mod):
    assert missing_docstrings(mod) == [], f"metacog.{mod}: public symbols without a docstring"

def notebook_of(mod):
    "The notebook in nbs/ whose `#| default_exp` is `mod`"
    for p in sorted((ROOT/'nbs').glob('*.ipynb')):
        for c in json.loads(p.read_text())['cells']:
            if c['cell_type'] == 'code' and re.search(rf'^#\|\s*default_exp\s+{re.escape(mod)}\s*$', ''.join(c['source']), re.M): return p

def doc_entries(nb_path):
    "The names nbdev's docs pipeline gives a `show_doc` entry in `nb_path` (explicit `show_doc` cells and the ones it adds)"
    from fastcore.nbio import read_nb
    from nbdev.process import NBProcessor
    from nbdev.processors import add_show_docs, _show_docs, _get_nm
    nb = read_nb(nb_path)
    NBProcessor(nb=nb, procs=[add_show_docs], rm_directives=False).process()
    trees = [t for c in nb.cells if c.cell_type == 'code' for t in (c.parsed_() or [])]
    return {_get_nm(t) for t in _show_docs(trees)}

def missing_entries(mod, entries=None):
    "The public names of `mod` without a `show_doc` entry (in `entries`, default: `doc_entries` of its notebook)"
    if entries is None: entries = doc_entries(notebook_of(mod))
    return [n for n, _ in public_symbols(mod) if n not in entries]

@pytest.mark.parametrize('mod', LIBRARY)
def test_public_symbols_have_doc_entries(mod):
    assert notebook_of(mod) is not None, f"no notebook in nbs/ exports metacog.{mod}"
    assert missing_entries(mod) == [], f"metacog.{mod}: public symbols without a show_doc entry in {notebook_of(mod).name}"

def test_the_checks_find_gaps():
    "Not vacuous: an undocumented function, an undocumented method and a dataclass without a docstring are found"
    import types, dataclasses
    m = types.ModuleType('metacog._doc_probe')
    exec("import dataclasses\n__all__ = ['f', 'g', 'C', 'D', 'K', 'E']\n"
         "def f(): 'documented'\ndef g(): pass\n"
         "class C:\n  'documented'\n  def ok(self): 'yes'\n  def bad(self): pass\n  def before_fit(self): pass\n  def _private(self): pass\n"
         "class E(C):\n  'documented'\n  def ok(self): pass\n"
         "@dataclasses.dataclass\nclass D:\n  x: int = 0\n"
         "class K:\n  'documented'\n  @property\n  def p(self): return 1\n  q = property(lambda self: 1)\n  r = property(lambda self: 1, doc='yes')\n", m.__dict__)
    sys.modules['metacog._doc_probe'] = m
    try:
        assert missing_docstrings('_doc_probe') == ['g', 'C.bad', 'D', 'K.p', 'K.q']
        assert missing_entries('_doc_probe', {'f', 'C', 'K', 'E'}) == ['g', 'D']
    finally: del sys.modules['metacog._doc_probe']

def test_doc_entries_read_the_notebooks():
    "nbdev adds an entry after each exported definition: metacog.core's page has `check`, and a patched method's `Class.method`"
    e = doc_entries(notebook_of('growth'))
    assert {'hf_model', 'GrowthCallback', 'Recipe.weight'} <= e, sorted(e)[:20]

def test_sidebar_lists_every_page():
    "nbs/sidebar.yml (a custom sidebar: nbdev does not rewrite it) names every notebook, tutorials included, and only those"
    listed = re.findall(r'^\s*-\s*(\S+\.ipynb)\s*$', (ROOT/'nbs'/'sidebar.yml').read_text(), re.M)
    pages = sorted(str(p.relative_to(ROOT/'nbs')) for p in (ROOT/'nbs').rglob('*.ipynb')
                   if not any(part.startswith(('.', '_')) for part in p.relative_to(ROOT/'nbs').parts))
    assert sorted(set(listed)) == pages, f"missing: {set(pages) - set(listed)}, not found: {set(listed) - set(pages)}"
    assert len(listed) == len(set(listed)), "a page is listed twice"
    assert {'tutorials/quickstart.ipynb', 'tutorials/diagnose_your_run.ipynb', 'tutorials/grow_ages.ipynb'} <= set(listed)

def rendered_entries(proc_nb):
    "Names whose `show_doc` cell ran and rendered (a markdown heading `### name`) in a notebook processed by `nbdev-proc-nbs`"
    nb = json.loads(Path(proc_nb).read_text())
    out = set()
    for c in nb['cells']:
        if c['cell_type'] != 'code' or 'show_doc(' not in ''.join(c['source']): continue
        for o in c.get('outputs', []):
            md = ''.join(o.get('data', {}).get('text/markdown', ''))
            out |= set(re.findall(r'^#+ (\S+)\s*$', md, re.M))
    return out

if __name__ == '__main__':
    # python tests/test_docs.py PROC_DIR: every public symbol has a rendered entry in the processed notebooks of PROC_DIR
    proc, bad = Path(sys.argv[1]), {}
    for mod in LIBRARY:
        nb = notebook_of(mod)
        miss = missing_entries(mod, rendered_entries(proc/nb.name)) if nb and (proc/nb.name).exists() else ['(no processed notebook)']
        if miss: bad[mod] = miss
    n = sum(len(list(public_symbols(m))) for m in LIBRARY)
    if bad:
        for m, v in bad.items(): print(f"FAIL: metacog.{m}: no rendered show_doc entry for {', '.join(v)}")
        sys.exit(1)
    print(f"docs: {n} public symbols of {len(LIBRARY)} modules, each with a rendered show_doc entry")
