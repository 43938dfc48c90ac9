"""lessonlib.core.paths: the data folder, from the environment or the checkout."""

from lessonlib.core import paths


def test_the_data_folder_is_the_checkouts_or_the_one_named(monkeypatch, tmp_path):
    monkeypatch.delenv(paths.DATA_DIR_ENV, raising=False)
    assert (paths.data_dir() / "digits.npz").is_file()
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(tmp_path))
    assert paths.data_dir() == tmp_path
