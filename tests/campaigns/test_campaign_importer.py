"""Recipients from CSV files and JSON lists, checked row by row (pure)."""

from __future__ import annotations

import codecs
import csv
import io
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from waqtor.campaigns.importer import MAX_COLUMNS, PROBLEMS_KEPT, from_list, parse_csv, variable_name
from waqtor.campaigns.numbers import normalize_chunk, normalize_many
from waqtor.errors import InvalidInput

ANA, BO, CY = "+4915112345678", "+4915112345679", "+4915112345670"


def rows_of(text: str, template: str = "Hi {name}", **options: object) -> object:
    return parse_csv(text.encode(), template, **options)  # type: ignore[arg-type]


def test_a_plain_csv_gives_one_recipient_a_row_with_its_variables() -> None:
    report = rows_of(f"phone,name,city\n{ANA},Ana,Berlin\n{BO},Bo,Dubai\n", "Hi {name} in {city}")
    assert [(r.row, r.phone, r.name, r.variables) for r in report.rows] == [
        (2, ANA, "Ana", {"city": "Berlin"}), (3, BO, "Bo", {"city": "Dubai"})]
    assert report.rows[0].jid == "4915112345678@s.whatsapp.net"
    assert report.problems == [] and report.seen == 2
    assert report.phone_column == "phone" and report.name_column == "name" and report.variables == ["city"]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_the_delimiter_is_sniffed(delimiter: str) -> None:
    text = f"Mobile{delimiter}Full Name{delimiter}Order No\n{ANA}{delimiter}Ana{delimiter}A-1\n"
    report = rows_of(text, "{Order_No}")
    assert report.rows[0].variables == {"Order_No": "A-1"} and report.rows[0].name == "Ana"


def test_a_utf8_byte_order_mark_is_dropped() -> None:
    report = parse_csv(codecs.BOM_UTF8 + f"phone,name\n{ANA},Zoë\n".encode(), "Hi {name}")
    assert report.phone_column == "phone" and report.rows[0].name == "Zoë"


def test_utf16_with_its_byte_order_mark_is_read() -> None:
    report = parse_csv(f"phone;name\n{ANA};Ana\n".encode("utf-16"), "Hi {name}")
    assert report.rows[0].phone == ANA


def test_text_that_is_not_utf8_is_refused_with_a_hint() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_csv(b"phone,name\n+4915112345678,Ren\xe9\n", "Hi")
    assert caught.value.code == "invalid_csv" and "UTF-8" in caught.value.message


@pytest.mark.parametrize("header", ["Phone Number", "MSISDN", "whatsapp_number", "tel", "Mobile-Phone", "To"])
def test_the_phone_column_is_found_by_common_names(header: str) -> None:
    assert rows_of(f"{header},name\n{ANA},Ana\n").phone_column == header


def test_a_named_phone_column_wins() -> None:
    report = rows_of(f"phone,backup\n{ANA},{BO}\n", "Hi", phone_column="backup")
    assert report.rows[0].phone == BO and report.rows[0].variables == {"phone": ANA}


def test_without_a_phone_column_the_error_lists_the_columns() -> None:
    with pytest.raises(InvalidInput) as caught:
        rows_of(f"who,what\n{ANA},x\n", "Hi")
    assert caught.value.code == "no_phone_column" and caught.value.details == {"columns": ["who", "what"]}


def test_every_problem_is_reported_with_its_row() -> None:
    text = (f"phone,name,code\n{ANA},Ana,A1\nnot a phone,X,1\n\n{ANA},Again,2\n{BO},Bo,\n"
            f"{CY},\"Cy, Jr\",3\n{CY},Cy,4,extra\n")
    report = rows_of(text, "Hi {name}, code {code}")
    assert [(r.row, r.phone) for r in report.rows] == [(2, ANA), (7, CY)]
    assert [(p.row, p.code) for p in report.problems] == [
        (3, "invalid_phone"), (5, "duplicate"), (6, "missing_variables"), (8, "malformed_row")]
    by_code = {p.code: p for p in report.problems}
    assert by_code["invalid_phone"].details["reason"] == "bad_characters"
    assert by_code["duplicate"].details == {"firstRow": 2}
    assert by_code["missing_variables"].details == {"missing": ["code"]}
    assert report.seen == 6 and dict(report.problem_counts) == {
        "invalid_phone": 1, "duplicate": 1, "missing_variables": 1, "malformed_row": 1}


