"""Test data shared by every app: the password of the test users (the `user`, `other_user` and
`staff_user` fixtures of the root conftest), for tests that log in through the login form, and
the garbage query values every page must answer without a 500."""

PASSWORD = "correct horse battery staple 42"

# Values no query parameter should turn into a 500: empty, junk, out of range, markup, the
# limits of dates and instants.
GARBAGE = [
    "",
    "x",
    "-1",
    "0",
    "nan",
    "inf",
    "1e309",
    "99999999999999999999",
    "2147483648",
    "\x00",
    "<script>",
    "0001-01-01",
    "9999-12-31",
    "0001-01-01T00:00:00",
    "9999-12-31T23:59:59",
]
