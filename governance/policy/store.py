"""Policies: the Casbin model and policy, ethical-use rules and thresholds in ``policies/``.

The policy version is the SHA-256 over every file's name and content. The files are read
again at most every ``refresh_seconds`` and compared by content (their bytes, not their
modification time or size, which an edit may keep), so every edit takes effect without a
restart; the policy set is rebuilt only when the content changed, from the very bytes
compared. A file that is missing, unreadable (permissions, a directory in its place) or
malformed makes :meth:`PolicyStore.current` raise :class:`PolicyError`: every decision is
withheld until the files are fixed.

At scale the Casbin lines live in the governance database
(:class:`~governance.policy.rules.DatabaseRules`). The store then re-reads them when their
generation stamp moves, and learns that it moved from a watcher
(:mod:`governance.policy.watch`: PostgreSQL LISTEN/NOTIFY or Redis pub/sub) at once, or,
should a notification be lost, by comparing the stamp itself: every ``refresh_seconds``
while the watcher is not listening, every ``recheck_seconds`` while it is. A stamp or
lines that cannot be read fail closed like a broken file.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import casbin
from casbin.model import Model
from casbin.persist.adapter import Adapter, load_policy_line

from governance.errors import PolicyError
from governance.policy.credibility import CREDIBILITY_FILE, parse_credibility
from governance.policy.feature_codes import FEATURE_CODES_FILE, parse_feature_codes
from governance.policy.fhir_terms import FHIR_TERMS_FILE, parse_fhir_terms
from governance.policy.observation_kinds import OBSERVATION_KINDS_FILE, parse_observation_kinds
from governance.policy.recalibration import RECALIBRATION_FILE, parse_recalibration
from governance.policy.research import RESEARCH_FILE, parse_research
from governance.policy.rules import DatabaseRules, Rule
from governance.policy.watch import PolicyWatcher

MODEL_FILE = "rbac_model.conf"
POLICY_FILE = "rbac_policy.csv"
ETHICS_FILE = "ethics.toml"
THRESHOLDS_FILE = "thresholds.toml"
REQUIRED_FILES = (
    MODEL_FILE,
    POLICY_FILE,
    ETHICS_FILE,
    THRESHOLDS_FILE,
    CREDIBILITY_FILE,
    OBSERVATION_KINDS_FILE,
    FHIR_TERMS_FILE,
    FEATURE_CODES_FILE,
    RECALIBRATION_FILE,
    RESEARCH_FILE,
)
ENVELOPE_ACTIONS = frozenset({"withhold", "warn"})
_MAX_MEMO = 10_000


@dataclass(frozen=True)
class AccessDecision:
    allowed: bool
    #: The policy line that matched (empty when nothing matched).
    rule: tuple[str, ...]


@dataclass(frozen=True)
class EthicsRules:
    purposes: frozenset[str]
    prohibited_purposes: frozenset[str]
    out_of_envelope: Mapping[str, str]

    def envelope_action(self, purpose: str) -> str:
        return self.out_of_envelope.get(purpose, self.out_of_envelope["default"])


class PolicySet:
    """One consistent, immutable reading of the policy files."""

    def __init__(
        self,
        directory: Path,
        lines: Sequence[Rule] | None = None,
        contents: Mapping[str, str] | None = None,
    ) -> None:
        """``lines``: the Casbin lines read from the database (the scale path); without
        them, ``rbac_policy.csv``. ``contents``: the files as already read (by name), so
        that exactly what was compared is enforced; without them, read now."""
        contents = dict(read_policy_files(directory) if contents is None else contents)
        self.directory = directory
        logging.getLogger("casbin").setLevel(logging.WARNING)
        # As Casbin's file adapter reads the CSV: line by line.
        policy = contents[POLICY_FILE].split("\n")
        if lines is not None:
            # At scale the lines live in the database: they, not the CSV, are versioned,
            # and exactly the lines that were versioned are enforced.
            policy = [", ".join(line) for line in lines]
            contents[POLICY_FILE] = "\n".join(policy)
        self.version = _content_hash(contents)
        try:
            model = Model()
            model.load_model_from_text(contents[MODEL_FILE])
            self._enforcer = casbin.Enforcer(model, _PolicyLines(policy))
        except Exception as exc:  # casbin raises plain exceptions on syntax errors
            raise PolicyError(f"{MODEL_FILE}/{POLICY_FILE} cannot be loaded: {exc}") from exc
        self._lock = threading.Lock()
        self._decisions: dict[tuple[str, str, str, str, str], AccessDecision] = {}
        policy_lines = self._enforcer.get_policy()
        if not policy_lines:
            raise PolicyError(f"{POLICY_FILE} grants nothing; refusing to run on it")
        self.roles = frozenset(str(line[0]) for line in policy_lines)
        self.ethics = _parse_ethics(contents[ETHICS_FILE])
        self.thresholds = _parse_toml(THRESHOLDS_FILE, contents[THRESHOLDS_FILE])
        bias = self.thresholds.get("bias_audit")
        if not isinstance(bias, dict) or not isinstance(bias.get("max_age_days"), int | float):
            raise PolicyError(f"{THRESHOLDS_FILE}: [bias_audit] max_age_days is required")
        self.bias_audit_limits: Mapping[str, Any] = bias
        self.bias_audit_max_age_days = float(bias["max_age_days"])
        self.credibility = parse_credibility(contents[CREDIBILITY_FILE])
        self.observation_kinds = parse_observation_kinds(contents[OBSERVATION_KINDS_FILE])
        self.fhir_terms = parse_fhir_terms(
            contents[FHIR_TERMS_FILE], self.ethics.purposes, self.observation_kinds
        )
        #: The CDS Hooks services and their FHIR feature map (:mod:`api.cds`).
        self.feature_codes = parse_feature_codes(contents[FEATURE_CODES_FILE])
        self.recalibration = parse_recalibration(contents[RECALIBRATION_FILE])
        #: Research's limits: minimum cell size, cohort sizes (:mod:`.research`).
        self.research = parse_research(contents[RESEARCH_FILE])

    def allows(
        self, role: str, site: str | None, target: str | None, obj: str, act: str
    ) -> AccessDecision:
        """Casbin check; ``site`` is the caller's site, ``target`` the resource's.

        A policy set is immutable, so decisions are memoised (bounded) per request tuple.
        """
        key = (role, site or "", target or "", obj, act)
        decision = self._decisions.get(key)
        if decision is not None:
            return decision
        with self._lock:  # the enforcer is not documented as thread-safe
            allowed, explain = self._enforcer.enforce_ex(*key)
            decision = AccessDecision(bool(allowed), tuple(str(x) for x in explain))
            if len(self._decisions) >= _MAX_MEMO:
                self._decisions.clear()
            self._decisions[key] = decision
        return decision


class _PolicyLines(Adapter):  # type: ignore[misc]
    """A read-only Casbin adapter over policy lines already read (one consistent
    snapshot), each read as Casbin's file adapter reads a line of a CSV file."""

    def __init__(self, lines: Sequence[str]) -> None:
        self._lines = lines

    def load_policy(self, model: Any) -> None:
        for line in self._lines:
            load_policy_line(line.strip(), model)


