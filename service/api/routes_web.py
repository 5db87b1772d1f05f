"""The web chat page (docs/web.md): static HTML, CSS and ES modules from this package,
served by the same process as the API. The page itself holds no data, so it is public;
every call it makes goes through the API with the user's key."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

#: Package data: index.html, app.css and the page's ES modules.
WEB_DIR = Path(__file__).with_name("web")
#: URL prefix of the page's assets.
ASSETS_PATH = "/web"
#: Paths the page is served at, public whether or not API keys are set.
PAGE_PATHS = frozenset({"/", "/web", "/favicon.ico"})

router = APIRouter(include_in_schema=False)


@router.get("/")
def page() -> FileResponse:
    # no-cache: revalidate (ETag) so a new release is picked up on the next visit
    return FileResponse(WEB_DIR / "index.html", headers={"Cache-Control": "no-cache"})


@router.get("/web")
def page_alias() -> RedirectResponse:
    return RedirectResponse("/")


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    return FileResponse(WEB_DIR / "favicon.svg", media_type="image/svg+xml")


def mount_page(app: FastAPI) -> None:
    app.include_router(router)
    app.mount(ASSETS_PATH, StaticFiles(directory=WEB_DIR), name="web")
