"""Checks that a response conforms to openapi.yaml: documented status, media type and body."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema

from server.http.openapi import load_spec, pointer, spec_registry


class SpecChecker:
    """Validates responses against the spec; records which operations the tests exercised."""

    def __init__(self) -> None:
        self.spec = load_spec()
        self.registry = spec_registry(self.spec)
        # Literal paths before templated ones, as the server matches them.
        self._paths = sorted(
            ((re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", p) + "$"), p)
             for p in self.spec["paths"]),
            key=lambda item: item[1].count("{"))
        self.seen: set[tuple[str, str, int]] = set()

    def template(self, method: str, path: str) -> str | None:
        """The template a concrete path and method match, as the server's router picks it."""
        matching = [t for regex, t in self._paths if regex.match(path)]
        with_method = [t for t in matching if method.lower() in self.spec["paths"][t]]
        return (with_method or matching or [None])[0]

    def check(self, method: str, path: str, status: int, content_type: str,
              body: bytes) -> None:
        """Raise AssertionError if the response is not what the spec documents."""
        template = self.template(method, path)
        if template is None or method.lower() not in self.spec["paths"][template]:
            # Unknown routes and methods must still answer with a problem document.
            assert status in (404, 405), f"{method} {path}: undocumented route got {status}"
            self._check_body(pointer("components", "schemas", "Problem"), body)
            return
        op = self.spec["paths"][template][method.lower()]
        responses = op["responses"]
        if status == 405 and "405" not in responses:
            # The router refused the method for this concrete path (e.g. /neighbourhoods/locate
            # is not an {id}): any route may answer that, always as a problem document.
            self._check_body(pointer("components", "schemas", "Problem"), body)
            return
        assert str(status) in responses, (
            f"{method} {template}: status {status} is not documented ({sorted(responses)})")
        self.seen.add((method.upper(), template, status))
        response = responses[str(status)]
        base = ["paths", template, method.lower(), "responses", str(status)]
        if "$ref" in response:
            base = response["$ref"].removeprefix("#/").split("/")
            response = self._node(base)
        content = response.get("content")
        if not content:
            assert not body, f"{method} {template} {status}: documented without a body"
            return
        assert content_type in content, (
            f"{method} {template} {status}: {content_type} not in {sorted(content)}")
        if content_type.endswith("json"):
            self._check_body(pointer(*base, "content", content_type, "schema"), body)

    def _node(self, parts: list[str]) -> dict[str, Any]:
        node: Any = self.spec
        for part in parts:
            node = node[part]
        result: dict[str, Any] = node
        return result

    def _check_body(self, schema_pointer: str, body: bytes) -> None:
        validator = jsonschema.Draft202012Validator(
            {"$ref": schema_pointer}, registry=self.registry,
            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
        validator.validate(json.loads(body))
