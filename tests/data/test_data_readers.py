"""Each reader on small files written in the source's real format, and bad input."""

import gzip
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from iamrec.data import ColumnNames, Source, read_source
from iamrec.data.jsonl import _read_line_by_line, _read_with_arrow
from iamrec.data.parsing import TIME_FORMATS, Field, LineReport


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    data = text.encode(encoding)
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as handle:
            handle.write(data)
    else:
        path.write_bytes(data)
    return path


def rows(source: Source, **kwargs) -> tuple[list[tuple], list[tuple], list]:
    raw = read_source(source, progress=False, **kwargs)
    inter = raw.interactions
    return (
        list(zip(inter["user"].astype(str), inter["item"].astype(str), inter["timestamp"].tolist())),
        list(zip(raw.items["item"].astype(str), raw.items["title"])),
        raw.reports,
    )


def test_ml_100k_raw_files_latin1(tmp_path):
    data = write(tmp_path / "u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n")
    item = write(
        tmp_path / "u.item",
        "242|Kolya (1996)|24-Jan-1997||http://x|0|0\n302|Misérables, Les (1995)|01-Jan-1995||x|0|1\n",
        "latin-1",
    )
    inter, items, _ = rows(Source("ml-100k", (data,), (item,)))
    assert inter == [("196", "242", 881250949), ("186", "302", 891717742)]
    assert items == [("242", "Kolya (1996)"), ("302", "Misérables, Les (1995)")]


def test_ml_1m_double_colon(tmp_path):
    data = write(tmp_path / "ratings.dat", "1::1193::5::978300760\n1::661::3::978302109\n")
    item = write(
        tmp_path / "movies.dat",
        "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n661::Café au lait (1993)::Comedy\n",
        "latin-1",
    )
    inter, items, _ = rows(Source("ml-1m", (data,), (item,)))
    assert inter == [("1", "1193", 978300760), ("1", "661", 978302109)]
    assert items == [("1193", "One Flew Over the Cuckoo's Nest (1975)"), ("661", "Café au lait (1993)")]


def test_recbole_atomic_files(tmp_path):
    inter_file = write(
        tmp_path / "x.inter", "user_id:token\titem_id:token\trating:float\ttimestamp:float\n7\t42\t3\t881250949.0\n"
    )
    item_file = write(
        tmp_path / "x.item", "item_id:token\tmovie_title:token_seq\tclass:token_seq\n42\tToy Story\tAnimation\n"
    )
    inter, items, _ = rows(Source("recbole", (inter_file,), (item_file,), ColumnNames(title="movie_title")))
    assert inter == [("7", "42", 881250949)]
    assert items == [("42", "Toy Story")]


def test_amazon_2014_python_literal_meta_gz(tmp_path):
    reviews = write(
        tmp_path / "reviews_Beauty_5.json.gz",
        '{"reviewerID": "A1", "asin": "B1", "overall": 5.0, "unixReviewTime": 1390000000, "reviewText": "ok"}\n',
    )
    meta = write(
        tmp_path / "meta_Beauty.json.gz",
        "{'asin': 'B1', 'title': 'Tom &amp; Jerry\\'s soap', 'related': {'also_bought': ['B2']}, 'price': 3.5}\n"
        "{'asin': 'B2', 'salesRank': {'Beauty': 10}}\n",
    )
    inter, items, _ = rows(Source("amazon2014", (reviews,), (meta,)))
    assert inter == [("A1", "B1", 1390000000)]
    assert items == [("B1", "Tom &amp; Jerry's soap"), ("B2", None)]  # unescaping is the protocol's job


