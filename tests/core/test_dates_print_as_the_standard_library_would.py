"""Pages print dates through hand-made formatting (templating.moment, format_datetime),
cheaper than isoformat and strftime: it must say exactly what they would, for any time in
any time zone."""

import re
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup

from app.core.templating import format_datetime, moment

times = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
) | st.builds(
    lambda t, minutes: t.replace(tzinfo=timezone(timedelta(minutes=minutes))),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    st.integers(min_value=-23 * 60, max_value=23 * 60),
)


def parts(shown: str) -> tuple[str, str, str]:
    found = re.fullmatch(r'<time datetime="([^"]+)" title="([^"]+)">([^<]+)</time>', shown)
    assert found, shown
    return found[1], found[2], found[3]


@given(times)
def test_a_moment_says_what_isoformat_and_strftime_say(value):
    utc = value.astimezone(UTC)
    shown = moment(value)
    assert isinstance(shown, Markup)
    iso, title, _ago = parts(shown)
    assert iso == utc.isoformat(timespec="seconds")
    assert title == utc.strftime("%-d %b %Y, %H:%M UTC")
    assert format_datetime(value) == title


def test_a_moment_says_how_long_ago():
    assert parts(moment(datetime.now(UTC) - timedelta(hours=3, minutes=5)))[2] == "3 hours ago"
    assert parts(moment(datetime.now(UTC)))[2] == "just now"
