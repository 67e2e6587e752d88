"""Deep Learning from the Foundations (fast.ai 2019 part 2, lessons 8-12) rebuilt as an nbdev course package for current PyTorch

Modules:

- `course_lib.distributed`: DistributedDataParallel for the Learner: one process per GPU, started by torchrun, each step the same as on one device.
- `course_lib.fully_connected`: A small MLP's forward pass and gradients by hand, checked against autograd; MSE, and ReLU and Mish as autograd Functions with their own backward.
- `course_lib.init`: Kaiming's gain for leaky ReLUs and a hand-written Kaiming init: why PyTorch's default conv init shrinks activations layer after layer.
- `course_lib.tools.docs`: Turns the notebooks into the README and the documentation site, from their stored outputs.
- `course_lib.train`: `python -m course_lib.train`: one command that trains with the Learner in one process, or in several under `torchrun --nproc_per_node N`."""

__version__ = "0.1.0"

import sys as _sys
# The data layer unpacks archives with tarfile's filter='data' (PEP 706), which arrived in Python 3.11.4.
if _sys.version_info < (3, 11, 4):
    _found = '.'.join(map(str, _sys.version_info[:3]))
    raise ImportError(f"course_lib needs Python 3.11.4 or newer (this is {_found}): "
                      "install a newer Python, then reinstall course_lib there.")
