"""AUTH-1..4: authentication first, on every operation; organizations isolated."""

from __future__ import annotations

import base64
import re
from functools import partial
from typing import Any

import jsonschema
import pytest

from conformance.checks.success import is_success
from conformance.http.client import UNSET
from conformance.http.redact import Redactor
from conformance.model import Resource
from conformance.model.strategies import minimal_body
from conformance.suite._support.acceptance import refused_by_rule
from conformance.suite._support.asserts import assert_error, assert_ok, same_written, writable_state
from conformance.suite._support.listing import INCONCLUSIVE, look_for
from conformance.suite._support.target import Obj, Target, path_params
from conformance.suite._support.together import together
from conformance.verdicts.notes import record_note
from conformance.verdicts.violation import expect

ITEM_METHODS = ("GET", "POST", "PUT", "DELETE")


def operations(target: Target, resource: Resource, obj: Obj, version: int) -> list[tuple[str, str, Any]]:
    """``(method, path, body)`` of every operation the description declares at ``obj``: the item methods of
    ``resource.methods``, then the collection GET; DELETE comes last, so the others still find the object."""
    body = obj.body if obj.body is not None else minimal_body(resource, version)
    item = [m for m in ITEM_METHODS if m in resource.methods]
    ops = [(m, obj.path, body if m in ("POST", "PUT") else None) for m in item if m != "DELETE"]
    coll = resource.collection_path_for(list(obj.ids.values())[:-1])
    if coll is not None:
        ops.append(("GET", coll, None))
    if "DELETE" in item:
        ops.append(("DELETE", obj.path, None))
    return ops


def version_forms(version: int) -> list[tuple[tuple[int | None, str], str]]:
    """How a request names its version: not at all, by ``/vN`` and by ``X-Version: N`` ((version, via), label)."""
    return [
        ((None, "path"), "no version"),
        ((version, "path"), f"/v{version}"),
        ((version, "header"), f"X-Version: {version}"),
    ]


def _send(target, method, path, form, body, resource, client=None, **kw):
    version, via = form
    return (client or target.client).request(
        method, path, version=version, via=via, json=UNSET if body is None else body, resource=resource.name, **kw
    )


def _operations(target, resource):
    version = target.version_for(resource)
    obj = target.create(resource, version=version)
    return version, obj, operations(target, resource, obj, version)


@pytest.mark.AUTH_1
def test_no_credentials_get_401_everywhere(target, resource):
    version, obj, ops = _operations(target, resource)
    cases = [(method, path, body, form, label) for method, path, body in ops for form, label in version_forms(version)]
    sent = together(target, [partial(_send, target, m, p, f, b, resource, auth=None) for m, p, b, f, _ in cases])
    for (method, path, _, _, label), ex in zip(cases, sent, strict=True):
        assert_error(ex, "AUTH-1", 401, "not_authorized", f"{method} {path} ({label}) without Authorization")
        expect(ex.envelope is not None and ex.data is None, "AUTH-1", "401 response data is not null", ex)
    assert_ok(target.get(resource, obj.path, version=version), "AUTH-1", "the object after unauthenticated writes")


@pytest.mark.AUTH_1
def test_authentication_comes_first(target):
    """Ambiguity 10: 401 whatever the path, version or body."""
    for path, version in (("/cft-no-such-path", None), ("/cft-no-such-path", 999)):
        ex = target.client.request("GET", path, version=version, auth=None)
        assert_error(ex, "AUTH-1", 401, "not_authorized", f"GET {path} (version {version}) without Authorization")


def _bad_credentials(key: str) -> dict[str, str]:
    wrong = base64.b64encode(b"0:" + b"f" * 40).decode()
    return {
        "a wrong key": f"Basic {wrong}",
        "an empty key": "Basic ",
        "the bare scheme": "Basic",
        "a non-Basic scheme": f"Bearer {key}",
        "an undecodable value": "Basic !!!not*base64!!!",
        "the key with a character changed": f"Basic {_last_changed(key)}",
    }


_BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _last_changed(key: str) -> str:
    """``key`` with its last character before any base64 padding changed in its highest bit: near the end (a
    server comparing only a prefix shows), and in a bit every base64 decoder keeps (the low bits of a last
    character before padding are ones a decoder drops, and the padding itself decodes to nothing)."""
    data = key.rstrip("=")
    last = data[-1:] or "A"
    other = _BASE64[_BASE64.index(last) ^ 32] if last in _BASE64 else "A"
    return data[:-1] + other + key[len(data) :]


def near_misses(key: str, keys: tuple[str, ...] = ()) -> dict[str, str]:
    """Credentials a step away from the valid ``key``: each is a wrong key (AUTH-2), however close.

    Only the key verbatim is valid (AUTH-3). Spaces and tabs around it are HTTP's optional whitespace, which
    any HTTP layer may strip, and a line break cannot be sent in a header: neither is probed. Unicode spaces
    are part of the value, sent as UTF-8 (header strings go out as latin-1, so each byte is one character)."""

    def utf8(text: str) -> str:
        return text.encode("utf-8").decode("latin-1")

    middle = len(key) // 2
    changed = "A" if key[middle : middle + 1] != "A" else "B"
    # A key is base64 credentials to a server that decodes it (RFC 7617): a character cut from its padding, or
    # added at its end, decodes to the very same bytes with a lenient decoder (Node's Buffer.from), so the cut
    # is of its data, and the added character goes in the middle.
    data = key.rstrip("=")
    candidates = {
        # a hex or UUID key may be compared without regard to case: the same key in another spelling
        "the key in other letter case": "" if re.fullmatch(r"[0-9A-Fa-f-]+", key) else key.swapcase(),
        "the key followed by a no-break space (U+00A0)": key + utf8("\u00a0"),
        "the key after an ideographic space (U+3000)": utf8("\u3000") + key,
        "a prefix of the key (its last character cut)": data[:-1],
        "the first half of the key": key[:middle],
        "the key plus one character": key[:middle] + "x" + key[middle:],
        "the key with a character in the middle changed": key[:middle] + changed + key[middle + 1 :],
    }
    return {label: f"Basic {value}" for label, value in candidates.items() if value and value not in {key, *keys}}


@pytest.mark.AUTH_2
def test_bad_credentials_get_401(target, resource):
    """A wrong key on every operation in every version form; the other bad credentials each on one of them."""
    version, obj, ops = _operations(target, resource)
    forms = version_forms(version)
    wrong = _bad_credentials("")["a wrong key"]
    cases = [(m, p, b, f, label, "a wrong key", wrong) for m, p, b in ops for f, label in forms]
    for n, (what, header) in enumerate(list(_bad_credentials(target.settings.api_key).items())[1:]):
        (m, p, b), (f, label) = ops[n % len(ops)], forms[n % len(forms)]
        cases.append((m, p, b, f, label, what, header))
    sent = together(target, [partial(_send, target, m, p, f, b, resource, auth=h) for m, p, b, f, _, _, h in cases])
    for (method, path, _, _, label, what, _), ex in zip(cases, sent, strict=True):
        assert_error(ex, "AUTH-2", 401, "not_authorized", f"{method} {path} ({label}) with {what}")


@pytest.mark.AUTH_2
def test_near_miss_keys_get_401(target, resource):
    """Keys a comparison that normalizes (case, whitespace), matches prefixes or decodes would take for
    the valid one; each on one operation, in turn."""
    version, obj, ops = _operations(target, resource)
    keys = tuple(k for k in (target.settings.api_key, target.settings.second_api_key) if k)
    probes = near_misses(target.settings.api_key, keys)
    client = target.client.with_credential(target.client.credential)
    # the probes are the key give or take a step: reports must hold none of them
    client.redactor = Redactor([*keys, *(v for h in probes.values() if len(v := h.removeprefix("Basic ")) >= 8)])
    forms = version_forms(version)
    for n, (what, header) in enumerate(probes.items()):
        method, path, body = ops[n % len(ops)]
        form, label = forms[n % len(forms)]
        raw = not header.isascii()
        ex = _send(target, method, path, form, body, resource, client=client, auth=header, observe=not raw)
        if raw and ex.status == 400:
            continue  # an HTTP layer refusing non-ASCII header bytes (obs-text) before the API: refused is enough
        if raw and client.observer:
            client.observer(ex)  # otherwise judged by the check layer like every response
        assert_error(ex, "AUTH-2", 401, "not_authorized", f"{method} {path} ({label}) with {what}")


