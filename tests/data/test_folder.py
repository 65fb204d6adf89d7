"""Image folders through torchvision's ImageFolder: loading, batches, and one-line errors for bad folders."""

from __future__ import annotations

import pytest
import torch

from unitsearch.data import DataError, FolderData, eval_batches, load_data, train_batches


def _load(root, **kw):
    return load_data("imagefolder", data_dir=root, image_size=16, **kw)


def test_reads_train_and_val_by_class(image_tree):
    data = _load(image_tree)
    assert isinstance(data, FolderData)
    assert data.classes == ("cat", "dog", "fox") and data.num_classes == 3
    assert (data.n_train, data.n_val, data.n_test) == (12, 6, 0)
    assert sorted(t for _, t in data.val_samples) == [0, 0, 1, 1, 2, 2]


def test_batches_have_the_chosen_size_and_are_seeded(image_tree):
    data = _load(image_tree)
    data.workers = 0  # in-process decoding draws its crops from torch's global generator, which the trainer seeds

    def epoch():
        torch.manual_seed(0)
        return list(train_batches(data, 5, generator=torch.Generator().manual_seed(1)))

    first, again = epoch(), epoch()
    assert [x.shape for x, _ in first] == [(5, 3, 16, 16), (5, 3, 16, 16), (2, 3, 16, 16)]
    assert sorted(torch.cat([y for _, y in first]).tolist()) == sorted(t for _, t in data.train_samples)
    for (x1, y1), (x2, y2) in zip(first, again):
        assert torch.equal(y1, y2) and torch.equal(x1, x2)
    # Normalised with the ImageNet statistics: roughly centred, clearly not 0..1 pixels.
    assert first[0][0].min() < 0 < first[0][0].max()


def test_eval_is_resize_and_centre_crop_in_order(image_tree):
    data = _load(image_tree)
    data.workers = 0
    a = list(eval_batches(data, "val", 4, channels_last=True))
    b = list(eval_batches(data, "val", 4))
    assert [y.tolist() for _, y in a] == [[0, 0, 1, 1], [2, 2]]
    assert a[0][0].is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(a[0][0], b[0][0])


def test_worker_processes_give_the_same_eval_batches(image_tree):
    data = _load(image_tree)
    with_workers = [x for x, _ in eval_batches(data, "val", 4)]
    data.workers = 0
    in_process = [x for x, _ in eval_batches(data, "val", 4)]
    assert data.to("cpu").workers == 0
    for x, y in zip(with_workers, in_process):
        torch.testing.assert_close(x, y)


def test_caps_draw_from_every_class_and_the_fingerprint_follows_the_files(image_tree, make_image_tree, tmp_path):
    capped = _load(image_tree, train_size=6, val_size=3)
    assert (capped.n_train, capped.n_val) == (6, 3)
    assert len({t for _, t in capped.train_samples}) > 1  # not the head of a class-sorted list
    same = _load(make_image_tree(tmp_path / "copy"))
    assert same.fingerprint == _load(image_tree).fingerprint  # paths are hashed relative to the folder
    (image_tree / "train" / "cat" / "0.png").write_bytes((image_tree / "train" / "dog" / "0.png").read_bytes() + b"x")
    assert _load(image_tree).fingerprint != same.fingerprint


def _one_line(exc_info) -> str:
    msg = str(exc_info.value)
    assert "\n" not in msg
    return msg


def test_missing_folder_and_data_dir(tmp_path):
    with pytest.raises(DataError) as info:
        _load(tmp_path / "nowhere")
    assert "does not exist" in _one_line(info)
    with pytest.raises(DataError) as info:
        _load(None)
    assert "needs --data-dir" in _one_line(info)


def test_missing_split(image_tree):
    import shutil

    shutil.rmtree(image_tree / "val")
    with pytest.raises(DataError) as info:
        _load(image_tree)
    assert "has no val/ directory" in _one_line(info)


def test_empty_class_names_the_folder(image_tree):
    (image_tree / "train" / "owl").mkdir()
    (image_tree / "val" / "owl").mkdir()
    (image_tree / "val" / "owl" / "0.png").write_bytes((image_tree / "val" / "cat" / "0.png").read_bytes())
    with pytest.raises(DataError) as info:
        _load(image_tree)
    msg = _one_line(info)
    assert "train/owl holds no images" in msg and ".png" in msg


def test_mismatched_classes_are_listed(image_tree):
    (image_tree / "val" / "fox").rename(image_tree / "val" / "wolf")
    with pytest.raises(DataError) as info:
        _load(image_tree)
    msg = _one_line(info)
    assert "only in train: fox" in msg and "only in val: wolf" in msg


def test_unreadable_image_is_named(image_tree):
    (image_tree / "train" / "dog" / "9.png").write_bytes(b"not a png at all")
    with pytest.raises(DataError) as info:
        _load(image_tree)
    assert "train/dog/9.png cannot be read" in _one_line(info)
