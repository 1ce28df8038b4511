"""The dashboard's router: every page, behind the session cookie and the permission table."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from finai.web import account, audit, credit, fraud, keys, models, overview, static
from finai.web import assist as assist_pages
from finai.web import governance as governance_pages
from finai.web import monitoring as monitoring_pages
from finai.web.auth import authorize_web
from finai.web.routing import WebRoute

router = APIRouter(
    route_class=WebRoute, include_in_schema=False, dependencies=[Depends(authorize_web)]
)
for _pages in (static, account, overview, models, credit, fraud, audit, keys):
    router.include_router(_pages.router)
router.include_router(governance_pages.router)
router.include_router(monitoring_pages.router)
router.include_router(assist_pages.router)

__all__ = ["router"]
