"""The force as data: Hertfordshire's districts, neighbours and postcodes, and file checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.geography import (
    DEFAULT_FORCE_FILE,
    District,
    Force,
    GeographyError,
    load_force,
    normalise_postcode,
    outward_code,
)

HERTS_DISTRICTS = {
    "broxbourne": "Broxbourne",
    "dacorum": "Dacorum",
    "east_hertfordshire": "East Hertfordshire",
    "hertsmere": "Hertsmere",
    "north_hertfordshire": "North Hertfordshire",
    "st_albans": "St Albans",
    "stevenage": "Stevenage",
    "three_rivers": "Three Rivers",
    "watford": "Watford",
    "welwyn_hatfield": "Welwyn Hatfield",
}


@pytest.fixture
def herts() -> Force:
    return load_force()


def write_force(tmp_path: Path, doc: object, name: str = "force.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def tiny_force() -> dict[str, Any]:
    """A valid two-district force file, for tests to break one piece at a time."""
    return {
        "force": {"code": "testshire", "name": "Testshire Police", "timezone": "Europe/London"},
        "districts": [
            {"code": "north", "name": "North", "neighbours": ["south"],
             "outward_codes": ["ZZ1", "ZZ2"]},
            {"code": "south", "name": "South", "neighbours": ["north"],
             "outward_codes": ["ZZ3"]},
        ],
    }


# --- Hertfordshire, the bundled default ---------------------------------------------------

def test_the_default_force_is_hertfordshire_constabulary(herts: Force) -> None:
    assert (herts.code, herts.name, herts.timezone) == (
        "hertfordshire", "Hertfordshire Constabulary", "Europe/London")
    assert DEFAULT_FORCE_FILE.name == "hertfordshire.yaml" and DEFAULT_FORCE_FILE.is_file()


def test_hertfordshire_has_its_ten_districts_with_their_names(herts: Force) -> None:
    assert {code: d.name for code, d in herts.districts.items()} == HERTS_DISTRICTS


def test_choices_list_every_district_sorted_by_name(herts: Force) -> None:
    assert herts.choices() == sorted(HERTS_DISTRICTS.items(), key=lambda kv: kv[1])
    assert list(herts.districts) == [code for code, _ in herts.choices()]


# Real postcodes: each district council's own offices, plus a few well-known addresses.
REAL_POSTCODES = [
    ("EN8 9XQ", "broxbourne"),            # Borough Offices, Bishops' College, Cheshunt
    ("HP1 1HH", "dacorum"),               # Dacorum council, Marlowes, Hemel Hempstead
    ("HP2 4AD", "dacorum"),               # Hemel Hempstead Hospital, Hillfield Road
    ("SG13 8EQ", "east_hertfordshire"),   # Wallfields, Pegs Lane, Hertford
    ("WD6 1WA", "hertsmere"),             # Civic Offices, Elstree Way, Borehamwood
    ("SG6 3JF", "north_hertfordshire"),   # Council Offices, Gernon Road, Letchworth
    ("AL1 3JE", "st_albans"),             # Civic Centre, St Peter's Street, St Albans
    ("AL5 2JQ", "st_albans"),             # Rothamsted, Harpenden
    ("SG1 1HN", "stevenage"),             # Daneshill House, Danestrete, Stevenage
    ("SG1 4AB", "stevenage"),             # Lister Hospital, Coreys Mill Lane
    ("WD3 1RL", "three_rivers"),          # Three Rivers House, Northway, Rickmansworth
    ("WD17 3EX", "watford"),              # Town Hall, Watford
    ("WD18 0HB", "watford"),              # Watford General Hospital, Vicarage Road
    ("AL8 6AE", "welwyn_hatfield"),       # Council Offices, The Campus, Welwyn Garden City
    ("AL8 6XF", "welwyn_hatfield"),       # Hertfordshire Constabulary HQ, Stanborough Road
    ("AL10 9AB", "welwyn_hatfield"),      # University of Hertfordshire, Hatfield
]


@pytest.mark.parametrize(("postcode", "district"), REAL_POSTCODES)
def test_a_real_postcode_maps_to_its_district(herts: Force, postcode: str,
                                              district: str) -> None:
    assert herts.district_for_postcode(postcode) == district


def test_the_real_postcodes_cover_every_district() -> None:
    assert {district for _, district in REAL_POSTCODES} == set(HERTS_DISTRICTS)


def test_a_watford_postcode_maps_to_watford_however_it_is_typed(herts: Force) -> None:
    for typed in ("WD17 3EX", "wd173ex", "  wd17   3ex ", "WD17"):
        assert herts.district_for_postcode(typed) == "watford"


@pytest.mark.parametrize("outward", ["SG1", "SG2"])
def test_stevenage_outward_codes_map_to_stevenage(herts: Force, outward: str) -> None:
    assert herts.district_for_postcode(outward) == "stevenage"


@pytest.mark.parametrize("postcode", ["SW1A 1AA", "LU1 1AA", "EC1A 1BB", "CB2 1TN", "HP5 1AA"])
def test_a_valid_postcode_outside_hertfordshire_maps_to_no_district(herts: Force,
                                                                     postcode: str) -> None:
    assert normalise_postcode(postcode) is not None
    assert herts.district_for_postcode(postcode) is None


@pytest.mark.parametrize("garbage", ["hello", "", "   ", "12345", "AL1 3J", "AL13JXX", "1AL 3JX"])
def test_garbage_is_not_a_postcode_and_maps_to_no_district(herts: Force, garbage: str) -> None:
    assert normalise_postcode(garbage) is None
    assert outward_code(garbage) is None
    assert herts.district_for_postcode(garbage) is None


@pytest.mark.parametrize(("typed", "normal"), [
    ("al13jx", "AL1 3JX"), (" AL1 3JX ", "AL1 3JX"), ("AL1   3JX", "AL1 3JX"),
    ("al1", "AL1"), ("W1A 0AX", "W1A 0AX"), ("m11ae", "M1 1AE"), ("b33 8th", "B33 8TH"),
    ("cr2 6xh", "CR2 6XH"), ("dn551pt", "DN55 1PT"), ("ec1a1bb", "EC1A 1BB"),
])
def test_postcodes_normalise_to_upper_case_with_one_space(typed: str, normal: str) -> None:
    assert normalise_postcode(typed) == normal


def test_the_outward_code_is_the_part_before_the_space() -> None:
    assert outward_code("al10 9ab") == "AL10"
    assert outward_code("WD25") == "WD25"


def test_neighbours_are_symmetric_and_every_district_has_at_least_one(herts: Force) -> None:
    for code, district in herts.districts.items():
        assert district.neighbours, f"{code} has no neighbours"
        for other in herts.neighbours(code):
            assert herts.has_district(other)
            assert code in herts.neighbours(other), f"{code} -> {other} is one-way"


@pytest.mark.parametrize(("district", "neighbours"), [
    ("stevenage", {"north_hertfordshire", "east_hertfordshire"}),
    ("watford", {"three_rivers", "hertsmere", "st_albans"}),
    ("broxbourne", {"east_hertfordshire", "welwyn_hatfield"}),
    ("dacorum", {"st_albans", "three_rivers"}),
])
def test_real_borders_are_recorded(herts: Force, district: str, neighbours: set[str]) -> None:
    assert set(herts.neighbours(district)) == neighbours


def test_every_district_has_an_outward_code_and_none_is_shared(herts: Force) -> None:
    seen: list[str] = []
    for district in herts.districts.values():
        assert district.outward_codes, f"{district.code} has no outward codes"
        seen.extend(district.outward_codes)
    assert len(seen) == len(set(seen))


def test_an_unknown_district_is_a_clear_key_error(herts: Force) -> None:
    assert not herts.has_district("luton")
    with pytest.raises(KeyError, match="'luton' is not a district of Hertfordshire"):
        herts.district("luton")
    watford = herts.district("watford")
    assert isinstance(watford, District) and watford.name == "Watford"
    assert "WD17" in watford.outward_codes


def test_loading_is_cached_per_path(herts: Force) -> None:
    assert load_force(DEFAULT_FORCE_FILE) is herts
    assert load_force(str(DEFAULT_FORCE_FILE)) is herts


# --- another force's file ------------------------------------------------------------------

def test_a_custom_force_file_loads(tmp_path: Path) -> None:
    force = load_force(write_force(tmp_path, tiny_force()))
    assert force.name == "Testshire Police"
    assert force.choices() == [("north", "North"), ("south", "South")]
    assert force.district_for_postcode("zz3 1ab") == "south"
    assert force.district_for_postcode("WD17 3EX") is None
    assert force.neighbours("north") == ("south",)


def test_lowercase_outward_codes_in_a_force_file_are_accepted(tmp_path: Path) -> None:
    doc = tiny_force()
    doc["districts"][0]["outward_codes"] = ["zz1"]
    assert load_force(write_force(tmp_path, doc)).district_for_postcode("ZZ1 1AA") == "north"


def broken(change: str) -> dict[str, Any]:
    doc = tiny_force()
    force, (north, south) = doc["force"], doc["districts"]
    if change == "no force":
        del doc["force"]
    elif change == "no timezone":
        del force["timezone"]
    elif change == "district without name":
        del north["name"]
    elif change == "duplicate code":
        south["code"] = "north"
    elif change == "unknown neighbour":
        north["neighbours"] = ["south", "atlantis"]
    elif change == "one-way neighbour":
        south["neighbours"] = []
    elif change == "shared outward code":
        south["outward_codes"] = ["ZZ3", "ZZ1"]
    elif change == "bad outward code":
        south["outward_codes"] = ["ZZ3", "12AB"]
    elif change == "bad timezone":
        force["timezone"] = "Europe/Hertford"
    return doc


@pytest.mark.parametrize(("change", "message"), [
    ("no force", r"missing key\(s\) force"),
    ("no timezone", r"force: missing key\(s\) timezone"),
    ("district without name", r"districts\[0\]: missing key\(s\) name"),
    ("duplicate code", "duplicate district code 'north'"),
    ("unknown neighbour", "neighbour 'atlantis' is not another district"),
    ("one-way neighbour", "neighbours are not symmetric: 'north' lists 'south'"),
    ("shared outward code", "outward code ZZ1 is listed for both 'north' and 'south'"),
    ("bad outward code", "'12AB' is not a valid outward code shape"),
    ("bad timezone", "unknown time zone 'Europe/Hertford'"),
])
def test_a_bad_force_file_is_rejected_naming_the_file_and_problem(
        tmp_path: Path, change: str, message: str) -> None:
    path = write_force(tmp_path, broken(change))
    with pytest.raises(GeographyError, match=message) as info:
        load_force(path)
    assert str(path) in str(info.value)


def test_a_missing_or_unparseable_force_file_is_a_geography_error(tmp_path: Path) -> None:
    with pytest.raises(GeographyError, match="cannot read force file"):
        load_force(tmp_path / "nowhere.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("force: [unclosed", encoding="utf-8")
    with pytest.raises(GeographyError, match="bad.yaml: cannot read force file"):
        load_force(bad)
    not_a_mapping = write_force(tmp_path, ["just", "a", "list"], "list.yaml")
    with pytest.raises(GeographyError, match="the file: must be a mapping"):
        load_force(not_a_mapping)


def test_the_tiny_force_used_above_is_itself_valid(tmp_path: Path) -> None:
    assert broken("nothing") == tiny_force()
    assert load_force(write_force(tmp_path, broken("nothing"))).code == "testshire"
