"""The start-up floor: FastAPI with one ``GET /health`` and nothing else.

Separate from ``bare_fastapi`` on purpose: that baseline imports the rendered
package's fake and models, so timing its start-up would count part of the
service's own imports in the floor it is compared with.
"""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