@pytest.mark.parametrize("suffix", [".json", ".json.gz"])
def test_amazon_2018_plain_and_gzip(tmp_path, suffix):
    lines = [
        {"reviewerID": f"A{i}", "asin": f"B{i % 2}", "unixReviewTime": 1500000000 + i, "style": {"Size:": "L"}}
        for i in range(3)
    ]
    reviews = write(tmp_path / f"Video_Games{suffix}", "".join(json.dumps(x) + "\n" for x in lines))
    meta = write(
        tmp_path / f"meta_Video_Games{suffix}",
        '{"asin": "B0", "title": "Halo 3", "also_buy": []}\n{"asin": "B1", "title": ""}\n',
    )
    inter, items, reports = rows(Source("amazon2018", (reviews,), (meta,)))
    assert inter == [("A0", "B0", 1500000000), ("A1", "B1", 1500000001), ("A2", "B0", 1500000002)]
    assert items == [("B0", "Halo 3"), ("B1", "")]
    assert [r.rows for r in reports] == [3, 2]


def test_amazon_2023_milliseconds_become_seconds(tmp_path):
    reviews = write(
        tmp_path / "All_Beauty.jsonl",
        '{"user_id": "U1", "parent_asin": "P1", "asin": "X", "timestamp": 1588687728923}\n',
    )
    meta = write(tmp_path / "meta_All_Beauty.jsonl", '{"parent_asin": "P1", "title": "Soap", "images": []}\n')
    inter, items, _ = rows(Source("amazon2023", (reviews,), (meta,)))
    assert inter == [("U1", "P1", 1588687728)]
    assert items == [("P1", "Soap")]


def test_csv_with_quotes_and_renamed_columns(tmp_path):
    inter_file = write(tmp_path / "log.csv", "uid,when,iid\nu1,100,m1\nu1,200,m2\n")
    item_file = write(tmp_path / "items.csv", 'iid,name\nm1,"Crouching Tiger, Hidden Dragon"\nm2,Heat\n')
    inter, items, _ = rows(Source("csv", (inter_file,), (item_file,), ColumnNames("uid", "iid", "when", "name")))
    assert inter == [("u1", "m1", 100), ("u1", "m2", 200)]
    assert items == [("m1", "Crouching Tiger, Hidden Dragon"), ("m2", "Heat")]


def test_csv_with_a_byte_order_mark(tmp_path):
    inter_file = write(tmp_path / "log.csv", "user,item,timestamp\nu1,m1,100\n", encoding="utf-8-sig")
    item_file = write(tmp_path / "items.csv", "item,title\nm1,Heat\n", encoding="utf-8-sig")
    inter, items, _ = rows(Source("csv", (inter_file,), (item_file,)))
    assert inter == [("u1", "m1", 100)] and items == [("m1", "Heat")]


def test_csv_times_may_be_iso_dates_read_as_utc_unless_an_offset_is_given(tmp_path):
    """ISO dates used to make every line unparsable: the docs asked for epoch seconds without saying so."""
    inter_file = write(
        tmp_path / "log.csv",
        "user,item,timestamp\nu1,m1,2016-03-01\nu1,m2,2016-03-01T12:00:00\nu1,m3,2016-03-01T12:00:00+01:00\n"
        "u1,m4,2016-03-01T12:00:00Z\nu1,m5,1456833600\n",
    )
    item_file = write(tmp_path / "items.csv", "item,title\nm1,Heat\n")
    inter, _, reports = rows(Source("csv", (inter_file,), (item_file,)))
    assert [row[2] for row in inter] == [1456790400, 1456833600, 1456830000, 1456833600, 1456833600]
    assert reports[0].skipped == 0


def test_a_time_that_is_neither_seconds_nor_an_iso_date_is_skipped_with_the_accepted_forms(tmp_path):
    inter_file = write(tmp_path / "log.csv", "user,item,timestamp\nu1,m1,03/01/2016\nu1,m2,7\n")
    item_file = write(tmp_path / "items.csv", "item,title\nm1,Heat\n")
    inter, _, reports = rows(Source("csv", (inter_file,), (item_file,)))
    assert inter == [("u1", "m2", 7)]
    assert reports[0].first_bad == f"{inter_file}:2: column 'timestamp': expected {TIME_FORMATS}, got text"


def test_iso_dates_in_json_lines_take_the_line_by_line_path(tmp_path):
    reviews = write(tmp_path / "r.json", '{"reviewerID": "u", "asin": "i", "unixReviewTime": "2016-03-01"}\n')
    meta = write(tmp_path / "m.json", '{"asin": "i", "title": "I"}\n')
    inter, _, _ = rows(Source("amazon2018", (reviews,), (meta,)))
    assert inter == [("u", "i", 1456790400)]


