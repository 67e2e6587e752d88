"""Deep Learning from the Foundations (fast.ai 2019 part 2, lessons 8-12) rebuilt as an nbdev course package for current PyTorch

Every module, in course order, with the page that writes it:

- [`course_lib.core`](https://course-lib.github.io/course_lib/00_core.html): Devices, seeding, quick mode and the test helpers that every lesson notebook uses.
- [`course_lib.data`](https://course-lib.github.io/course_lib/00a_data.html): Finds each dataset in the cache, a local mirror or on the internet, checks it, and falls back to the samples shipped with the package.
- [`course_lib.fully_connected`](https://course-lib.github.io/course_lib/02_fully_connected.html): A small MLP's forward pass and gradients by hand, checked against autograd; MSE, and ReLU and Mish as autograd Functions with their own backward.
- [`course_lib.init`](https://course-lib.github.io/course_lib/02a_why_sqrt5.html): Kaiming's gain for leaky ReLUs and a hand-written Kaiming init: why PyTorch's default conv init shrinks activations layer after layer.
- [`course_lib.training`](https://course-lib.github.io/course_lib/03_minibatch_training.html): The training loop of lesson 9: `normalize`, `accuracy`, `ArrayDataset`, `get_dls`, `get_model` and `fit`, plus the `DataBunch` and `TrainingBundle` containers of notebook 04.
- [`course_lib.callbacks`](https://course-lib.github.io/course_lib/04_callbacks.html): A `CallbackRunner` owns the training loop and calls small callback classes at each of its events; `AvgStatsCallback` and `Recorder` measure what happens.
- [`course_lib.schedules`](https://course-lib.github.io/course_lib/05_anneal.html): Schedules for hyperparameters (`sched_lin`, `sched_cos`, `combine_scheds`, one-cycle) and a `ParamScheduler` callback that applies them; `Recorder` records and plots what was used.
- [`course_lib.loop`](https://course-lib.github.io/course_lib/05b_early_stopping.html): The training loop of lesson 10: callbacks cancel a batch, a pass, an epoch or the whole fit by raising an exception, and every callback hears every event; then a learning rate finder and early stopping built on it.
- [`course_lib.cnn`](https://course-lib.github.io/course_lib/06_cuda_cnn_hooks_init.html): Convolutions as matrix products; the layers, builder, `GeneralRelu` and Kaiming init of a CNN for MNIST; and hooks that watch each layer's activations as it trains.
- [`course_lib.norms`](https://course-lib.github.io/course_lib/07_batchnorm.html): Normalisation layers from scratch (batch, layer, instance and group norm, a running batch norm for small batches, spectral norm), each checked against PyTorch and compared on MNIST.
- [`course_lib.lsuv`](https://course-lib.github.io/course_lib/07a_lsuv.html): Layer-sequential unit-variance init: hooks measure each layer's outputs on one batch, and its weights and shift are set until they have mean 0 and standard deviation 1.
- [`course_lib.data_block`](https://course-lib.github.io/course_lib/08_data_block.html): From a folder of image files to batches a model can train on: file lists, item lists, splitters, labellers, processors, transforms and a `DataBunch`, written from scratch.
- [`course_lib.optimizers`](https://course-lib.github.io/course_lib/09_optimizers.html): A generic optimizer built from small steppers: SGD, L2 regularisation and weight decay, momentum, Adam, AdamW and LAMB, each checked step for step against `torch.optim`.
- [`course_lib.learner`](https://course-lib.github.io/course_lib/09b_learner.html): One object for all of training: model, data, loss, optimizer and lesson 10's loop, with metrics, schedules, checkpoints and callbacks that can take over any step of a batch.
- [`course_lib.progress`](https://course-lib.github.io/course_lib/09c_add_progress_bar.html): Progress for every fit: fastprogress bars and a live metrics table in Jupyter, plain lines in a terminal or log, nothing in quiet mode; one environment variable chooses.
- [`course_lib.all`](https://course-lib.github.io/course_lib/09d_front_door.html): One import for scripts: the final `Learner` and everything it needs, from `course_lib.all`.
- [`course_lib.augment`](https://course-lib.github.io/course_lib/10_augmentation.html): Random flips, crops and perspective warps of single images with PIL, then random rotations, zooms and flips of a whole batch at once on the device with `affine_grid` and `grid_sample`.
- [`course_lib.mixup`](https://course-lib.github.io/course_lib/10b_mixup_label_smoothing.html): Two ways to stop a classifier from becoming overconfident: label smoothing, checked against PyTorch's, and MixUp and CutMix as callbacks that take over the Learner's loss step.
- [`course_lib.fp16`](https://course-lib.github.io/course_lib/10c_fp16.html): Training in half precision from scratch (a float16 model, float32 master weights, dynamic loss scaling), then `MixedPrecision`, a `Learner` callback on `torch.amp` that uses bfloat16 on a CPU and float16 or bfloat16 on a GPU.
- [`course_lib.xresnet`](https://course-lib.github.io/course_lib/11_train_imagenette.html): The Bag of Tricks ResNet (XResNet) built from its parts, its parameter counts checked against the architecture, a summary of its output shapes, and one-cycle training on Imagenette with label smoothing and mixed precision.
- [`course_lib.transfer`](https://course-lib.github.io/course_lib/11a_transfer_learning.html): Reuse the XResNet trained on Imagenette for Imagewoof's dog breeds: a new head with concat pooling, a frozen body whose batch norms still train, discriminative learning rates, and a comparison with training from scratch.
- [`course_lib.distributed`](https://course-lib.github.io/course_lib/11b_distributed.html): DistributedDataParallel for the Learner: one process per GPU, started by torchrun, each step the same as on one device.
- [`course_lib.train`](https://course-lib.github.io/course_lib/11c_train_script.html): `python -m course_lib.train`: one command that trains with the Learner in one process, or in several under `torchrun --nproc_per_node N`.
- [`course_lib.text`](https://course-lib.github.io/course_lib/12_text.html): From raw reviews to batches of numbers: reading texts, spaCy tokenisation with the course's pre and post rules, a vocabulary, the language-model loader and, for classification, sortish batches with padding.
- [`course_lib.awd_lstm`](https://course-lib.github.io/course_lib/12a_awd_lstm.html): An LSTM written from scratch and checked against `nn.LSTM`, then the dropouts, regularisers and training callbacks of the AWD-LSTM language model.
- [`course_lib.lm`](https://course-lib.github.io/course_lib/12b_lm_pretrain.html): The first step of ULMFiT: an AWD-LSTM learns to predict the next word of general English text; its perplexity is measured on held-out Wikipedia articles, and its weights and vocabulary are saved for fine-tuning on IMDB.
- [`course_lib.ulmfit`](https://course-lib.github.io/course_lib/12c_ulmfit.html): Fine-tune a pretrained AWD-LSTM language model on IMDB reviews, then train a sentiment classifier on top of it: concat pooling over packed sequences, gradual unfreezing and discriminative learning rates.
- [`course_lib.tools.notebooks`](https://course-lib.github.io/course_lib/90_tools_notebooks.html): Runs lesson notebooks in a real Jupyter kernel, in order, and reports status, time, device and each notebook's headline number.
- [`course_lib.tools.cli`](https://course-lib.github.io/course_lib/91_tools_cli.html): `course-lib run`, `course-lib data`, `course-lib notebooks` and `course-lib docs`: the course from a terminal.
- [`course_lib.tools.docs`](https://course-lib.github.io/course_lib/92_tools_docs.html): Turns the notebooks into the README and the documentation site, from their stored outputs.
- [`course_lib.tools.practice`](https://course-lib.github.io/course_lib/93_tools_practice.html): Practice copies of the lesson notebooks with the code left for you to write, and a checker that runs the course's own checks on what you wrote.

Modules:

- `course_lib.tools.docs`: Turns the notebooks into the README and the documentation site, from their stored outputs."""

__version__ = "0.1.0"

import sys as _sys
# The data layer unpacks archives with tarfile's filter='data' (PEP 706), which arrived in Python 3.11.4.
if _sys.version_info < (3, 11, 4):
    _found = '.'.join(map(str, _sys.version_info[:3]))
    raise ImportError(f"course_lib needs Python 3.11.4 or newer (this is {_found}): "
                      "install a newer Python, then reinstall course_lib there.")
