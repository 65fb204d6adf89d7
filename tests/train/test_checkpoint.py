"""A run resumed from the checkpoint of epoch k ends as the run trained straight through, to the digit."""

from __future__ import annotations

import pytest
import torch

from unitsearch.train import Checkpoint, CheckpointError, prepare_run, train

_TIMING = ("seconds", "images_per_s")


def _curve(result) -> list[dict]:
    return [{k: v for k, v in m.to_dict().items() if k not in _TIMING} for m in result.curve]


def _straight_and_resumed(unit: str, profile: str, stop_after: int, **settings):
    straight = prepare_run(unit, profile=profile, **settings)
    saved: dict[int, bytes] = {}
    a = train(straight.model, straight.data, straight.config, on_checkpoint=lambda c: saved.setdefault(c.epoch, c.to_bytes()))

    # A fresh process would rebuild the network from the seed, then load the state of epoch k.
    again = prepare_run(unit, profile=profile, **settings)
    ckpt = Checkpoint.from_bytes(saved[stop_after])
    b = train(again.model, again.data, again.config, resume=ckpt)
    return a, b, straight.model, again.model, saved


@pytest.mark.parametrize("unit", ["full_preact", "dropout_shortcut"])
def test_resumed_run_equals_the_straight_run(unit):
    # dropout_shortcut draws masks from torch's global generator: its state is part of the checkpoint.
    a, b, ma, mb, saved = _straight_and_resumed(unit, "smoke", 2, epochs=4, train_size=256)
    assert sorted(saved) == [1, 2, 3, 4]
    assert _curve(a) == _curve(b)
    assert (a.val_error, a.test_error, a.final_train_loss, a.epochs) == (b.val_error, b.test_error, b.final_train_loss, b.epochs)
    for (name, wa), wb in zip(ma.state_dict().items(), mb.state_dict().values(), strict=True):
        assert torch.equal(wa, wb), name


@pytest.mark.slow
def test_resumed_cpu_profile_trial_equals_the_straight_run():
    a, b, ma, mb, _ = _straight_and_resumed("original", "cpu", 3, epochs=5, train_size=640)
    assert _curve(a) == _curve(b) and a.val_error == b.val_error and a.test_error == b.test_error
    assert all(torch.equal(x, y) for x, y in zip(ma.state_dict().values(), mb.state_dict().values(), strict=True))


def test_a_resume_without_the_state_does_not_match():
    # The control: resuming with the epoch count but a fresh optimiser and generator gives other digits.
    run = prepare_run("full_preact", profile="smoke", epochs=4, train_size=256)
    saved = {}
    a = train(run.model, run.data, run.config, on_checkpoint=lambda c: saved.setdefault(c.epoch, c.to_bytes()))
    ckpt = Checkpoint.from_bytes(saved[2])
    fresh = prepare_run("full_preact", profile="smoke", epochs=4, train_size=256)
    fresh.model.load_state_dict(ckpt.model)
    blank = Checkpoint.from_bytes(saved[2])
    blank.optimizer, blank.generator = {"state": {}, "param_groups": blank.optimizer["param_groups"]}, torch.Generator().manual_seed(99).get_state()
    b = train(fresh.model, fresh.data, fresh.config, resume=blank)
    assert _curve(a)[:2] == _curve(b)[:2]  # the stored curve comes back as it was
    assert _curve(a)[2:] != _curve(b)[2:]


def test_unreadable_or_foreign_checkpoints_are_refused():
    with pytest.raises(CheckpointError, match="unreadable"):
        Checkpoint.from_bytes(b"not a checkpoint")
    run = prepare_run("full_preact", profile="smoke", epochs=1, train_size=128)
    saved = []
    train(run.model, run.data, run.config, on_checkpoint=lambda c: saved.append(c))
    saved[0].fingerprint = "a"
    data = saved[0].to_bytes()
    assert Checkpoint.from_bytes(data, fingerprint="a").epoch == 1
    with pytest.raises(CheckpointError, match="another setup"):
        Checkpoint.from_bytes(data, fingerprint="b")
    with pytest.raises(CheckpointError, match="unreadable"):
        Checkpoint.from_bytes(data[: len(data) // 2])
