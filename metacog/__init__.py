__version__ = "0.1.0"

import warnings as _w
# fastai's layers call `torch.jit.script` at import time, which PyTorch 2.10+ deprecates: a FutureWarning on every command
# that no user can act on. Silenced for that one message; remove once fastai stops scripting at import.
_w.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)
