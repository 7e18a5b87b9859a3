"""Roster CSV: every bad row is listed as 'row N: …' (spreadsheet rows, header = row 1); nothing is returned then."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from issuer.achievement import load_achievement
from issuer.errors import InputFileError, RosterError
from issuer.roster import load_roster, parse_roster

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HEADER = "given_name,family_name,email,learner_did,grade,ects,completion_date\n"
DID = "did:key:z6MktwqyCwB7HH4QsErMJPePLtFwfmx2yrUvcpNr21szsVaQ"


@pytest.fixture(scope="module")
def achievement():
    return load_achievement(EXAMPLES / "achievement.yaml")


def problems_of(text: str, achievement) -> list[str]:
    with pytest.raises(RosterError) as info:
        parse_roster(text, achievement)
    return info.value.problems


def test_example_roster_loads(achievement):
    learners = load_roster(EXAMPLES / "roster.csv", achievement)
    assert len(learners) >= 25
    assert len({l.email for l in learners}) == len(learners)
    with_did = [l for l in learners if l.learner_did]
    assert with_did and len(with_did) < len(learners)
    assert all(l.learner_did.startswith("did:key:z6Mk") for l in with_did)
    assert any(l.grade for l in learners) and any(l.grade is None for l in learners)
    first = learners[0]
    assert (first.row, first.given_name, first.family_name) == (2, "Ana", "Andromeda")
    assert first.ects == 5.0 and first.completion_date == date(2025, 6, 20)
    assert any(l.ects == 4.0 for l in learners)


def test_every_bad_row_is_listed_with_its_spreadsheet_row_number(achievement):
    text = HEADER + "\n".join([
        "Ana,Andromeda,ana@uni.example,,1.0,,2025-06-30",           # row 2: fine
        "Bo,Berg,bo@uni.example,,,five,",                             # row 3
        "Cy,Cole,not-an-email,,,,",                                   # row 4
        ",Dunn,dee@uni.example,,,,",                                  # row 5
        "Ed,Eke,ed@uni.example,did:key:zNOTAKEY,,,",                  # row 6
        "Fi,Fox,fi@uni.example,,A+,7,2025-13-01",                     # row 7: three problems
        "Gus,Gil,ANA@uni.example,,,,",                                # row 8: duplicate e-mail (case-insensitive)
        f"Hal,Hum,hal@uni.example,{DID},,,",                          # row 9
        f"Ivy,Ink,ivy@uni.example,{DID},,0,",                         # row 10: duplicate DID, ects 0
    ]) + "\n"
    assert problems_of(text, achievement) == [
        "row 3: ects must be a positive number, got 'five'",
        "row 4: email must be an e-mail address, got 'not-an-email'",
        "row 5: given_name is required",
        "row 6: learner_did must be an Ed25519 did:key (z6Mk…), got 'did:key:zNOTAKEY'",
        "row 7: grade must be one of 1.0, 1.3, 1.7, 2.0, 2.3, 2.7, 3.0, 3.3, 3.7, 4.0, Pass, got 'A+'",
        "row 7: ects must be at most the achievement's 5, got '7'",
        "row 7: completion_date must be an ISO date YYYY-MM-DD, got '2025-13-01'",
        "row 8: email 'ana@uni.example' already appears in row 2",
        "row 10: ects must be a positive number, got '0'",
        "row 10: learner_did already appears in row 9",
    ]


def test_quoted_multiline_field_counts_as_one_spreadsheet_row(achievement):
    text = HEADER + '"Ana\nMaria",Andromeda,ana@uni.example,,,,\nBo,Berg,bo@uni.example,,,-1,\n'
    problems = problems_of(text, achievement)
    assert "row 3: ects must be a positive number, got '-1'" in problems
    assert problems[0].startswith("row 2: given_name must be at most 100 printable characters")


def test_optional_columns_may_be_absent_and_blank_rows_are_skipped(achievement):
    learners = parse_roster("email,given_name,family_name\n\na@x.eu,A,B\n", achievement)
    assert [(l.row, l.email, l.ects, l.grade, l.learner_did) for l in learners] == [(3, "a@x.eu", 5.0, None, None)]


def test_header_problems_are_one_clear_error(achievement):
    assert problems_of("given_name,surname,email,gpa\nA,B,a@x.eu,1\n", achievement) == [
        "row 1 (header): unknown column(s) 'surname', 'gpa'; allowed: given_name, family_name, email, learner_did, "
        "grade, ects, completion_date",
        "row 1 (header): missing required column(s) family_name",
    ]


def test_ragged_rows(achievement):
    problems = problems_of(HEADER + "A,B,a@x.eu,,,,\nC,D,c@x.eu,,,\n", achievement)
    assert problems == ["row 3: has 6 field(s) but the header has 7 (a missing or extra comma, or an unquoted comma "
                        "inside a value?)"]


def test_empty_file_and_header_only(achievement):
    assert problems_of("", achievement)[0].startswith("the roster is empty")
    assert problems_of(HEADER, achievement) == ["the roster has a header but no learner rows"]


def test_bom_is_tolerated(tmp_path, achievement):
    path = tmp_path / "r.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + "A,B,a@x.eu,,,,\n").encode())
    assert [l.email for l in load_roster(path, achievement)] == ["a@x.eu"]


def test_wrong_encoding_is_one_line(tmp_path, achievement):
    path = tmp_path / "r.csv"
    path.write_bytes((HEADER + "Lukas,Müller,l@x.eu,,,,\n").encode("latin-1"))
    with pytest.raises(InputFileError) as info:
        load_roster(path, achievement)
    assert str(info.value) == (f"{path}: is not UTF-8 (invalid byte 0xfc on line 2); "
                               "export the spreadsheet as 'CSV UTF-8'")


def test_missing_file(tmp_path, achievement):
    with pytest.raises(InputFileError, match="no such file"):
        load_roster(tmp_path / "missing.csv", achievement)
