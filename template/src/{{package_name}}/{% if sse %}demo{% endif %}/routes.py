"""``GET /``: the demo page, with a Content-Security-Policy that allows only itself."""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException

from ..settings import Settings

DEMO_PATH = "/"
PAGE = (files(__package__) / "page.html").read_text(encoding="utf-8")


def _digest(tag: str) -> str:
    """The CSP hash source of the page's one inline ``tag`` element."""
    match = re.search(rf"<{tag}>(.*?)</{tag}>", PAGE, re.DOTALL)
    assert match is not None, f"the demo page has no <{tag}>"
    digest = hashlib.sha256(match.group(1).encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


# Only this page's script and style run; it talks to its own origin (fetch and
# WebSocket) and nothing else loads.
POLICY = (
    f"default-src 'none'; script-src {_digest('script')}; style-src {_digest('style')}; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

router = APIRouter()


@router.get(DEMO_PATH, include_in_schema=False)
async def demo_page(request: Request) -> HTMLResponse:
    """The page; 404 where ``APP_DEMO_PAGE`` (or production) turns it off."""
    settings: Settings = request.app.state.settings
    if not settings.serves_demo_page:
        raise HTTPException(404)
    return HTMLResponse(PAGE)