def test_the_same_number_written_twice_differently_is_a_duplicate() -> None:
    report = rows_of("phone\n+49 151 12345678\n0049-151-1234-5678\n", "Hi")
    assert len(report.rows) == 1 and report.problems[0].code == "duplicate"


def test_local_numbers_use_the_default_region() -> None:
    report = rows_of("phone\n0151 12345678\n", "Hi", default_region="DE")
    assert report.rows[0].phone == ANA


def test_the_builtins_need_no_column() -> None:
    assert rows_of(f"phone\n{ANA}\n", "Sent to {phone} on {date} at {time}").problems == []


def test_headers_become_template_variables() -> None:
    assert variable_name("First Name") == "First_Name"
    assert variable_name(" 2nd line ") == "_2nd_line"
    assert variable_name("!!!") == ""


def test_more_recipients_than_allowed_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        rows_of(f"phone\n{ANA}\n{BO}\n{CY}\n", "Hi", max_rows=2)
    assert caught.value.code == "too_many_recipients" and caught.value.details == {"limit": 2}


def test_a_broken_quote_is_an_invalid_csv() -> None:
    with pytest.raises(InvalidInput) as caught:
        rows_of(f'phone,name\n{ANA},"Ana\n', "Hi")
    assert caught.value.code == "invalid_csv"


def test_an_empty_file_is_an_invalid_csv() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_csv(b"  \n", "Hi")
    assert caught.value.code == "invalid_csv"


def test_a_json_list_is_checked_the_same_way_numbered_from_one() -> None:
    report = from_list([{"phone": ANA, "name": "Ana", "variables": {"n": 1}}, {"phone": "12"},
                        {"phone": BO, "variables": {}}], "Hi {name} #{n}")
    assert [(r.row, r.variables) for r in report.rows] == [(1, {"n": "1"})]
    assert [(p.row, p.code) for p in report.problems] == [(2, "invalid_phone"), (3, "missing_variables")]
    assert report.problems[1].details == {"missing": ["name", "n"]}


def test_the_report_keeps_the_first_hundred_problems_and_says_how_many_more() -> None:
    text = "phone\n" + "".join(f"bad{n}\n" for n in range(1500))
    view = rows_of(text, "Hi").view()
    assert view["rejected"] == 1500 and len(view["problems"]) == PROBLEMS_KEPT == 100
    assert view["problemsTruncated"] is True and view["problemsOmitted"] == 1400
    assert [p["row"] for p in view["problems"]] == list(range(2, 102))


def test_a_megabyte_of_malformed_rows_is_counted_not_kept() -> None:
    text = "phone\n" + "+4915112345678,x,y\n" * (1_048_576 // 19)
    tracemalloc.start()
    try:
        view = rows_of(text, "Hi").view()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    rejected = 1_048_576 // 19
    assert view["problemCounts"] == {"malformed_row": rejected} and len(view["problems"]) == PROBLEMS_KEPT
    assert view["problemsOmitted"] == rejected - PROBLEMS_KEPT
    # The text itself is a few MiB; keeping a problem for each of the 55,000 rows took about 30 more.
    assert peak < 12 * 1_048_576, f"{peak / 1_048_576:.1f} MiB"


def test_problems_found_while_reading_and_after_are_listed_in_row_order() -> None:
    rows = [f"+49151{10000000 + n},x" if n % 2 else f"bad{n}" for n in range(300)]
    view = rows_of("phone\n" + "\n".join(rows) + "\n", "Hi").view()
    listed = [(p["row"], p["code"]) for p in view["problems"]]
    assert listed == [(n + 2, "malformed_row" if n % 2 else "invalid_phone") for n in range(100)]
    assert view["problemCounts"] == {"invalid_phone": 150, "malformed_row": 150} and view["problemsOmitted"] == 200


def test_a_header_of_20000_columns_is_refused_with_a_clear_error() -> None:
    header = ",".join(["phone", *(f"column {n}" for n in range(19_999))])
    with pytest.raises(InvalidInput) as caught:
        rows_of(f"{header}\n{ANA}\n")
    assert caught.value.code == "too_many_columns"
    assert caught.value.details == {"columns": 20_000, "limit": MAX_COLUMNS}


def test_a_header_at_the_column_limit_is_read_with_a_variable_per_column() -> None:
    header = ",".join(["phone", *(f"c{n}" for n in range(MAX_COLUMNS - 1))])
    row = ",".join([ANA, *(f"v{n}" for n in range(MAX_COLUMNS - 1))])
    report = rows_of(f"{header}\n{row}\n", "Hi {c198}")
    assert len(report.columns) == MAX_COLUMNS - 1 and report.rows[0].variables["c198"] == "v198"


def test_columns_whose_names_become_the_same_variable_keep_the_first() -> None:
    report = rows_of(f"phone,First Name,first-name,First_Name\n{ANA},Ana,Bo,Cy\n", "Hi {First_Name}")
    assert report.columns == {"First Name": "First_Name", "first-name": "first_name"}
    assert report.rows[0].variables == {"First_Name": "Ana", "first_name": "Bo"}


def test_a_long_list_is_normalised_in_worker_processes_with_the_same_result() -> None:
    raws = [f"+4915{110000000 + n}" for n in range(10_000)] + ["nope"]
    assert normalize_many(raws, None) == normalize_chunk(raws, None)


def test_a_limit_crossed_while_the_workers_check_numbers_is_still_refused() -> None:
    text = "phone\n" + "".join(f"+4915{110000000 + n}\n" for n in range(12_001))
    with pytest.raises(InvalidInput) as caught:
        parse_csv(text.encode(), "Hi", max_rows=12_000, normalize=normalize_many)
    assert caught.value.code == "too_many_recipients"


# ---- properties --------------------------------------------------------------------------------------

GOOD = [f"+4915{110000000 + n}" for n in range(40)]
BAD = ["", "123", "abc", "+999 1234", "+49 1"]
cell_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)


