"""Options shared by every compiled (numba) kernel of geo/.

``cache``: compiled code is kept in ``__pycache__`` (the first call of a fresh checkout
compiles, later processes load it). ``nogil``: a kernel lets other threads run.
``error_model="numpy"``: a float division by zero gives inf/nan as in numpy instead of
raising; the kernels guard every division that can meet a zero, and without the check
per division LLVM can vectorise their loops. No fastmath: the kernels give the same
floating-point results as the plain arithmetic they replace.
"""

JIT = {"cache": True, "nogil": True, "error_model": "numpy"}