@pytest.mark.AUTH_3
def test_valid_key_verbatim_is_accepted(target, resource):
    version, obj, ops = _operations(target, resource)
    for method, path, body in ops:  # one after the other: a write, then reads of what it wrote
        ex = _send(target, method, path, (version, "path"), body, resource)
        expect(ex.status != 401, "AUTH-3", f"{method} with the valid key, sent verbatim, was refused (401)", ex)
        expect(is_success(ex.status), "AUTH-3", f"{method} {path} with the valid key got HTTP {ex.status}", ex)


ORACLE = "an existence oracle: the answer tells the second organization the id is taken elsewhere"


def _own_write(target, resource, path, body, method, version, other, what):
    """The second organization's write at an id the first holds: a create of its own (Ambiguity 16)."""
    return _judge_own(target.write(resource, path, body, method=method, version=version, client=other), what)


def _own_parent(target, node, ids, version, other):
    """The second organization's parent at an id the first holds. A ``403 validation_failed`` there is an oracle
    only if the same body is accepted at a free id; refused there too, it is the vendor's own rule (a name
    already taken within the second organization, Ambiguity 15), and a body the target accepts is written
    instead."""
    path = node.path_for(ids)
    body = known_body(target, node, version)
    ex = target.write(node, path, body, version=version, client=other)
    if refused_by_rule(ex):
        _no_oracle(target, node, ids, body, version, other, ex)
        _, ex = target.accepted_body(node, path, version=version, client=other, record_gaps=False)
    return _judge_own(ex, node.name)


def _judge_own(ex, what):
    method = ex.method
    oracle = ex.status in (403, 409) or ex.status >= 500
    expect(
        is_success(ex.status),
        "AUTH-4",
        f"{what}: the second organization's {method} to an id the first one holds got HTTP {ex.status}"
        + (f"; {ORACLE}" if oracle else "; it must create the second organization's own object"),
        ex,
    )
    return ex


