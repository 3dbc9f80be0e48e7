import pytest
import sweep_toy


@pytest.fixture(autouse=True)
def toy_kind(tmp_path):
    sweep_toy.register()
    sweep_toy.write_targets(tmp_path)
