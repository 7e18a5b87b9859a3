"""Achievement YAML: the example loads; every problem is reported with its field path, expected and actual."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from issuer.achievement import PARTICIPATION_MODES, load_achievement, parse_achievement
from issuer.errors import AchievementError, InputFileError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "achievement.yaml"


def example_data() -> dict:
    return yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))


def problems_of(data: dict) -> list[str]:
    with pytest.raises(AchievementError) as info:
        parse_achievement(data)
    return info.value.problems


def test_example_loads_with_every_eu_element():
    a = load_achievement(EXAMPLE)
    assert a.ects == 5.0
    assert a.eqf_iri == "http://data.europa.eu/snb/eqf/6"
    assert a.title.get("en") == "Applied Data Protection Engineering"
    assert a.title.get("de") == "Angewandte Datenschutztechnik"
    assert len(a.learning_outcomes) == 4
    assert all(o.esco.startswith("http://data.europa.eu/esco/skill/") for o in a.learning_outcomes)
    assert a.participation_iri == PARTICIPATION_MODES["blended"] == "http://data.europa.eu/snb/learning-assessment/e92d221e4d"
    assert a.assessment.type_iri == "https://anchorcred.org/vocab/assessment-type#project"
    assert a.assessment.supervision_iri == "http://data.europa.eu/snb/supervision-verification/df2880c5cb"
    assert a.quality_assurance.type_iri == "http://data.europa.eu/snb/accreditation/bb4618238e"
    assert a.quality_assurance.agent_id == "https://www.akkreditierungsrat.de/"
    assert a.prerequisites is not None and a.stackability is not None and a.stackability.programmes
    assert a.further_information_url.startswith("https://")
    assert a.grading.default_grade == "Pass" and "1.0" in a.grading.allowed_grades


def test_bad_esco_iri_names_path_expected_and_actual():
    data = example_data()
    data["learning_outcomes"][2]["esco"] = "python"
    assert problems_of(data) == [
        "learning_outcomes[2].esco: expected an ESCO skill IRI http://data.europa.eu/esco/skill/<uuid>, got 'python'"
    ]


def test_all_problems_are_collected_not_just_the_first():
    data = example_data()
    data["ects"] = -5
    data["eqf_level"] = 9
    data["participation"] = "remote"
    data["assessment"]["type"] = "vibes"
    data["quality_assurance"]["agent"]["id"] = "not an iri"
    data["title"] = {"en": "Applied Data Protection Engineering", "german": "Datenschutz"}
    data["learning_outcomes"][0]["esco"] = "http://data.europa.eu/esco/occupation/f2b15a0e-e65a-438a-affb-29b9d50b77d1"
    data["colour"] = "blue"
    del data["description"]
    problems = problems_of(data)
    assert "ects: expected a positive number of ECTS credits, got -5" in problems
    assert "eqf_level: expected a whole number from 1 to 8, got 9" in problems
    assert "participation: expected one of online, onsite, blended, got 'remote'" in problems
    assert any(p.startswith("assessment.type: expected one of written-exam, oral-exam, project") and
               p.endswith("got 'vibes'") for p in problems)
    assert "quality_assurance.agent.id: expected an absolute IRI (e.g. https://…), got 'not an iri'" in problems
    assert "title.german: expected a BCP 47 language tag such as 'en', 'de' or 'pt-PT', got 'german'" in problems
    assert any(p.startswith("learning_outcomes[0].esco: expected an ESCO skill IRI") for p in problems)
    assert any(p.startswith("colour: unknown field") for p in problems)
    assert "description: required field is missing" in problems
    assert len(problems) == 9


def test_primary_language_text_is_required():
    data = example_data()
    data["prerequisites"] = {"de": "Bachelor"}
    assert problems_of(data) == ["prerequisites: expected a text in the primary language 'en', got only de"]


def test_too_many_ects_for_a_micro_credential():
    data = example_data()
    data["ects"] = 90
    assert problems_of(data) == ["ects: expected at most 60 ECTS credits for a micro-credential, got 90"]


def test_supervision_accepts_a_scheme_iri_and_rejects_others():
    data = example_data()
    data["assessment"]["supervision"] = "http://data.europa.eu/snb/supervision-verification/44314532f9"
    assert parse_achievement(data).assessment.supervision_iri.endswith("44314532f9")
    data["assessment"]["supervision"] = "proctored"
    assert problems_of(data)[0].startswith("assessment.supervision: expected one of unsupervised-without-id")


def test_default_grade_must_be_allowed():
    data = example_data()
    data["grading"]["default_grade"] = "Excellent"
    assert problems_of(data) == [
        "grading.default_grade: expected one of allowed_grades (1.0, 1.3, 1.7, 2.0, 2.3, 2.7, 3.0, 3.3, 3.7, 4.0, "
        "Pass), got 'Excellent'"
    ]


def test_missing_file_is_one_clear_line(tmp_path):
    with pytest.raises(InputFileError) as info:
        load_achievement(tmp_path / "nope.yaml")
    assert str(info.value) == f"{tmp_path / 'nope.yaml'}: no such file"


def test_bad_yaml_names_the_line(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text("id: x\ntitle: [unclosed\nects: 5\n", encoding="utf-8")
    with pytest.raises(InputFileError) as info:
        load_achievement(path)
    assert str(info.value).startswith(f"{path}: is not valid YAML at line ")


def test_top_level_must_be_a_mapping(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(AchievementError) as info:
        load_achievement(path)
    assert info.value.problems == ["achievement: expected a YAML mapping at the top level, got list"]
