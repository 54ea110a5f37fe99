"""A wrong method is 405 with every method of the path in `Allow` (waqtor/api/methods.py): on every route
of the API document, for unknown methods, for the pages, and for a path that names an action (never taken
for the id of a route with a parameter)."""

from __future__ import annotations

import re

from tests.api.test_bad_input import PATH_VALUES, assert_error
from tests.conftest import Harness


def documented(gw: Harness) -> dict[str, set[str]]:
    """Each path of /openapi.json with its methods."""
    return {path: {m.upper() for m in operations} for path, operations in gw.app.openapi()["paths"].items()}


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES.get(m[1], "x" * 12), path)


def allow(response) -> set[str]:  # type: ignore[no-untyped-def]
    return {method.strip() for method in response.headers["allow"].split(",")}


async def test_an_action_path_answers_405_to_the_methods_of_a_route_with_a_parameter(gw: Harness) -> None:
    paths = documented(gw)
    shadowed = [(method, path, own) for path, own in paths.items() if "{" not in path
                for template, theirs in paths.items() if "{" in template
                and re.fullmatch(re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template)), path)
                for method in theirs - own]
    assert ("GET", "/api/messages/send", {"POST"}) in shadowed
    for method, path, own in shadowed:
        response = await gw.client.request(method, path)
        assert_error(response, 405, "method_not_allowed")
        assert allow(response) == own, (method, path)


async def test_an_unknown_method_on_every_route_is_405_listing_all_the_paths_methods(gw: Harness) -> None:
    paths = documented(gw)
    assert paths["/api/webhooks/{webhook_id}"] == {"GET", "PATCH", "DELETE"}  # three routes, one path
    for path, methods in paths.items():
        response = await gw.client.request("PROPFIND", concrete(path))
        assert_error(response, 405, "method_not_allowed")
        assert allow(response) == methods, path
        assert response.json()["error"]["message"] == (
            f"PROPFIND is not allowed here; this path allows {response.headers['allow']}.")


async def test_a_known_method_a_path_lacks_is_405_with_the_other_routes_methods_too(gw: Harness) -> None:
    for method, path, methods in [("DELETE", "/api/campaigns", {"GET", "POST"}),
                                  ("PUT", "/api/webhooks/" + "w" * 12, {"GET", "PATCH", "DELETE"}),
                                  ("POST", "/dashboard/index.html", {"GET", "HEAD"}),
                                  ("DELETE", "/", {"GET", "HEAD"})]:
        response = await gw.client.request(method, path)
        assert_error(response, 405, "method_not_allowed")
        assert allow(response) == methods, path


async def test_the_right_method_still_reaches_its_route(gw: Harness) -> None:
    assert_error(await gw.client.post("/api/messages/send", json={}), 422, "validation_error")
    assert_error(await gw.client.get("/api/messages/123"), 404, "message_not_found")
    assert (await gw.client.get("/api/messages/export")).status_code == 200
