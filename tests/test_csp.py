"""Content-Security-Policy (django-csp): scripts only from the project's own origin, no inline
script without the request's nonce, no eval; every page's <script> tags fit that policy."""

import re

import pytest

pytestmark = pytest.mark.django_db

PAGES = ["/radar/", "/scanner/", "/labels/", "/labels/new/", "/accounts/password/change/"]
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)


def _directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def test_login_page_policy_allows_only_own_scripts(client):
    policy = _directives(client.get("/accounts/login/"))
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]  # no nonce needed: the page has no inline script
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    for values in policy.values():
        assert "'unsafe-inline'" not in values and "'unsafe-eval'" not in values


@pytest.mark.parametrize("path", PAGES)
def test_every_script_tag_is_own_file_or_data(user_client, path):
    response = user_client.get(path)
    assert response.status_code == 200
    policy = _directives(response)
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]
    for attributes in SCRIPT_TAG.findall(response.content.decode()):
        # static/js/, or the JavaScript catalog of the page's language (/jsi18n/<language>.js)
        own_file = re.search(r'\bsrc="/(static/|jsi18n/(ko|en)\.js")', attributes)
        data_block = 'type="application/json"' in attributes
        assert own_file or data_block, f"inline or foreign script on {path}: <script{attributes}>"


def test_admin_pages_carry_the_policy(staff_client):
    response = staff_client.get("/admin/")
    assert response.status_code == 200
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]