class PolicyStore:
    """Serves the current :class:`PolicySet`, reloading when the files (or, at scale, the
    policy lines in the database) change."""

    def __init__(
        self,
        directory: Path,
        refresh_seconds: float = 0.5,
        rules: DatabaseRules | None = None,
        watcher: PolicyWatcher | None = None,
        recheck_seconds: float = 5.0,
    ) -> None:
        self.directory = directory
        self.rules = rules
        self.watcher = watcher
        self.refresh_seconds = refresh_seconds
        self.recheck_seconds = recheck_seconds
        self._lock = threading.Lock()
        self._checked_at = 0.0
        self._rules_checked_at = 0.0
        #: Raised by the watcher's thread on every notification; ``_seen`` is the count
        #: the last generation read covers.
        self._notices = 0
        self._seen = 0
        self._stamp: tuple[Any, ...] | None = None
        self._current: PolicySet | None = None
        self._error: PolicyError | None = None
        if watcher is not None:
            watcher.set_update_callback(self._notified)

    def _notified(self) -> None:
        self._notices += 1  # only the watcher's thread writes it

    def start_watching(self) -> None:
        """Start the watcher's listener (API workers; one-shot CLI commands do not)."""
        if self.watcher is not None:
            self.watcher.start()

    def stop_watching(self) -> None:
        if self.watcher is not None:
            self.watcher.close()

    def watch_state(self) -> str:
        """For ``/health``: how this worker learns of policy-line changes."""
        if self.rules is None:
            return f"files: checked every {self.refresh_seconds:g} s"
        if self.watcher is not None and self.watcher.connected:
            return f"listening: {self.watcher.name}, stamp checked every {self.recheck_seconds:g} s"
        return f"not listening: stamp checked every {self.refresh_seconds:g} s"

    def rules_changed(self) -> None:
        """After this process changed the lines: re-read them here, and tell the other
        workers where the database does not (Redis)."""
        if self.watcher is not None:
            self.watcher.update()
        self.invalidate()

    def _due(self, now: float) -> bool:
        if self._stamp is None or self._current is None or self._error is not None:
            return True
        return now - self._checked_at >= self.refresh_seconds or self._rules_due(now)

    def _rules_due(self, now: float) -> bool:
        if self.rules is None:
            return False
        if self._notices != self._seen:
            return True
        listening = self.watcher is not None and self.watcher.connected
        interval = self.recheck_seconds if listening else self.refresh_seconds
        return now - self._rules_checked_at >= interval

    def _behind(self, generation: int | None) -> bool:
        """Whether the lines loaded are not those of ``generation`` (read in the database;
        it only grows, unless the table was re-created: any difference re-reads)."""
        if generation is None or self.rules is None:
            return False
        stamp = self._stamp
        return stamp is None or stamp[-1] != generation

    def current(self, generation: int | None = None) -> PolicySet:
        """The policies now. ``generation``: the lines' generation the caller has just read
        in the database (the release gate, with its facts); if the lines loaded are not
        that generation's, they are re-read first, whatever the watcher and the check
        intervals say."""
        if self._due(time.monotonic()) or self._behind(generation):
            with self._lock:
                if self._behind(generation):
                    self._rules_checked_at = float("-inf")
                if self._due(time.monotonic()):
                    self._reload()
        error, current = self._error, self._current
        if error is not None:
            raise error
        if current is None:
            raise PolicyError("policies are not loaded")
        return current

    def _reload(self) -> None:
        """Under the lock: build first, then publish (a reader never sees half a load)."""
        now = time.monotonic()
        try:
            contents = read_policy_files(self.directory)
            files = _files_digest(contents)
            generation = None if self._stamp is None else self._stamp[-1]
            if self.rules is not None and (
                self._stamp is None or self._current is None or self._rules_due(now)
            ):
                notices = self._notices  # taken before the read: a later notice re-reads
                generation = self.rules.generation()
                self._seen, self._rules_checked_at = notices, now
            stamp = (files, generation)
            if stamp != self._stamp or self._current is None:
                lines = None
                if self.rules is not None:
                    generation, lines = self.rules.snapshot()
                    stamp = (files, generation)
                current = PolicySet(self.directory, lines, contents)
                self._current, self._stamp, self._error = current, stamp, None
        except PolicyError as exc:
            self._current, self._stamp, self._error = None, None, exc
        self._checked_at = time.monotonic()

    def check_now(self) -> PolicySet:
        """:meth:`current` after comparing the files' (and rules') stamps now, whatever
        the refresh interval; rebuilt only if they moved."""
        with self._lock:
            self._checked_at = self._rules_checked_at = float("-inf")
        return self.current()

    def invalidate(self) -> None:
        """Force a re-read on the next call (used after an edit through the product)."""
        with self._lock:
            self._stamp = None


