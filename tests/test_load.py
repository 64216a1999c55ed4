"""Load on the web app: 20 logged-in officers of different comuni for 120 s on loopback,
each looping (bounded by rounds and time) over chat, retrieval, upload and the documents
list, with the extractive provider over the sample corpus. The driver is the one of
`python -m bench.web_load --mixed` (bench/web_mixed.py)."""

from __future__ import annotations

import pytest

from bench.web_mixed import OPERATIONS, missing_from_index, run_mixed, sample_app

USERS = 20
SECONDS = 120


@pytest.mark.slow
def test_twenty_users_mixing_chat_retrieve_and_upload(tmp_path):
    with sample_app(tmp_path, USERS) as (url, assistant, accounts):
        assert len({workspace for _, workspace in accounts}) == 10  # the Ambito's comuni
        result = run_mixed(url, accounts, SECONDS, tmp_path / "uploads")
        missing = missing_from_index(assistant, result.uploads)
    summary = result.summary()
    print(result.as_dict())
    assert result.hung == 0 and result.errors == [], result.errors
    assert all(summary[op]["count"] > 0 for op in OPERATIONS), summary
    # every user got answers
    assert {user for user, _ in accounts} == {u for u, n in result.answers.items() if n > 0}
    # no lost upload: each one listed with its passages right after, and in the index after
    # the run, in its user's workspace, with chunks holding its unique token
    assert result.uploads and all(u.status == "found" for u in result.uploads), [
        (u.name, u.status) for u in result.uploads if u.status != "found"
    ]
    assert missing == [], [(u.name, u.workspace) for u in missing]
    assert len({u.workspace for u in result.uploads}) > 1
