"""The floor for the API-overhead benchmark: FastAPI, one route, nothing of FinAI.

It answers ``GET /v1/models`` with the same shape FinAI returns (a pydantic model
built per request, from a synchronous route, so both go through the same thread
pool and serialisation) but without middleware, authentication or a database.
"""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel


class ModelSummary(BaseModel):
    """One model name, as FinAI's ``ModelSummaryPublic``."""

    name: str
    versions: int
    latest: int
    champion: int | None


class Models(BaseModel):
    """The list, as FinAI's ``ModelsPublic``."""

    data: list[ModelSummary]
    count: int


MODELS = [
    {"name": "bench-model-1", "versions": 1, "latest": 1, "champion": None},
    {"name": "bench-model-2", "versions": 1, "latest": 1, "champion": None},
    {"name": "bench-model-3", "versions": 1, "latest": 1, "champion": None},
]

app = FastAPI()


@app.get("/healthz")
def healthz() -> dict[str, str]:
    """Answer while the process is up (used to wait for start-up)."""
    return {"status": "ok"}


@app.get("/v1/models")
def list_models() -> Models:
    """Return three model summaries."""
    data = [ModelSummary(**m) for m in MODELS]
    return Models(data=data, count=len(data))
