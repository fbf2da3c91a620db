"""Loading the force-editable files: the escalation policy and the triage rules."""

from __future__ import annotations

from pathlib import Path

import yaml

from . import yamlio
from .domain.escalation import DEFAULT_POLICY, Policy, PolicyError, parse_policy
from .domain.rulebook import RulesError, TriageRules
from .domain.triage_rules import compile_rules
from .settings import Settings, SettingsError
from .triage.triager import SHIPPED_MODEL, ModelError, Triager, load_model

DEFAULT_TRIAGE_RULES = Path(__file__).parent / "data" / "triage_rules.yaml"


def load_policy(path: Path | None) -> Policy:
    """The policy file's policy (or the defaults); SettingsError if it is malformed."""
    if path is None:
        return parse_policy(DEFAULT_POLICY)
    try:
        return parse_policy(yamlio.safe_load(path.read_text(encoding="utf-8")) or {})
    except (PolicyError, yaml.YAMLError, OSError) as exc:
        raise SettingsError(f"BLUELIGHT_POLICY_FILE {path}: {exc}") from None


def load_triage_rules(path: Path | None) -> TriageRules:
    """The triage rules (the shipped file by default); SettingsError if malformed."""
    source = path or DEFAULT_TRIAGE_RULES
    try:
        return compile_rules(yamlio.safe_load(source.read_text(encoding="utf-8")) or {})
    except (RulesError, yaml.YAMLError, OSError) as exc:
        raise SettingsError(f"triage rules {source}: {exc}") from None


def load_triager(settings: Settings) -> Triager:
    """The model (the shipped one unless BLUELIGHT_TRIAGE_MODEL names another) under the
    force's rules; SettingsError if either is unusable."""
    rules = load_triage_rules(settings.triage_rules_file)
    try:
        return Triager(load_model(settings.triage_model_dir or SHIPPED_MODEL), rules)
    except ModelError as exc:
        raise SettingsError(str(exc)) from None


DEFAULT_REPLY_TEMPLATES = Path(__file__).parent / "data" / "reply_templates.yaml"


def load_reply_templates(path: Path | None) -> dict[str, str]:
    """The reply templates (the shipped ones without a file); SettingsError if malformed."""
    source = path or DEFAULT_REPLY_TEMPLATES
    try:
        doc = yamlio.safe_load(source.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SettingsError(f"reply templates {source}: {exc}") from None
    templates = doc.get("templates") if isinstance(doc, dict) else None
    if not isinstance(templates, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v.strip() and len(v) <= 500
            for k, v in templates.items()):
        raise SettingsError(f"reply templates {source}: 'templates' must map names to texts "
                            "of at most 500 characters")
    return {k: v.strip() for k, v in templates.items()}


def load_receipt(path: Path | None, templates: dict[str, str]) -> str | None:
    """The template sent automatically when an officer acknowledges (`receipt:` in the
    templates file), or None: the force has not turned it on."""
    source = path or DEFAULT_REPLY_TEMPLATES
    try:
        doc = yamlio.safe_load(source.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SettingsError(f"reply templates {source}: {exc}") from None
    receipt = doc.get("receipt") if isinstance(doc, dict) else None
    if receipt is not None and receipt not in templates:
        raise SettingsError(f"reply templates {source}: receipt {receipt!r} is not one of the "
                            "templates")
    return receipt if isinstance(receipt, str) else None
