"""The submission bundle of a certification run, and reading one back for ``conformance rerun``.

``bundle.zip`` (written into the report directory at the very end of a ``--profile
certification`` run) holds everything a certifier needs to check a claim and repeat the run:

- ``certification.json``, ``junit.xml``, ``report.html``: the reports as written;
- ``description/``: the target description exactly as used (re-read from its file or URL and
  refused unless its sha256 is the one the run recorded), with every document it references
  by a relative ``$ref``, in their relative places, so the bundle's copy resolves on its own;
- ``waivers.toml``: the run's ``--waivers`` file, when it had one;
- ``run.json``: the effective settings (keys masked), suite version, spec revision, seed,
  profile, target URL, whether it was the bundled reference server, and the pytest
  arguments given after ``--``;
- ``MANIFEST.sha256``: ``sha256sum`` lines for every other file (``sha256sum -c`` checks it).

Every file passes through the redactor once more before it is written. The manifest
detects corruption and edits that did not recompute it; it is not a signature.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import posixpath
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

from conformance.http.redact import Redactor
from conformance.run.config import OPTIONS

BUNDLE_NAME = "bundle.zip"
MANIFEST = "MANIFEST.sha256"
RUN_JSON = "run.json"
REPORTS = ("certification.json", "junit.xml", "report.html")
DESCRIPTION_DIR = "description"
BUNDLE_FORMAT = 1
MAX_BUNDLE_BYTES = 512 * 1024 * 1024  # uncompressed; a bundle is reports and a description, not data
# A rerun repeats every setting of the bundle's run but these: the rerunner's own (TLS trust, keys: they may come
# from its environment or config file, as in `conformance run`), and those a rerun takes elsewhere (target: the
# bundle's or --base-url; description and waivers: the bundle's copies; seed: the one the run drew; report dir).
RERUNNER_OWN = ("ca_bundle", "insecure", "allow_http", "api_key", "second_api_key")
TAKEN_ELSEWHERE = ("base_url", "openapi", "seed", "report_dir", "waivers")
WAIVERS = "waivers.toml"


def repeated_settings() -> tuple[str, ...]:
    """Profile, clause selection, zones, example budgets, timeout, no-shrink, max-rps, ..."""
    return tuple(opt.dest for opt in OPTIONS if opt.dest not in (*RERUNNER_OWN, *TAKEN_ELSEWHERE))


class BundleError(Exception):
    """A bundle cannot be written or read: one line saying why."""


# ---- writing ----------------------------------------------------------------------------------
def write_bundle(report_dir: Path, record: dict[str, Any], redactor: Redactor) -> Path:
    """Write ``report_dir/bundle.zip`` for the run ``record`` (the redacted certification.json dict).

    When it cannot, a ``bundle.zip`` left there by an earlier run is removed: it would pass for this run's."""
    report_dir = Path(report_dir)
    try:
        try:
            return _write(report_dir, record, redactor)
        except OSError as exc:
            raise BundleError(f"cannot write {report_dir / BUNDLE_NAME}: {exc.strerror or exc}") from None
    except BundleError:
        with contextlib.suppress(OSError):
            (report_dir / BUNDLE_NAME).unlink(missing_ok=True)
        raise


def _write(report_dir: Path, record: dict[str, Any], redactor: Redactor) -> Path:
    run = record.get("run") if isinstance(record, dict) else None
    if not isinstance(run, dict):
        raise BundleError("the record has no 'run' identity")
    files: dict[str, bytes] = {}
    for name in REPORTS:
        try:
            files[name] = (report_dir / name).read_bytes()
        except OSError as exc:
            raise BundleError(f"cannot read {report_dir / name}: {exc.strerror or exc}") from None
    _check_same_run(files["certification.json"], run)
    description, about = _description(run)
    files.update(description)
    waivers = (run.get("settings") or {}).get("waivers")
    if waivers:
        try:
            files[WAIVERS] = Path(waivers).read_bytes()
        except OSError as exc:
            raise BundleError(f"cannot read the waivers file {waivers}: {exc.strerror or exc}") from None
    files[RUN_JSON] = (json.dumps(run_info(run, about), indent=2, ensure_ascii=False) + "\n").encode()

    clean = {name: _redact(name, data, redactor, report_dir) for name, data in files.items()}
    for name, data in description.items():
        if clean[name] != data:
            raise BundleError(
                f"the description's {name.removeprefix(DESCRIPTION_DIR + '/')} contains an API key; it is not "
                "bundled (a redacted copy would not be the description as used)"
            )
    clean[MANIFEST] = manifest(clean).encode()

    target = report_dir / BUNDLE_NAME
    tmp = report_dir / f".{BUNDLE_NAME}.{os.getpid()}.tmp"
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name in sorted(clean):
                zf.writestr(name, clean[name])
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BundleError(f"cannot write {target}: {exc.strerror or exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def _check_same_run(raw: bytes, run: dict[str, Any]) -> None:
    """certification.json on disk must be this run's (not a stale file from another run)."""
    try:
        written = json.loads(raw.decode("utf-8"))["run"]
    except (ValueError, KeyError, TypeError):
        raise BundleError("certification.json in the report directory is not a certification record") from None
    for key in ("started_at", "id_prefix", "seed"):
        if written.get(key) != run.get(key):
            raise BundleError(f"certification.json in the report directory is from another run ({key} differs)")


def description_documents(
    source: str, timeout: float = 10.0, verify: bool | str = True, parsed: tuple[str, Any] | None = None
) -> dict[str, str]:
    """The sha256 of every document of the description (the root and all it ``$ref``s), by its bundle name:
    recorded when a run starts (``run.openapi.documents``), so that a referenced schema file changed later
    is caught like a changed root. ``parsed``: the root's sha256 and parsed content as the run read them
    (a large description is not parsed twice). Empty when the description cannot be walked."""
    try:
        files, _ = _read_description(source, timeout, verify, parsed)
    except BundleError:
        return {}
    return {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())}


