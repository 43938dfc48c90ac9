import numpy as np
import pytest

from lessonlib.core import data


def test_digits_shapes_scale_and_split_sizes():
    d = data.load_digits()
    assert d.train.X.shape == (64, 1079) and d.val.X.shape == (64, 359)
    assert d.test.X.shape == (64, 359)
    for part in (d.train, d.val, d.test):
        assert part.y.shape == (part.m,) and part.y.dtype == np.int64
        assert part.X.min() >= 0 and part.X.max() <= 1
        # stratified: every class present in roughly its share
        assert np.bincount(part.y, minlength=10).min() >= 0.08 * part.m


def test_digits_splits_are_fixed_and_partition_the_data():
    a, b = data.load_digits(), data.load_digits()
    assert np.array_equal(a.train.X, b.train.X) and np.array_equal(a.test.y, b.test.y)
    rows = np.concatenate([np.column_stack([np.rint(p.X.T * 16), p.y])
                           for p in (a.train, a.val, a.test)])
    with np.load(data.data_dir() / data.DIGITS_FILE) as npz:
        source = np.column_stack([npz["pixels"], npz["labels"]]).astype(float)
    # the three splits together hold every (image, label) row of the source exactly once
    assert np.array_equal(rows[np.lexsort(rows.T)], source[np.lexsort(source.T)])


def test_digits_float32():
    assert data.load_digits(dtype=np.float32).train.X.dtype == np.float32


def test_missing_file_gives_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("LESSONLIB_DATA_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="digits data file is missing"):
        data.load_digits()


def test_damaged_file_gives_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("LESSONLIB_DATA_DIR", str(tmp_path))
    (tmp_path / "digits.npz").write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="damaged"):
        data.load_digits()
    np.savez_compressed(tmp_path / "digits.npz", pixels=np.zeros((1797, 64), np.uint8),
                        labels=np.zeros(1797, np.uint8))
    with pytest.raises(ValueError, match="checksum"):
        data.load_digits()


@pytest.mark.parametrize("kwargs, exc, word", [
    ({"val_fraction": 1.5}, ValueError, "val_fraction"),
    ({"val_fraction": 0.6, "test_fraction": 0.5}, ValueError, "val_fraction"),
    ({"dtype": np.int32}, TypeError, "dtype"),
])
def test_load_digits_bad_arguments(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        data.load_digits(**kwargs)


@pytest.mark.parametrize("make", [data.make_blobs, data.make_spirals])
def test_synthetic_sets_are_seeded_and_in_course_shapes(make):
    X, y = make(50, 4, rng=np.random.default_rng(3))
    X2, y2 = make(50, 4, rng=np.random.default_rng(3))
    assert X.shape == (2, 200) and y.shape == (200,)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    assert np.array_equal(np.bincount(y), [50] * 4)


def test_blobs_are_centred_on_their_circle():
    X, y = data.make_blobs(2000, 3, spread=0.1, radius=2.0, rng=np.random.default_rng(0))
    means = np.stack([X[:, y == c].mean(axis=1) for c in range(3)])
    assert np.allclose(np.linalg.norm(means, axis=1), 2.0, atol=0.02)


@pytest.mark.parametrize("args, kwargs, exc, word", [
    ((0,), {}, ValueError, "n_per_class"),
    ((10, 1), {}, ValueError, "n_classes"),
    ((10.5,), {}, TypeError, "n_per_class"),
    ((10,), {"rng": 0}, TypeError, "rng"),
])
def test_synthetic_bad_arguments(args, kwargs, exc, word):
    kwargs = {"rng": np.random.default_rng(0), **kwargs}
    for make in (data.make_blobs, data.make_spirals):
        with pytest.raises(exc, match=word):
            make(*args, **kwargs)
