"""lessonlib.core.paths: the data folder, from the environment, the checkout or a handout."""

from lessonlib.core import paths


def test_the_data_folder_is_the_checkouts_or_the_one_named(monkeypatch, tmp_path):
    monkeypatch.delenv(paths.DATA_DIR_ENV, raising=False)
    assert (paths.data_dir() / "digits.npz").is_file()
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(tmp_path))
    assert paths.data_dir() == tmp_path


def test_an_installed_lessonlib_finds_a_handouts_data_beside_the_notebooks(monkeypatch,
                                                                         tmp_path):
    installed = tmp_path / "site-packages" / "lessonlib" / "core" / "paths.py"
    monkeypatch.setattr(paths, "__file__", str(installed))      # no checkout around it
    monkeypatch.delenv(paths.DATA_DIR_ENV, raising=False)
    handout = tmp_path / "handout"
    (handout / "data").mkdir(parents=True)
    (handout / "notebooks").mkdir()
    monkeypatch.chdir(handout / "notebooks")
    assert paths.data_dir() == tmp_path / "site-packages" / "data"         # none yet
    (handout / "data" / "digits.npz").write_bytes(b"")
    assert paths.data_dir() == handout / "data"
