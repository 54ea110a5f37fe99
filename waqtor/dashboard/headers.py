"""Security headers for every page the gateway serves to a browser (the dashboard, the test page).

One place, so a page cannot forget one: the caller brings its Content-Security-Policy, the rest is the
same everywhere. The pages hold no secret (the user types the key into them), but they handle one, so
they must not be framed (clickjacking), leak their URL to other sites, or have their files sniffed as
another type.
"""

from __future__ import annotations

# The dashboard's policy: its own files only, no inline script or style, images also from the blob: URLs
# it makes for QR codes, and fetch/WebSocket only back to the gateway ('self' covers ws: and wss: on the
# same host and port in CSP Level 3).
DASHBOARD_CSP = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' blob:",
    "connect-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
])

# The API documentation pages (waqtor.dashboard.api_docs): the gateway's own files only, no inline
# script, fetch only from the gateway. Swagger UI's stylesheet draws its icons from data: URLs.
SWAGGER_CSP = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
])
# ReDoc also styles its parts with <style> elements it writes itself ('unsafe-inline' for styles only:
# no script runs from it) and runs its search in a worker made from a blob: URL. Its footer's logo on
# Redocly's CDN is refused like any other site (ReDoc then leaves it out).
REDOC_CSP = SWAGGER_CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'") + "; worker-src blob:"


def page_headers(csp: str, *, cache: str = "no-cache") -> dict[str, str]:
    """The headers for a page or asset under the policy `csp`. `no-cache` lets the browser keep a copy
    but revalidate it (ETag) on every load, so an upgraded gateway never runs yesterday's script."""
    return {
        "Content-Security-Policy": csp,
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cache-Control": cache,
    }