def test_parquet_with_timestamp_type_and_integer_ids(tmp_path):
    inter_file = tmp_path / "log.parquet"
    times = pa.array([pd.Timestamp("2020-01-01 00:00:01.900", tz="UTC"), None], pa.timestamp("ms", tz="UTC"))
    pq.write_table(pa.table({"user": [1, 2], "item": ["a", "b"], "timestamp": times}), inter_file)
    item_file = tmp_path / "items.parquet"
    pq.write_table(pa.table({"item": ["a", "b"], "title": ["A", None]}), item_file)
    inter, items, reports = rows(Source("parquet", (inter_file,), (item_file,)))
    assert inter == [("1", "a", 1577836801)]
    assert items == [("a", "A"), ("b", None)]
    assert reports[0].skipped == 1 and reports[0].first_bad.startswith(f"{inter_file}:2:")


def test_fast_and_careful_json_paths_agree(tmp_path):
    path = write(
        tmp_path / "r.json.gz",
        "".join(
            json.dumps({"reviewerID": f"u{i % 7}", "asin": f"i{i % 5}", "unixReviewTime": i}) + "\n" for i in range(50)
        ),
    )
    fields = (
        Field("user", "reviewerID", "id"),
        Field("item", "asin", "id"),
        Field("timestamp", "unixReviewTime", "time"),
    )
    fast = _read_with_arrow(path, fields, progress=False)
    careful = _read_line_by_line(path, fields, LineReport(path, "interactions"), python_literals=False, progress=False)
    assert fast is not None
    for column in ("user", "item", "timestamp"):
        assert fast[column].astype(str).tolist() == careful[column].astype(str).tolist()


def test_bad_lines_are_counted_with_the_first_location(tmp_path):
    good = '{"reviewerID": "A", "asin": "B", "unixReviewTime": 1}\n'
    text = (
        good
        + "{not json\n"
        + good
        + '{"reviewerID": "A", "unixReviewTime": 2}\n'
        + '{"reviewerID": "A", "asin": "B", "unixReviewTime": "soon"}\n'
    )
    reviews = write(tmp_path / "r.json", text)
    meta = write(tmp_path / "m.json", '{"asin": "B", "title": "T"}\n')
    inter, _, reports = rows(Source("amazon2018", (reviews,), (meta,)))
    assert len(inter) == 2
    assert reports[0].skipped == 3 and reports[0].first_bad.startswith(f"{reviews}:2: unparsable JSON")
    with pytest.raises(ValueError, match=rf"{reviews}:2: unparsable JSON"):
        read_source(Source("amazon2018", (reviews,), (meta,)), strict=True, progress=False)


def test_bad_delimited_lines(tmp_path):
    data = write(tmp_path / "ratings.dat", "1::10::5::100\n1::10\n2::10::5::later\n")
    item = write(tmp_path / "movies.dat", "10::Ten::Drama\n")
    inter, _, reports = rows(Source("ml-1m", (data,), (item,)))
    assert inter == [("1", "10", 100)]
    assert reports[0].skipped == 2 and reports[0].first_bad.startswith(f"{data}:2: expected at least 4 fields")
    with pytest.raises(ValueError, match=f"{data}:2"):
        read_source(Source("ml-1m", (data,), (item,)), strict=True, progress=False)


@pytest.mark.parametrize(
    ("fmt", "inter_text", "name", "column"),
    [
        ("csv", "user,item\nu,i\n", "log.csv", "timestamp"),
        ("amazon2018", '{"reviewerID": "A", "unixReviewTime": 1}\n', "r.json", "asin"),
        ("recbole", "user_id:token\ttimestamp:float\n1\t2\n", "x.inter", "item_id"),
    ],
)
def test_missing_columns_name_the_file_and_column(tmp_path, fmt, inter_text, name, column):
    inter_file = write(tmp_path / name, inter_text)
    item_file = write(tmp_path / "items.txt", "")
    with pytest.raises(ValueError, match=rf"{inter_file}: missing column\(s\) \['{column}'\]"):
        read_source(Source(fmt, (inter_file,), (item_file,)), progress=False)


