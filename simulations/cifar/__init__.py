"""The paper's image empirics (torch only, no torchvision): noisy-label training of image
classifiers with Algorithm 1 (self-distillation) and its baselines.

Modules, one job each: ``data`` (readers + synthetic), ``download``, ``noise`` (label noise and
its report), ``augment`` (batched on-device crop/flip/normalise), ``models``, ``methods``
(losses and the self-distillation target), ``profiles`` and ``config`` (options resolved once),
``train`` (the loop), ``record`` (checkpoints and store rows), ``cli`` / ``train_cli``.
"""
