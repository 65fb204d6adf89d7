"""The imagenet profile: the ImageNet recipe (SGD 0.9, wd 1e-4, batch 256, lr 0.1 /10 every 30 epochs, 90 epochs)."""

from __future__ import annotations

import pytest

from unitsearch.train import Warmup, get_profile, lr_at
from unitsearch.train.setup import setup_trial
from unitsearch.units import PRESETS


def test_recipe():
    prof = get_profile("imagenet")
    cfg = prof.train_config()
    assert (cfg.epochs, cfg.batch_size, cfg.lr, cfg.momentum, cfg.weight_decay) == (90, 256, 0.1, 0.9, 1e-4)
    assert (prof.dataset, prof.arch, prof.image_size, prof.depth, prof.width) == ("imagefolder", "imagenet", 224, 152, 64)
    assert prof.val_size is None  # the whole val/ folder


def test_lr_drops_tenfold_at_epochs_30_and_60():
    cfg = get_profile("imagenet").train_config()
    steps = 100  # per epoch
    total = cfg.epochs * steps
    lr = [lr_at(e * steps, total, cfg, warmup=False) for e in (0, 29, 30, 59, 60, 89)]
    assert lr == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001, 0.001])


def test_no_warmup_for_deep_original_imagenet_nets():
    spec = PRESETS["original"].spec
    imagenet = setup_trial(spec, "imagenet", depth=152, width=2, warmup="auto").config
    cifar = setup_trial(spec, "imagenet", depth=110, width=2, arch="cifar", bottleneck=False, warmup="auto").config
    assert imagenet.warmup is Warmup.OFF  # the CIFAR warm-up footnote does not apply to ImageNet
    assert cifar.warmup is Warmup.ON
