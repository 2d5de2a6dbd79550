"""write_json_atomic: a reader sees the old file or the whole new one, in the indentation asked for."""

import json

from iamrec.atomic import write_json_atomic


def test_a_json_file_is_replaced_whole_and_nothing_is_left_beside_it(tmp_path):
    path = tmp_path / "deep" / "record.json"
    write_json_atomic(path, {"a": 1})
    assert path.read_text() == '{\n "a": 1\n}\n'
    write_json_atomic(path, {"a": [2]}, indent=2)
    assert path.read_text() == '{\n  "a": [\n    2\n  ]\n}\n' and json.loads(path.read_text()) == {"a": [2]}
    assert [p.name for p in path.parent.iterdir()] == ["record.json"]
