"""Route templates for metric labels: ``/api/v1/ws/chat/{conversation_id}``, never a raw path.

Routers are included with a prefix, and the route a request matched knows only
its own part of the path, so the templates are collected here as routers are
included. A request refused before routing (quota, credentials, body size)
is matched against them by path; one that matches nothing is ``unmatched``,
so no label ever grows with the ids in paths.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from starlette.routing import BaseRoute, compile_path
from starlette.types import Scope

UNMATCHED = "unmatched"


class RouteTemplates:
    """The full path template of every included route."""

    def __init__(self) -> None:
        self._by_route: dict[int, str] = {}
        self._patterns: list[tuple[re.Pattern[str], str]] = []
        self._methods: dict[str, set[str]] = {}

    def add(self, prefix: str, routes: Iterable[BaseRoute]) -> None:
        for route in routes:
            path = getattr(route, "path", None)
            if isinstance(path, str):
                template = prefix + path
                # By identity: routes live as long as the app, and compare by value.
                self._by_route[id(route)] = template
                self._patterns.append((compile_path(template)[0], template))
                methods = getattr(route, "methods", None) or ()
                self._methods.setdefault(template, set()).update(methods)

    def of(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is not None:
            template = self._by_route.get(id(route))
            if template is not None:
                return template
        path: str = scope["path"]
        for pattern, template in self._patterns:
            if pattern.match(path):
                return template
        return UNMATCHED

    def allowed_methods(self, path: str) -> list[str]:
        """Every method some route serves at ``path``, though they are separate routes.

        A 405 names only the methods of the first route that matched the path;
        where one path has a route per method (GraphQL's GET and POST), the
        ``Allow`` header needs them all.
        """
        for pattern, template in self._patterns:
            if pattern.match(path):
                return sorted(self._methods.get(template, ()))
        return []
