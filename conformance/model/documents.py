"""Reading the documents of a description: a file or an http(s) URL, parsed as JSON or YAML, cached by URI.

Every failure is a :class:`DescriptionError` whose message starts with where the problem is (``file:line``
for a syntax error), because the user has to fix the document.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import requests
import yaml

from conformance.model.resources import DescriptionError
from conformance.spec import facts


class _SafeLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML without implicit timestamps: ``2013-03-27`` in an example stays a string,
    as it would in JSON, so the description round-trips to JSON unchanged."""


_SafeLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse(raw: bytes, where: str) -> Any:
    """The JSON or YAML document ``raw`` holds; ``where`` (a path or URL) starts every error's message."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DescriptionError(f"{where}: not UTF-8 text (byte {e.start})") from None
    if text.lstrip().startswith(("{", "[")):
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            json_error = DescriptionError(f"{where}:{e.lineno}: not valid JSON: {e.msg}")
        try:  # a YAML flow mapping also starts with "{"
            return yaml.load(text, Loader=_SafeLoader)  # a safe loader: no arbitrary objects
        except yaml.YAMLError:
            raise json_error from None
    try:
        return yaml.load(text, Loader=_SafeLoader)  # a safe loader: no arbitrary objects
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise DescriptionError(f"{where}{line}: not valid YAML: {e.problem or e.context}") from None
    except yaml.YAMLError as e:
        raise DescriptionError(f"{where}: not valid YAML: {e}") from None


def _is_url(text: str) -> bool:
    return urlsplit(text).scheme in ("http", "https")


class Loader:
    """Fetches documents by URI (file or http(s)), parses and caches them.

    The suite's own schemas are pre-registered under their ``$id`` so a description
    may ``$ref`` them by absolute URI without having copies next to it.
    """

    def __init__(self, timeout: float, verify: bool | str) -> None:
        self.timeout = timeout
        self.verify = verify
        self.docs: dict[str, Any] = {}
        self.bases: dict[str, str] = {}  # document URI -> URI its relative refs resolve against
        for path in sorted(facts.schemas_dir().glob("*.json")):
            content = json.loads(path.read_text("utf-8"))
            if isinstance(content, dict) and isinstance(content.get("$id"), str):
                self.docs[content["$id"]] = content
                self.bases[content["$id"]] = path.resolve().as_uri()

    def read_root(self, source: str) -> tuple[bytes, str]:
        """The raw bytes of the description at ``source`` (a path, ``file:`` or http(s) URL) and its URI."""
        if _is_url(source):
            return self._get(source, source)
        path = Path(url2pathname(urlsplit(source).path)) if source.startswith("file:") else Path(source)
        path = path.expanduser()
        try:
            return path.read_bytes(), path.resolve().as_uri()
        except OSError as e:
            raise DescriptionError(f"{source}: cannot read the description: {e.strerror or e}") from None

    def _get(self, url: str, where: str) -> tuple[bytes, str]:
        try:
            response = requests.get(url, timeout=self.timeout, verify=self.verify)
        except requests.RequestException as e:
            raise DescriptionError(f"{where}: cannot fetch {url}: {type(e).__name__}: {e}") from None
        if response.status_code != 200:
            raise DescriptionError(f"{where}: fetching {url} answered HTTP {response.status_code}")
        return response.content, response.url

    def register(self, uri: str, doc: Any) -> None:
        self.docs[uri] = doc
        self.bases[uri] = uri

    def document(self, uri: str, where: str) -> tuple[Any, str]:
        """The parsed document at ``uri`` (no fragment) and its base URI."""
        if uri not in self.docs:
            scheme = urlsplit(uri).scheme
            if scheme == "file":
                path = Path(url2pathname(urlsplit(uri).path))
                try:
                    raw = path.read_bytes()
                except OSError as e:
                    raise DescriptionError(f"{where}: $ref target {path} cannot be read: {e.strerror}") from None
                self.register(uri, parse(raw, str(path)))
            elif scheme in ("http", "https"):
                raw, final = self._get(uri, where)
                self.register(uri, parse(raw, uri))
                self.bases[uri] = final
            else:
                raise DescriptionError(f"{where}: $ref to {uri!r} cannot be resolved")
        return self.docs[uri], self.bases[uri]