@pytest.mark.AUTH_4
def test_organizations_are_isolated(target, resource, request):
    if target.second is None:
        pytest.skip("no second organization's key (set CONFORMANCE_SECOND_API_KEY to test AUTH-4)")
    version = target.version_for(resource)
    obj = target.create(resource, version=version)
    first = assert_ok(target.get(resource, obj.path, version=version), "AUTH-4", "the first org reads its object")
    before = writable_state(resource, version, first)
    other = target.second

    def unchanged(after_what: str) -> None:
        got = target.get(resource, obj.path, version=version)
        after = assert_ok(got, "AUTH-4", f"the first org's object after {after_what}")
        expect(
            writable_state(resource, version, after) == before,
            "AUTH-4",
            f"the first organization's object changed after {after_what}",
            got,
        )

    seen = target.get(resource, obj.path, version=version, client=other)
    assert_error(seen, "AUTH-4", 404, "not_found", "the second organization reading the first one's object")
    listed = look_for(target, resource, obj.path, version=version, client=other)
    expect(
        not listed.shows_at_least(1), "AUTH-4", "the second organization lists the first one's objects", listed.exchange
    )
    if not listed.conclusive:
        why = f"whether the second organization lists the first one's objects: {listed.reason}"
        record_note(request, "AUTH-4", INCONCLUSIVE, why)
    gone = target.delete(resource, obj.path, version=version, client=other)
    expect(
        is_success(gone.status) or gone.status == 404,
        "AUTH-4",
        f"the second organization's DELETE of an id only the first holds got HTTP {gone.status}",
        gone,
    )
    unchanged("the second organization's DELETE at its path")

    # Writes: the second organization creates its own objects at the first one's ids, parents first.
    chain = resource.chain()
    for depth, node in enumerate(chain[:-1], start=1):
        ids = dict(zip(path_params(node.item_path), list(obj.ids.values())[:depth], strict=True))
        _own_parent(target, node, ids, version, other)
    accepted = known_body(target, resource, version, obj)
    body = _other_body(resource, version, accepted)
    written = target.write(resource, obj.path, body, version=version, client=other)
    if written.status == 403 and written.error_code == "validation_failed" and body != accepted:
        body = _refused_body(target, resource, obj, body, accepted, version, other, written)
    else:
        _judge_own(written, resource.name)
    if "PUT" in resource.methods:
        _own_write(target, resource, obj.path, body, "PUT", version, other, resource.name)
    unchanged("the second organization wrote at its path")
    # What the second organization reads is its own object; its read-your-writes is IDEM-4's to judge, so only
    # a read of the first organization's object is a finding here.
    theirs = body != accepted
    own = target.get(resource, obj.path, version=version, client=other)
    mine = assert_ok(own, "AUTH-4", "the second organization reading the object it wrote")
    expect(
        not theirs
        or writable_state(resource, version, mine) != before
        or same_written(resource, version, body, mine) == [],
        "AUTH-4",
        "the second organization reads the first one's object at an id where it wrote its own",
        own,
    )
    if "DELETE" in resource.methods:
        gone = target.delete(resource, obj.path, version=version, client=other)
        unchanged("the second organization deleted its own object at the same id")
        if is_success(gone.status):  # a failed delete is IDEM-6's
            again = target.get(resource, obj.path, version=version, client=other)
            expect(
                again.status == 404 or _one(again) is None or writable_state(resource, version, _one(again)) != before,
                "AUTH-4",
                "after deleting its own object, the second organization reads the first one's object at that id",
                again,
            )


def _one(ex):
    """The object a successful item GET answers (``data`` or an array holding just it), else None."""
    data = ex.data if is_success(ex.status) else None
    data = data[0] if isinstance(data, list) and len(data) == 1 else data
    return data if isinstance(data, dict) else None


def _no_oracle(target, resource, ids, body, version, other, refused):
    """A body the second organization was refused (403 validation_failed) at an id the first one holds must be
    refused at a free id too: accepted there, the refusal told it the id is taken elsewhere."""
    free = resource.path_for({**ids, resource.id_param: target.new_id(resource)})
    probe = target.write(resource, free, body, version=version, client=other)
    expect(
        not is_success(probe.status),
        "AUTH-4",
        f"{resource.name}: a body refused (403 validation_failed) at an id the first organization holds was "
        f"accepted at a free id; {ORACLE}",
        refused,
    )


def _refused_body(target, resource, obj, body, accepted, version, other, refused):
    """A changed body refused at the taken id: an oracle if the same body is taken at a free id (the vendor's
    own rule otherwise, Ambiguity 15: then the first organization's body is written)."""
    _no_oracle(target, resource, obj.ids, body, version, other, refused)
    _own_write(target, resource, obj.path, accepted, "POST", version, other, resource.name)
    return accepted


def known_body(target: Target, resource: Resource, version: int, obj: Obj | None = None) -> dict[str, Any]:
    """A body the target accepted for ``resource`` (``obj``'s, else one of the run's), else the smallest valid one."""
    if obj is not None and obj.body is not None:
        return dict(obj.body)
    known = target.acceptance.known(resource, version)
    return dict(known[0]) if known else minimal_body(resource, version)


def _other_body(resource, version, accepted):
    """``accepted`` with one plain string field changed, where the description still allows the result, so whose
    values are read back shows."""
    validator = jsonschema.Draft202012Validator(resource.write_schema_for(version))
    for f in resource.writable(version):
        value = accepted.get(f.name)
        if f.kind == "other" and isinstance(value, str) and "format" not in f.schema and "enum" not in f.schema:
            changed = {**accepted, f.name: value + "X"}
            if validator.is_valid(changed):
                return changed
    return dict(accepted)
