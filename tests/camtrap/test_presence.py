"""Effort and independent events on hand-built tables with known answers."""

from __future__ import annotations

import pandas as pd

from skywatch.camtrap.presence import independent_events


def test_events_closer_than_30_minutes_are_one() -> None:
    t = pd.to_datetime(
        [
            "2025-06-01T21:00:00+10:00",
            "2025-06-01T21:20:00+10:00",
            "2025-06-01T21:55:00+10:00",
            "2025-06-01T21:05:00+10:00",
        ],
        utc=True,
    )
    obs = pd.DataFrame(
        {
            "eventID": ["e1", "e2", "e3", "e4"],
            "locationID": ["S1", "S1", "S1", "S2"],
            "scientificName": ["Panthera pardus orientalis"] * 4,
            "observationType": ["animal"] * 4,
            "eventStart": t,
        }
    )
    ev = independent_events(obs)
    assert sorted(ev.eventID) == ["e1", "e3", "e4"]  # e2 is 20 min after e1 at the same station