def _files_digest(contents: Mapping[str, str]) -> str:
    """What the store compares between refreshes: the digest of every file's content
    (reading and hashing the ten files takes tens of microseconds)."""
    return _content_hash(contents)


def read_policy_files(directory: Path) -> dict[str, str]:
    """Every required file's text, by name; :class:`PolicyError` naming the first that
    is missing, unreadable or not UTF-8."""
    contents: dict[str, str] = {}
    for name in REQUIRED_FILES:
        path = directory / name
        try:
            contents[name] = path.read_bytes().decode("utf-8")  # as stored: no newline changes
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyError(f"policy file {path} is missing or unreadable: {exc}") from exc
    return contents


def _content_hash(contents: Mapping[str, str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(contents):
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update(contents[name].encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _parse_toml(name: str, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{name} is not valid TOML: {exc}") from exc


def _parse_ethics(text: str) -> EthicsRules:
    data = _parse_toml(ETHICS_FILE, text)
    try:
        purposes = frozenset(str(p) for p in data["purposes"])
        prohibited = frozenset(str(p) for p in data["prohibited_purposes"])
        envelope = {str(k): str(v) for k, v in data["out_of_envelope"].items()}
    except (KeyError, TypeError, AttributeError) as exc:
        raise PolicyError(
            f"{ETHICS_FILE} needs purposes, prohibited_purposes and [out_of_envelope]: {exc!r}"
        ) from exc
    if "default" not in envelope or not set(envelope.values()) <= ENVELOPE_ACTIONS:
        raise PolicyError(
            f"{ETHICS_FILE}: [out_of_envelope] needs a default and values in "
            f"{sorted(ENVELOPE_ACTIONS)}"
        )
    if purposes & prohibited:
        raise PolicyError(f"{ETHICS_FILE}: a purpose cannot be both allowed and prohibited")
    return EthicsRules(purposes, prohibited, envelope)
