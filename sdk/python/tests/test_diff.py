"""diff() and is_secret_name(), checked against the Go rule's own table."""

import os
import re

import pytest

import hashtrail

GO_TEST = os.path.join(os.path.dirname(__file__), "..", "..", "..", "secret_test.go")


def go_vectors():
    """The name table of TestSecretName in the root package."""
    with open(GO_TEST) as f:
        src = f.read()
    body = src[src.index("func TestSecretName"):]
    body = body[: body.index("\n}\n")]
    out = []
    for names, want in re.findall(r"\{\[\]string\{(.*?)\},\s*(true|false)\}", body, re.S):
        for n in re.findall(r'"((?:[^"\\]|\\.)*)"', names):
            out.append((n, want == "true"))
    return out


def test_secret_name_matches_go_table():
    vectors = go_vectors()
    assert len(vectors) > 90
    wrong = [(n, w) for n, w in vectors if hashtrail.is_secret_name(n) != w]
    assert not wrong


@pytest.mark.parametrize("name,want", [
    ("apiKey", True), ("APIKey", True), ("oauth2Token", True), ("tokenIDs", False),
    ("password_changed_at", False), ("secretValue", True), ("X-Api-Key", True), ("monkey", False),
    ("ssn", False), ("OLDPWD", False), ("MYSQL_PWD", True),
])
def test_secret_name_examples(name, want):
    assert hashtrail.is_secret_name(name) is want


def test_diff_wire_shape():
    before = {"name": "Ann", "email": "a@example.com", "password": "old", "age": 30, "gone": 1,
              "address": {"city": "Oslo", "zip": "0150"}, "tags": ["a"]}
    after = {"name": "Ann", "email": "b@example.com", "password": "new", "age": 31, "new": True,
             "address": {"city": "Bergen", "zip": "0150"}, "tags": ["a", "b"]}
    assert hashtrail.diff(before, after) == [
        {"field": "email", "old": "a@example.com", "new": "b@example.com"},
        {"field": "password", "redacted": True},
        {"field": "age", "old": 30, "new": 31},
        {"field": "gone", "old": 1},
        {"field": "address.city", "old": "Oslo", "new": "Bergen"},
        {"field": "tags", "old": ["a"], "new": ["a", "b"]},
        {"field": "new", "new": True},
    ]


def test_diff_options():
    b, a = {"x": 1, "y": 2, "ssn": "1", "api_token": "t"}, {"x": 2, "y": 3, "ssn": "2", "api_token": "t"}
    assert hashtrail.diff(b, a, fields=["y", "x"]) == [{"field": "y", "old": 2, "new": 3},
                                                       {"field": "x", "old": 1, "new": 2}]
    assert hashtrail.diff(b, a, skip=["y"], secret=lambda n: n == "ssn" or hashtrail.is_secret_name(n)) == [
        {"field": "x", "old": 1, "new": 2}, {"field": "ssn", "redacted": True}]
    assert {"field": "api_token", "redacted": True} in hashtrail.diff(b, a, all_fields=True)
    assert hashtrail.diff(None, {"a": 1}) == [{"field": "a", "new": 1}]
    assert hashtrail.diff({"a": None}, {"a": 1}) == [{"field": "a", "old": None, "new": 1}]
    assert hashtrail.diff({"secret": {"a": 1}}, {"secret": {"a": 2}}) == [{"field": "secret", "redacted": True}]


def test_diff_values_become_json():
    import datetime
    import decimal
    d1, d2 = datetime.date(2026, 1, 1), datetime.date(2026, 2, 1)
    assert hashtrail.diff({"d": d1, "p": decimal.Decimal("1.0")}, {"d": d2, "p": decimal.Decimal("1.0")}) == [
        {"field": "d", "old": "2026-01-01", "new": "2026-02-01"}]
