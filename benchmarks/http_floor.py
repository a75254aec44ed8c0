"""The floor for benchmarks/over_http.py: raw Starlette answering the bytes mockflow answered, nothing else.

    python -m benchmarks.http_floor ANSWERS.json PORT LOOP HTTP
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def endpoint(answers: dict[str, dict[str, Any]]) -> Callable[[Request], Awaitable[Response]]:
    """One route's answer per method, as recorded (the request body is read, as mockflow does)."""
    async def answer(request: Request) -> Response:
        await request.body()
        recorded = answers[request.method]
        return Response(recorded["body"].encode(), status_code=recorded["status"],
                        media_type=recorded["type"] or None)

    return answer


def floor_app(recorded: list[dict[str, Any]]) -> Starlette:
    by_path: dict[str, dict[str, dict[str, Any]]] = {}
    for answer in recorded:
        by_path.setdefault(answer["path"], {})[answer["method"]] = answer
    routes = [Route(path, endpoint(answers), methods=list(answers)) for path, answers in by_path.items()]
    return Starlette(routes=routes)


def main() -> None:
    answers, port, loop, parser = sys.argv[1:5]
    app = floor_app(json.loads(Path(answers).read_text()))
    uvicorn.run(app, host="127.0.0.1", port=int(port), loop=loop, http=parser, ws="none", lifespan="off",
                log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