def _read_description(
    source: str, timeout: float, verify: bool | str, parsed: tuple[str, Any] | None = None
) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The description's documents read from ``source``, laid out under ``description/`` so that relative
    ``$ref`` resolve inside the bundle, with the root's name and what was left out."""
    from conformance.model import DescriptionError

    loader = _recording_loader(timeout, verify)
    try:
        raw, root = loader.read_root(source)
    except DescriptionError as exc:
        raise BundleError(f"cannot re-read the description: {exc}") from None
    if parsed is not None and parsed[0] == hashlib.sha256(raw).hexdigest():
        loader.register(root, parsed[1])
    documents, left_out = _referenced(loader, root, raw, source)
    names = _layout(root, list(documents))
    if len(set(names.values())) < len(names):
        raise BundleError(f"the documents of {source} cannot be laid out in the bundle (two share a file name)")
    files = {names[uri]: data for uri, data in documents.items()}
    return files, {"file": names[root], "not_bundled": left_out}


def _description(run: dict[str, Any]) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The description's documents re-read from their source, each checked against what the run recorded."""
    openapi = run.get("openapi") or {}
    source, expected = openapi.get("source"), openapi.get("sha256")
    if not source or not expected:
        raise BundleError("the record names no description source and sha256")
    settings = run.get("settings") or {}
    verify: bool | str = False if settings.get("insecure") else (settings.get("ca_bundle") or True)
    try:
        timeout = float(settings.get("timeout") or 10.0)
    except (TypeError, ValueError):
        timeout = 10.0
    files, layout = _read_description(source, timeout, verify)
    actual = hashlib.sha256(files[layout["file"]]).hexdigest()
    if actual != expected:
        raise BundleError(
            f"the description {source} changed since the run (sha256 {actual[:12]}…, the run used {expected[:12]}…)"
        )
    changed = _changed_documents(files, openapi.get("documents"))
    if changed:
        raise BundleError(f"the description's {', '.join(changed)} changed since the run (sha256 differs)")
    left_out = layout["not_bundled"]
    return files, {
        "file": layout["file"],
        "files": sorted(files),
        "source": source,
        "sha256": expected,
        "not_bundled": left_out,
    }


def _changed_documents(files: dict[str, bytes], recorded: Any) -> list[str]:
    """Documents whose bytes are not the ones the run recorded (added, removed or edited); none recorded: none."""
    if not isinstance(recorded, dict) or not recorded:
        return []
    now = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    names = sorted(set(now) | set(recorded))
    return [n.removeprefix(DESCRIPTION_DIR + "/") for n in names if now.get(n) != recorded.get(n)]


def _recording_loader(timeout: float, verify: bool | str) -> Any:
    """The model's loader, keeping the raw bytes of every document it reads."""
    from urllib.request import url2pathname

    from conformance.model.documents import Loader as _Loader

    class Recording(_Loader):
        def __init__(self) -> None:
            super().__init__(timeout, verify)
            self.raw: dict[str, bytes] = {}

        def _get(self, url: str, where: str) -> tuple[bytes, str]:
            content, final = super()._get(url, where)
            self.raw[url] = content
            return content, final

        def document(self, uri: str, where: str) -> tuple[Any, str]:
            if uri not in self.docs and urlsplit(uri).scheme == "file":
                with contextlib.suppress(OSError):  # the loader says why
                    self.raw[uri] = Path(url2pathname(urlsplit(uri).path)).read_bytes()
            return super().document(uri, where)

    return Recording()