def test_empty_file_with_header_expected(tmp_path):
    empty = write(tmp_path / "log.csv", "")
    with pytest.raises(ValueError, match=rf"{empty}: the file is empty"):
        read_source(Source("csv", (empty,), (empty,)), progress=False)


def test_unknown_format_missing_file_and_fixed_columns(tmp_path):
    with pytest.raises(ValueError, match="Unknown format 'amazon2099'"):
        Source("amazon2099", ("a",), ("b",))
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        read_source(Source("csv", (tmp_path / "nope.csv",), (tmp_path / "items.csv",)), progress=False)
    data, item = write(tmp_path / "u.data", "1\t2\t3\t4\n"), write(tmp_path / "u.item", "2|Two\n")
    with pytest.raises(ValueError, match="cannot be renamed"):
        read_source(Source("ml-100k", (data,), (item,), ColumnNames(user="x")), progress=False)


def test_several_files_are_concatenated(tmp_path):
    a = write(tmp_path / "a.csv", "user,item,timestamp\nu1,x,1\n")
    b = write(tmp_path / "b.csv", "user,item,timestamp\nu2,y,2\nu1,y,3\n")
    item = write(tmp_path / "items.csv", "item,title\nx,X\ny,Y\n")
    inter, _, reports = rows(Source("csv", (a, b), (item,)))
    assert inter == [("u1", "x", 1), ("u2", "y", 2), ("u1", "y", 3)]
    assert [r.rows for r in reports] == [1, 2, 2]


@pytest.mark.parametrize(
    ("fmt", "name", "text"),
    [
        ("csv", "log.csv", "user,item,timestamp\nu,i,1\nu,j,{big}\nu,k,3\n"),
        (
            "amazon2018",
            "r.json",
            '{{"reviewerID": "u", "asin": "i", "unixReviewTime": 1}}\n'
            '{{"reviewerID": "u", "asin": "j", "unixReviewTime": {big}}}\n'
            '{{"reviewerID": "u", "asin": "k", "unixReviewTime": 3}}\n',
        ),
    ],
)
def test_a_timestamp_beyond_64_bits_is_a_skipped_line(tmp_path, fmt, name, text):
    """A timestamp of 10**30 used to end the prepare with an OverflowError traceback."""
    inter_file = write(tmp_path / name, text.format(big=10**30))
    items = {"csv": "item,title\ni,I\n", "amazon2018": '{"asin": "i", "title": "I"}\n'}[fmt]
    item_file = write(tmp_path / "items.txt", items)
    inter, _, reports = rows(Source(fmt, (inter_file,), (item_file,)))
    assert [row[2] for row in inter] == [1, 3]
    assert reports[0].skipped == 1 and reports[0].first_bad.startswith(f"{inter_file}:")
    assert "64-bit range" in reports[0].first_bad


def test_a_byte_that_is_not_utf8_in_a_csv_is_a_skipped_line_named_by_its_number(tmp_path):
    """It used to stop the prepare, reported at line 1 (the decoder reads ahead in blocks)."""
    lines = [f"u{index % 7},i{index % 5},{index}\n".encode() for index in range(2000)]
    lines[1500] = b"u1,caf\xe9,1501\n"
    inter_file = tmp_path / "log.csv"
    inter_file.write_bytes(b"user,item,timestamp\n" + b"".join(lines))
    item_file = write(tmp_path / "items.csv", "item,title\n" + "".join(f"i{index},I{index}\n" for index in range(5)))
    inter, _, reports = rows(Source("csv", (inter_file,), (item_file,)))
    assert len(inter) == 1999
    assert reports[0].skipped == 1 and reports[0].first_bad == f"{inter_file}:1502: not valid utf-8-sig"
    with pytest.raises(ValueError, match=f"{inter_file}:1502: not valid utf-8"):
        read_source(Source("csv", (inter_file,), (item_file,)), strict=True, progress=False)
