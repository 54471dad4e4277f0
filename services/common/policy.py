"""Rego policy evaluation behind one interface, with two engines.

* :class:`PolicyEngine` — the embedded default: regorus (``hobofan_regorus``) in-process.
* :class:`OpaEngine` — an OPA server (the production sidecar) queried over its REST Data API
  with ``opa-python-client``; chosen by :func:`policy_engine` when ``OPA_URL`` is set.

Both evaluate the same policies: ``policies/`` at the repository root (``*.rego``;
``*_test.rego`` files are skipped). Rule paths are full data references, e.g.
``data.woms.smoke.allow``. See ``docs/policies.md``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

import requests
from hobofan_regorus import Engine
from opa_client import OpaClient
from opa_client.errors import RegoParseError

from services.common.settings import Settings, get_settings

POLICIES_DIR = Path(__file__).resolve().parents[2] / "policies"
"""Default policy root: ``<repo>/policies``."""


class PolicyError(RuntimeError):
    """A policy could not be loaded or a rule could not be evaluated (bad Rego, bad rule path,
    an evaluation error reported by the engine)."""


class PolicyUnavailable(PolicyError):
    """The policy engine cannot be reached (OPA down, refused, timed out or answering 502-504).

    HTTP APIs answer 503 (``services.common.web.policies``), never 500.
    """


@runtime_checkable
class PolicyEvaluator(Protocol):
    """What callers need from a policy engine: one rule's value for one input document."""

    def evaluate(self, rule: str, input: Mapping[str, Any]) -> Any:
        """Evaluate ``rule`` (``"data.<package>.<rule>"``) for ``input`` (a JSON-like mapping).

        Returns:
            The rule's value as Python data, or ``None`` when the rule is undefined for this
            input. Rego sets come back as ``set`` from regorus and as ``list`` from OPA (JSON
            has no sets): compare set-valued rules such as ``reasons`` as sets.
        """
        ...


def policy_files(root: Path = POLICIES_DIR) -> list[Path]:
    """Return the ``*.rego`` files under ``root`` (recursive, sorted), tests excluded."""
    return sorted(p for p in root.rglob("*.rego") if not p.name.endswith("_test.rego"))


class PolicyEngine:
    """The embedded engine: a loaded set of Rego policies evaluated in-process by regorus.

    :meth:`evaluate` works on one clone of the loaded engine, kept between calls: each call
    replaces the whole input (``set_input``) and regorus clears its evaluation state before
    every ``eval_rule``, so inputs never leak between calls (``tests/unit/
    test_policy_engine_reuse.py`` compares it with a fresh clone per call). Reusing the clone
    keeps regorus' prepared state: about 5× cheaper than a fresh clone per call (0.045 against
    0.22 ms per decision, issue 9 "Load"). After a failed evaluation the clone is dropped and
    the next call starts from a fresh one. A regorus engine is bound to the thread that
    created it (it panics when used from another): keep one instance per thread.
    """

    def __init__(self, root: Path = POLICIES_DIR, extra_files: Iterable[Path] = ()) -> None:
        """Load every policy under ``root`` plus ``extra_files`` (e.g. ``*_test.rego``).

        Raises:
            FileNotFoundError: when ``root`` is not a directory.
            RuntimeError: (from regorus) when a file does not parse.
        """
        if not root.is_dir():
            raise FileNotFoundError(f"policy directory not found: {root}")
        self._engine = Engine()
        packages: set[str] = set()
        for path in [*policy_files(root), *extra_files]:
            packages.add(self._engine.add_policy_from_file(str(path)))
        self.packages: frozenset[str] = frozenset(packages)
        """Loaded packages as data refs, e.g. ``{"data.woms.smoke"}``."""
        self._working: Engine | None = None

    def evaluate(self, rule: str, input: Mapping[str, Any]) -> Any:
        """Evaluate ``rule`` (e.g. ``"data.woms.smoke.allow"``) for ``input``.

        Returns:
            The rule's value as Python data (bool, number, str, list, dict, set),
            or ``None`` when the rule is undefined for this input.

        Raises:
            RuntimeError: (from regorus) when ``rule`` names no rule or evaluation fails.
        """
        engine = self._working
        if engine is None:
            engine = self._working = self._engine.clone()
        try:
            # as JSON text: the binding's set_input turns Python booleans into numbers (True
            # arrives as 1.0, so `input.x == true` never holds); sets become sorted arrays
            engine.set_input_json(json.dumps(dict(input), default=_jsonable))
            return engine.eval_rule(rule)
        except BaseException:
            self._working = None
            raise


RegorusEngine = PolicyEngine
"""The embedded engine under its engine name (``PolicyEngine`` is kept for existing callers)."""