def _referenced(loader: Any, root: str, raw: bytes, source: str) -> tuple[dict[str, bytes], list[str]]:
    """Every document reachable by ``$ref`` from the root, as read (schemathesis reads more of a description
    than the model does, so all of them), and the references left out: other origins, unreadable ones."""
    from conformance.model import DescriptionError
    from conformance.model.documents import parse as _parse

    if root not in loader.docs:
        try:
            loader.register(root, _parse(raw, source))
        except DescriptionError as exc:
            raise BundleError(f"cannot re-read the description: {exc}") from None
    documents, left_out, seen, queue = {root: raw}, [], {root}, [root]
    while queue:
        uri = queue.pop()
        for ref in _refs(loader.docs[uri]):
            target = urldefrag(urljoin(loader.bases[uri], ref)).url
            if not target or target in seen:
                continue
            seen.add(target)
            if target in loader.docs:
                continue  # one of the suite's own schemas, by its $id
            split, origin = urlsplit(target), urlsplit(root)
            if (split.scheme, split.netloc) != (origin.scheme, origin.netloc) or not unquote(split.path).isprintable():
                left_out.append(target)
                continue
            try:
                loader.document(target, source)
            except DescriptionError:
                left_out.append(target)
                continue
            if target not in loader.raw:
                left_out.append(target)
                continue
            documents[target] = loader.raw[target]
            queue.append(target)
    return documents, sorted(left_out)