@settings(max_examples=120, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(GOOD + BAD), cell_text, cell_text), max_size=30),
       delimiter=st.sampled_from([",", ";", "\t", "|"]), bom=st.booleans())
def test_every_row_is_accepted_or_reported_exactly_once(
    rows: list[tuple[str, str, str]], delimiter: str, bom: bool
) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(["phone", "name", "code"])
    writer.writerows(rows)
    data = (codecs.BOM_UTF8 if bom else b"") + buffer.getvalue().encode()
    report = parse_csv(data, "Hi {name}, your code is {code}")
    lines = [n + 2 for n, (phone, name, code) in enumerate(rows) if (phone + name + code).strip()]
    seen = sorted([r.row for r in report.rows] + [p.row for p in report.problems])
    # Cells may hold line breaks, so a row's number is the line it ends on: compare counts and order.
    assert len(seen) == len(lines) == report.seen
    assert len({r.jid for r in report.rows}) == len(report.rows)
    for row in report.rows:
        assert row.phone in GOOD and row.variables.get("code") and row.name
    accepted_phones = [r.phone for r in report.rows]
    first_good = []
    for phone, name, code in rows:
        if phone in GOOD and name.strip() and code.strip() and phone not in first_good:
            first_good.append(phone)
    assert accepted_phones == first_good


@settings(max_examples=60, deadline=None)
@given(values=st.dictionaries(st.sampled_from(["a", "b", "c"]), cell_text, max_size=3))
def test_variables_round_trip_trimmed(values: dict[str, str]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["phone", *values])
    writer.writerow([ANA, *values.values()])
    report = parse_csv(buffer.getvalue().encode(), "Hi")
    assert report.rows[0].variables == {k: v.strip() for k, v in values.items() if v.strip()}


CSV_ERRORS = {"invalid_csv", "no_phone_column", "too_many_recipients"}
ROW_PROBLEMS = {"invalid_phone", "duplicate", "missing_variables", "malformed_row"}


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=300))
def test_any_bytes_give_a_report_or_a_csv_error(data: bytes) -> None:
    try:
        report = parse_csv(data, "Hi {name}")
    except InvalidInput as exc:
        assert exc.code in CSV_ERRORS and exc.message
    else:
        assert report.seen == len(report.rows) + sum(report.problem_counts.values())


@settings(max_examples=150, deadline=None)
@given(body=st.text(st.characters(blacklist_categories=("Cs",)), max_size=300),
       delimiter=st.sampled_from([",", ";", "\t", "|"]))
def test_any_rows_under_a_phone_header_are_each_accepted_or_reported_with_their_row(body: str, delimiter: str) -> None:
    data = f"phone{delimiter}name{delimiter}code\n{body}".encode()
    try:
        report = parse_csv(data, "Hi {name}, {code}")
    except InvalidInput as exc:
        assert exc.code in CSV_ERRORS  # a broken quote makes the whole file unreadable
        return
    assert report.seen == len(report.rows) + sum(report.problem_counts.values())
    for problem in report.problems:
        assert problem.code in ROW_PROBLEMS and problem.row >= 2 and problem.message
    for row in report.rows:
        assert row.row >= 2 and row.jid.endswith("@s.whatsapp.net") and row.name and row.variables.get("code")