class OpaEngine:
    """An OPA server queried over HTTP with ``opa-python-client`` (``POST /v1/data/<path>``).

    By default the constructor uploads every policy under ``root`` (``PUT /v1/policies/<id>``,
    the id being the path relative to ``root``, e.g. ``woms/tasks/authz.rego``); with
    ``upload=False`` the server is expected to hold them already (an OPA bundle). Unlike
    :class:`PolicyEngine` it may be shared between threads (each call is one HTTP request on
    a pooled ``requests`` session).

    Differences from regorus: set-valued rules come back as lists, and a rule path naming no
    rule is undefined (``None``) in OPA instead of an error.
    """

    def __init__(
        self,
        url: str,
        *,
        upload: bool = True,
        root: Path = POLICIES_DIR,
        extra_files: Iterable[Path] = (),
        timeout_s: float = 2.0,
        retries: int = 1,
        token: str | None = None,
    ) -> None:
        """Connect to the OPA server at ``url`` (``http[s]://host[:port]``, no path).

        Args:
            url: OPA base URL, e.g. ``http://127.0.0.1:8181`` (``OPA_URL``).
            upload: upload the policies of ``root`` and ``extra_files`` now (``False``: they
                come from a bundle the server loaded itself).
            root: policy root, as for :class:`PolicyEngine`.
            extra_files: more policy files, uploaded under their file name.
            timeout_s: per-request timeout in seconds.
            retries: retries of a failed connection (and of 500/502/504 answers).
            token: bearer token when the server requires one.

        Raises:
            ValueError: when ``url`` is not ``http[s]://host[:port]``.
            FileNotFoundError: when uploading and ``root`` is not a directory.
            PolicyUnavailable: when uploading and the server cannot be reached.
            PolicyError: when uploading and the server rejects a policy.
        """
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"OPA_URL must be http[s]://host[:port], got {url!r}")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(f"OPA_URL must not have a path or query, got {url!r}")
        https = parts.scheme == "https"
        self.url = f"{parts.scheme}://{parts.netloc}"
        """The server's base URL, e.g. ``http://127.0.0.1:8181``."""
        self._client = OpaClient(
            host=parts.hostname,
            port=parts.port or (443 if https else 80),
            ssl=https,
            timeout=timeout_s,
            retries=retries,
            token=token,
        )
        if upload:
            if not root.is_dir():
                raise FileNotFoundError(f"policy directory not found: {root}")
            files = [(p.relative_to(root).as_posix(), p) for p in policy_files(root)]
            self.load([*files, *((p.name, p) for p in extra_files)])

    def load(self, policies: Iterable[tuple[str, Path]]) -> None:
        """Upload ``(policy id, file)`` pairs, replacing policies of the same id.

        Raises:
            PolicyUnavailable: when the server cannot be reached.
            PolicyError: when the server rejects a policy (the message gives its errors).
        """
        for policy_id, path in policies:
            try:
                self._client.update_policy_from_file(str(path), endpoint=policy_id)
            except RegoParseError as exc:
                raise PolicyError(f"OPA rejected policy {policy_id}: {exc}") from exc
            except requests.RequestException as exc:
                raise self._failure(f"uploading {policy_id}", exc) from exc

    def healthy(self) -> bool:
        """Whether the server answers ``GET /health`` with 200."""
        return bool(self._client.check_health())

    def evaluate(self, rule: str, input: Mapping[str, Any]) -> Any:
        """Evaluate ``rule`` (e.g. ``"data.woms.smoke.allow"``) for ``input`` on the server.

        ``input`` must be JSON-serialisable; sets and tuples are sent as arrays.

        Returns:
            The rule's value as JSON data (bool, number, str, list, dict), or ``None`` when
            the server answers without ``result`` (the rule is undefined for this input).

        Raises:
            ValueError: when ``rule`` does not start with ``data.``.
            PolicyUnavailable: when the server cannot be reached.
            PolicyError: when the server reports an evaluation error.
        """
        if not rule.startswith("data.") or len(rule) <= len("data."):
            raise ValueError(f"rule must be a data reference like data.pkg.rule, got {rule!r}")
        document = json.loads(json.dumps(dict(input), default=_jsonable))
        try:
            answer = self._client.query_rule(document, package_path=rule[len("data.") :])
        except requests.RequestException as exc:
            raise self._failure(f"evaluating {rule}", exc) from exc
        return answer.get("result")

    def close(self) -> None:
        """Close the HTTP session."""
        self._client.close_connection()

    def _failure(self, doing: str, exc: requests.RequestException) -> PolicyError:
        """The exception for a failed request: unreachable → :class:`PolicyUnavailable`."""
        response = exc.response
        if response is None or response.status_code in (502, 503, 504):
            return PolicyUnavailable(f"OPA at {self.url} unavailable while {doing}: {exc}")
        try:
            message = response.json().get("message", response.text)
        except ValueError:
            message = response.text
        return PolicyError(f"OPA at {self.url} failed {doing}: {response.status_code} {message}")


def _jsonable(value: object) -> Any:
    """``json.dumps`` fallback: sets become sorted arrays."""
    if isinstance(value, set | frozenset):
        return sorted(value, key=lambda v: json.dumps(v, sort_keys=True, default=_jsonable))
    raise TypeError(f"policy input value of type {type(value).__name__} is not JSON")


def policy_engine(settings: Settings | None = None, *, upload: bool = True) -> PolicyEvaluator:
    """The engine the settings ask for: :class:`OpaEngine` when ``OPA_URL`` is set (policies
    uploaded unless ``upload=False`` or ``OPA_UPLOAD=false``, e.g. when the server loads them
    as a bundle), else a new :class:`PolicyEngine` (one per thread).

    Raises:
        ValueError, PolicyUnavailable, PolicyError: as :class:`OpaEngine` (OPA only).
    """
    settings = settings or get_settings()
    if settings.opa_url:
        return OpaEngine(settings.opa_url, upload=upload and settings.opa_upload)
    return PolicyEngine()