def _refs(node: Any) -> list[str]:
    out: list[str] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("$ref"), str):
                out.append(item["$ref"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return out


def _layout(root: str, uris: list[str]) -> dict[str, str]:
    """Bundle paths keeping the documents' relative places: ``description/`` + the path below their common
    directory (a root URL without a file name is called ``openapi``)."""
    paths = {}
    for uri in uris:
        path = unquote(urlsplit(uri).path) or "/"
        if uri == root and path.endswith("/"):
            path += "openapi"
        paths[uri] = posixpath.normpath(path)
    common = posixpath.commonpath([posixpath.dirname(p) for p in paths.values()])
    return {uri: f"{DESCRIPTION_DIR}/{posixpath.relpath(path, common)}" for uri, path in paths.items()}


def run_info(run: dict[str, Any], description: dict[str, Any]) -> dict[str, Any]:
    """``run.json``: what a rerun needs, and what a certifier reads first."""
    settings = dict(run.get("settings") or {})
    for opt in OPTIONS:  # masked already (Settings.public); masked again, whatever produced the record
        if opt.secret:
            settings[opt.dest] = "***" if settings.get(opt.dest) else None
    return {
        "bundle_format": BUNDLE_FORMAT,
        "suite_version": run.get("suite_version"),
        "spec_revision": run.get("spec_revision"),
        "profile": run.get("profile"),
        "seed": run.get("seed"),
        "target": run.get("target"),
        "reference_server": bool(run.get("reference_server")),
        "started_at": run.get("started_at"),
        "description": description,
        "waivers": WAIVERS if settings.get("waivers") else None,
        "settings": settings,
        "pytest_args": list(run.get("pytest_args") or []),
    }


def _redact(name: str, data: bytes, redactor: Redactor, workdir: Path) -> bytes:
    """Belt and braces: every secret form masked, with the escapes each format may hide a key in."""
    if not redactor.active:
        return data
    if name.endswith(".html"):
        from conformance.report.html_redact import redact_report

        with tempfile.TemporaryDirectory(dir=workdir, prefix=".bundle-") as tmp:
            path = Path(tmp) / "report.html"
            path.write_bytes(data)
            redact_report(path, redactor)
            data = path.read_bytes()
        return redactor.bytes(data)
    from conformance.report.certification import scrub_text

    text = data.decode("utf-8", errors="surrogateescape")
    return redactor.bytes(scrub_text(text, redactor).encode("utf-8", errors="surrogateescape"))


def manifest(files: dict[str, bytes]) -> str:
    """``sha256sum`` format: ``<hex>  <name>`` per file, sorted by name."""
    return "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(files.items()))


# ---- reading ----------------------------------------------------------------------------------
@dataclass
class Bundle:
    """A verified, extracted bundle."""

    root: Path
    info: dict[str, Any]  # run.json
    record: dict[str, Any]  # certification.json

    @property
    def certification(self) -> Path:
        return self.root / "certification.json"

    @property
    def description(self) -> Path:
        return self.root / self.info["description"]["file"]


_MANIFEST_LINE = re.compile(r"^([0-9a-f]{64}) [ *](\S.*)$")


def verify(path: Path) -> dict[str, bytes]:
    """Every file of the bundle, once the manifest proves each is intact and nothing was added or removed."""
    path = Path(path)
    if not path.is_file():
        raise BundleError(f"{path}: {'not a file' if path.exists() else 'no such file'}")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if sum(i.file_size for i in infos) > MAX_BUNDLE_BYTES:
                raise BundleError(f"{path}: too large to be a submission bundle")
            files = {}
            for info in infos:
                if info.is_dir():
                    continue
                _safe_name(path, info.filename)
                if info.filename in files:
                    raise BundleError(f"{path}: {info.filename} appears twice")
                files[info.filename] = zf.read(info)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise BundleError(f"{path}: not a readable zip file ({exc})") from None
    except (OSError, RuntimeError, NotImplementedError) as exc:  # unreadable, encrypted, unknown compression
        raise BundleError(f"{path}: cannot read the zip: {exc}") from None
    if MANIFEST not in files:
        raise BundleError(f"{path}: no {MANIFEST}: not a submission bundle")
    listed: dict[str, str] = {}
    try:
        lines = files.pop(MANIFEST).decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise BundleError(f"{path}: {MANIFEST} is not text") from None
    for number, line in enumerate(lines, 1):
        match = _MANIFEST_LINE.match(line)
        if not match:
            raise BundleError(f"{path}: {MANIFEST} line {number} is not '<sha256>  <file>'")
        listed[match[2]] = match[1]
    missing = sorted(set(listed) - set(files))
    extra = sorted(set(files) - set(listed))
    changed = sorted(n for n in listed if n in files and hashlib.sha256(files[n]).hexdigest() != listed[n])
    for problem, names in (("altered", changed), ("missing", missing), ("not in the manifest", extra)):
        if names:
            raise BundleError(f"{path}: tampered or damaged: {problem}: {', '.join(names)}")
    for required in (*REPORTS, RUN_JSON):
        if required not in files:
            raise BundleError(f"{path}: no {required}: not a submission bundle")
    return files


def _safe_name(path: Path, name: str) -> None:
    parts = PurePosixPath(name).parts
    if not parts or name.startswith(("/", "\\")) or ".." in parts or ":" in parts[0] or "\\" in name:
        raise BundleError(f"{path}: unsafe file name {name!r} in the zip")


def extract(path: Path, into: Path) -> Bundle:
    """Verify ``path`` and write its files under ``into``."""
    files = verify(path)
    try:
        info = json.loads(files[RUN_JSON].decode("utf-8"))
        record = json.loads(files["certification.json"].decode("utf-8"))
        description = info["description"]["file"]
        settings = info["settings"]
    except (ValueError, KeyError, TypeError):
        raise BundleError(f"{path}: {RUN_JSON} or certification.json is not what a bundle holds") from None
    if not isinstance(settings, dict) or not isinstance(record, dict) or description not in files:
        raise BundleError(f"{path}: {RUN_JSON} names no description in the bundle")
    if info.get("waivers") and WAIVERS not in files:
        raise BundleError(f"{path}: {RUN_JSON} names waivers the bundle does not hold")
    expected = info["description"].get("sha256")
    if hashlib.sha256(files[description]).hexdigest() != expected:
        raise BundleError(f"{path}: the description's sha256 is not the one {RUN_JSON} records")
    recorded = (record.get("run") or {}).get("openapi") or {}
    if recorded.get("sha256") != expected:
        raise BundleError(f"{path}: certification.json and {RUN_JSON} name different descriptions")
    bundled = {n: d for n, d in files.items() if n.startswith(DESCRIPTION_DIR + "/")}
    changed = _changed_documents(bundled, recorded.get("documents"))
    if changed:
        raise BundleError(f"{path}: the bundled {', '.join(changed)} are not the documents the run used")
    for name, data in files.items():
        target = into / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return Bundle(into, info, record)


def rerun_arguments(bundle: Bundle) -> tuple[dict[str, Any], list[str]]:
    """The bundle's run as ``conformance run`` options (dest -> value) and its pytest arguments."""
    settings = bundle.info["settings"]
    options: dict[str, Any] = {dest: settings.get(dest) for dest in repeated_settings() if dest in settings}
    options["clause"] = list(options.get("clause") or [])
    options["profile"] = bundle.info.get("profile") or options.get("profile")
    options["seed"] = bundle.info.get("seed")  # the seed the run used, also when it was drawn at random
    options["openapi"] = str(bundle.description)
    if bundle.info.get("waivers"):
        options["waivers"] = str(bundle.root / WAIVERS)
    args = bundle.info.get("pytest_args") or []
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise BundleError(f"{RUN_JSON}: pytest_args is not a list of strings")
    return options, args
