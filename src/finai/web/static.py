"""The dashboard's own static files, from an allow-list; plotly.js comes from the plotly package."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from finai.exceptions import NotFound
from finai.web.routing import WebRoute

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@dataclass(frozen=True)
class StaticFile:
    """A file the dashboard may serve: where it lies and its content type."""

    path: Path
    media_type: str


def _files() -> dict[str, StaticFile]:
    plotly_js = Path(str(resources.files("plotly").joinpath("package_data", "plotly.min.js")))
    own = Path(str(resources.files("finai.web").joinpath("static")))
    return {
        "plotly.min.js": StaticFile(plotly_js, "text/javascript; charset=utf-8"),
        "app.css": StaticFile(own / "app.css", "text/css; charset=utf-8"),
    }


FILES = _files()


@router.get("/static/{filename}")
def static_file(filename: str) -> FileResponse:
    """Serve an allow-listed static file; any other name is not found."""
    found = FILES.get(filename)
    if found is None or not found.path.is_file():
        raise NotFound(f"no static file {filename!r}", field="filename")
    return FileResponse(
        found.path, media_type=found.media_type, headers={"Cache-Control": "public, max-age=3600"}
    )
