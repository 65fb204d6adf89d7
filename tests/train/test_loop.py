from __future__ import annotations

import math

import pytest
import torch

from unitsearch.data import load_data
from unitsearch.errors import UserError
from unitsearch.models import build_resnet
from unitsearch.train import PROFILES, Schedule, TrainConfig, Warmup, apply_overrides, lr_at, resolve_device, train
from unitsearch.train.setup import setup_trial
from unitsearch.units import PRESETS


@pytest.fixture(scope="module")
def data():
    return load_data("synthetic", image_size=16, train_size=512, val_size=256, test_size=256, seed=0)


def _run(data, preset="full_preact", **cfg):
    torch.manual_seed(cfg.get("seed", 0))
    model = build_resnet(PRESETS[preset].spec, depth=8, width=4, num_classes=data.num_classes)
    seen = []
    result = train(model, data, TrainConfig(**{"epochs": 2, "batch_size": 64, **cfg}), callback=seen.append)
    return result, seen


def test_same_seed_gives_the_same_metrics_to_the_last_digit(data):
    a, _ = _run(data, seed=3)
    b, _ = _run(data, seed=3)
    c, _ = _run(data, seed=4)
    strip = lambda r: [(m.train_loss, m.train_acc, m.val_loss, m.val_error) for m in r.curve]  # noqa: E731
    assert strip(a) == strip(b)
    assert a.test_error == b.test_error
    assert strip(a) != strip(c)


@pytest.mark.slow
def test_loss_falls(data):
    # 128 steps: the tiny ResNet-8 of width 4 needs them to get clear of chance on the synthetic data
    result, _ = _run(data, epochs=8, lr=0.1, batch_size=32)
    losses = [m.train_loss for m in result.curve]
    assert result.status == "complete"
    assert losses[-1] < losses[0] - 0.1
    assert result.val_error < 90.0  # better than chance on 10 classes


def test_callback_sees_every_epoch_and_can_stop_the_run(data):
    result, seen = _run(data, epochs=3)
    assert [m.epoch for m in seen] == [1, 2, 3] == [m.epoch for m in result.curve]
    assert all(m.images_per_s > 0 and m.seconds > 0 for m in seen)

    class Stop(Exception):
        pass

    def stop(m):
        raise Stop

    model = build_resnet(PRESETS["original"].spec, depth=8, width=4)
    with pytest.raises(Stop):
        train(model, data, TrainConfig(epochs=3, batch_size=64), callback=stop)


def test_a_blown_up_loss_is_a_result_not_a_crash(data):
    result, seen = _run(data, preset="original", lr=1e4, check_every=2, epochs=3)
    assert result.status == "diverged"
    assert "diverged" in result.reason
    assert result.val_error == pytest.approx(90.0)  # chance on 10 classes
    assert result.test_error is None


def test_step_schedule_warmup_and_cosine():
    cfg = TrainConfig(epochs=10, lr=0.1, warmup_iters=5)
    assert lr_at(0, 100, cfg, warmup=True) == 0.01
    assert lr_at(5, 100, cfg, warmup=True) == 0.1
    assert lr_at(49, 100, cfg, warmup=False) == 0.1
    assert lr_at(50, 100, cfg, warmup=False) == pytest.approx(0.01)
    assert lr_at(75, 100, cfg, warmup=False) == pytest.approx(0.001)
    cos = TrainConfig(schedule=Schedule.COSINE)
    assert lr_at(0, 100, cos, warmup=False) == pytest.approx(0.1)
    assert lr_at(50, 100, cos, warmup=False) == pytest.approx(0.05)


def use_warmup(unit: str, **settings) -> bool:
    """Whether the trial setup gives ``unit`` the paper's warm-up (it decides ``auto``)."""
    return setup_trial(PRESETS[unit].spec, "smoke", **settings).config.warmup is Warmup.ON


def test_warmup_is_on_for_deep_original_units_only():
    assert TrainConfig().warmup is Warmup.AUTO
    assert use_warmup("original", depth=110, width=2)
    assert not use_warmup("full_preact", depth=110, width=2)
    assert not use_warmup("original", depth=20, width=2)
    assert use_warmup("full_preact", depth=8, width=2, warmup=Warmup.ON)


def test_paper_recipe_is_the_default():
    cfg = TrainConfig()
    assert (cfg.lr, cfg.momentum, cfg.weight_decay, cfg.batch_size) == (0.1, 0.9, 1e-4, 128)
    assert cfg.milestones == (0.5, 0.75) and cfg.epochs == 164
    assert PROFILES["paper"].depth == 110 and PROFILES["paper"].dataset == "cifar10"


@pytest.mark.parametrize("overrides, needle", [({"lr_max": 1}, "unknown train setting 'lr_max'"), ({"epochs": "many"}, "bad train setting"), ({"epochs": 0}, "epochs must be in [1, 100000], got 0"), ({"schedule": "linear"}, "bad train setting")])
def test_bad_overrides_are_one_line(overrides, needle):
    with pytest.raises(UserError) as info:
        apply_overrides(TrainConfig(), overrides)
    assert needle in str(info.value)


@pytest.mark.parametrize("text, needle", [("gpu", "allowed: auto, cpu, cuda, cuda:N, mps"), ("cuda:7", "cuda")])
def test_bad_devices(text, needle):
    if text.startswith("cuda") and torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(UserError, match=needle):
        resolve_device(text)
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")


def test_channels_last_gives_the_same_result_up_to_rounding(data):
    a, _ = _run(data, channels_last=True, epochs=1)
    b, _ = _run(data, channels_last=False, epochs=1)
    assert math.isclose(a.curve[0].train_loss, b.curve[0].train_loss, rel_tol=1e-3)


def test_stop_is_asked_before_every_step_and_ends_training_at_once(data):
    asked = []

    def stop():
        asked.append(True)
        return len(asked) == 10  # 8 steps per epoch: the second step of epoch 2

    seen = []
    model = build_resnet(PRESETS["full_preact"].spec, depth=8, width=4)
    with pytest.raises(KeyboardInterrupt):
        train(model, data, TrainConfig(epochs=3, batch_size=64), callback=seen.append, stop=stop)
    assert len(asked) == 10
    assert [m.epoch for m in seen] == [1]


def test_the_warm_up_ends_once_training_error_is_below_its_bar_as_the_paper_did():
    from unitsearch.data import load_data
    from unitsearch.models import ResNetConfig, build_resnet
    from unitsearch.units import PRESETS

    data = load_data("synthetic", image_size=8, train_size=400, val_size=100)
    last_lr = {}
    for bar in (100.0, 0.0):  # every window's error is below 100%, none below 0%
        torch.manual_seed(0)
        model = build_resnet(PRESETS["full_preact"].spec, ResNetConfig(depth=8, width=4))
        cfg = TrainConfig(epochs=1, batch_size=20, milestones=(), warmup="on", warmup_iters=1000, warmup_error=bar,
                          check_every=5, augment=False)
        last_lr[bar] = train(model, data, cfg).curve[-1].lr
    assert last_lr == {100.0: 0.1, 0.0: 0.01}  # ended after the first window / still warming at the end
