import json

from simulator.cli import main


def test_list_json_is_one_object(capsys):
    assert main(["list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert "cascades" in data and "targets" in data


def test_unknown_catalogue_is_one_line_error(capsys):
    assert main(["list", "nonsense"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "nonsense" in err and "Traceback" not in err
