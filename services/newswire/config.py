"""Load and validate config/ once at start: YAML defaults, env overrides, clear errors.

Precedence, lowest first: the YAML file, `KAFKA_BOOTSTRAP_SERVERS`, `NEWSWIRE_<SECTION>__<KEY>`
(a top-level key such as `routes` is `NEWSWIRE_ROUTES`). A bad value raises ConfigError naming
the file or variable, the key and what is wrong.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from newswire.catalog import FeedList, RegionList, raw_duplicates, to_feed_specs
from newswire.errors import ConfigError
from newswire.models import FeedSpec, Gazetteer
from newswire.settings import Settings
from newswire.tag.gazetteer import build_gazetteer

ENV_PREFIX = "NEWSWIRE_"
NOT_SETTINGS = frozenset({"NEWSWIRE_CONFIG_DIR"})
Model = TypeVar("Model", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Config:
    """Everything newswire was configured with, validated."""

    settings: Settings
    feeds: tuple[FeedSpec, ...]
    gazetteer: Gazetteer
    config_dir: Path
    feeds_file: Path

    @property
    def state_dir(self) -> Path:
        """The state directory, relative paths taken from the working directory."""
        return Path(self.settings.state.dir)


def load_config(
    config_dir: Path, feeds_file: Path | None = None, environ: Mapping[str, str] | None = None
) -> Config:
    """Read, override and validate newswire.yaml, feeds.yaml and regions.yaml."""
    env = os.environ if environ is None else environ
    main_file = config_dir / "newswire.yaml"
    raw = read_yaml(main_file)
    sources = apply_env_overrides(raw, env, main_file)
    settings = validate(Settings, raw, main_file, sources)
    feeds_path = feeds_file or config_dir / settings.paths.feeds
    regions_path = config_dir / settings.paths.regions
    raw_feeds = read_yaml(feeds_path)
    feed_list = validate(FeedList, raw_feeds, feeds_path, {}, raw_duplicates(raw_feeds))
    region_list = validate(RegionList, read_yaml(regions_path), regions_path, {})
    try:
        gazetteer = build_gazetteer(region_list)
    except ValueError as exc:
        raise ConfigError(f"{regions_path}: {exc}") from exc
    check_routes(settings, gazetteer, sources.get("routes", str(main_file)))
    try:
        feeds = to_feed_specs(feed_list, settings.poll)
    except ValueError as exc:
        raise ConfigError(f"{feeds_path}: outlets: {exc}") from exc
    check_outlet_homes(feeds, gazetteer, feeds_path)
    return Config(settings, feeds, gazetteer, config_dir, feeds_path)


def check_outlet_homes(feeds: tuple[FeedSpec, ...], gazetteer: Gazetteer, path: Path) -> None:
    """Every outlet's `country` is a country of the gazetteer, its `area` a subdivision of
    that country the gazetteer knows."""
    known = {p.country for p in gazetteer.places if p.kind == "country"}
    areas = {p.iso_code: p.country for p in gazetteer.places if p.iso_code and "-" in p.iso_code}
    for feed in feeds:
        outlet = feed.outlet
        if outlet.country is not None and outlet.country not in known:
            raise ConfigError(
                f"{path}: outlets: {outlet.id}: country: {outlet.country!r} is not a country code"
            )
        if outlet.area is not None and areas.get(outlet.area) != outlet.country:
            raise ConfigError(
                f"{path}: outlets: {outlet.id}: area: {outlet.area!r} is not a state or "
                f"province of {outlet.country} in the gazetteer"
            )


def read_yaml(path: Path) -> dict[str, Any]:
    """A YAML file's top-level mapping; an empty file is an empty mapping."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {yaml_problem(exc)}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping, got {type(data).__name__}")
    return data


def yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's error on one line: what, and where (line and column)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{problem}{where}"


def apply_env_overrides(raw: dict[str, Any], env: Mapping[str, str], file: Path) -> dict[str, str]:
    """Apply env overrides to `raw` in place; return dotted key -> the variable that set it."""
    sources: dict[str, str] = {}
    overrides = [("KAFKA_BOOTSTRAP_SERVERS", "kafka", "bootstrap_servers")]
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or name in NOT_SETTINGS:
            continue
        section, _, key = name[len(ENV_PREFIX) :].lower().partition("__")
        overrides.append((name, section, key))
    for name, section, key in overrides:
        if name not in env:
            continue
        value = env_value(env[name])
        if isinstance(value, str) and _is_list_setting(section, key):
            value = [item.strip() for item in value.split(",") if item.strip()]
        if not key:
            raw[section] = value
            sources[section] = name
            continue
        target = raw.setdefault(section, {})
        if not isinstance(target, dict):
            raise ConfigError(f"{name}: {file}: section {section!r} is not a mapping")
        target[key] = value
        sources[f"{section}.{key}"] = name
    return sources


def _is_list_setting(section: str, key: str) -> bool:
    """True for a setting that holds a list (http.allow_hosts, routes, ...): from the
    environment it may be given as comma-separated values."""
    field = Settings.model_fields.get(section)
    if field is None:
        return False
    if not key:
        return get_origin(field.annotation) is tuple
    fields = getattr(field.annotation, "model_fields", {})
    return key in fields and get_origin(fields[key].annotation) is tuple


def env_value(text: str) -> Any:
    """An env value as given, but YAML-parsed when it looks like a list or mapping."""
    stripped = text.strip()
    if stripped[:1] in ("[", "{"):
        try:
            return yaml.safe_load(stripped)
        except yaml.YAMLError:
            return text
    return text


def validate(
    model: type[Model],
    raw: dict[str, Any],
    file: Path,
    sources: dict[str, str],
    also: str | None = None,
) -> Model:
    """Validate `raw` against `model`; on failure raise one ConfigError naming every bad key,
    and `also` (a problem found in the raw file that the model would report only later)."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        lines = describe_errors(exc, file, sources).splitlines()
        if also and f"{file}: (top level): {also}" not in lines:
            lines.append(f"{file}: (top level): {also}")
        raise ConfigError("\n".join(lines)) from None


def describe_errors(exc: ValidationError, file: Path, sources: dict[str, str]) -> str:
    """One line per problem: where, which key, what is wrong."""
    lines = []
    errors = exc.errors()
    for error in errors:
        if _consequence(error, errors):
            continue
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown setting"
        origin = next((v for k, v in sources.items() if key == k or key.startswith(k + ".")), None)
        where = f"{origin} (overriding {file})" if origin else str(file)
        lines.append(f"{where}: {key}: {message}")
    return "\n".join(lines)


def _consequence(error: Any, errors: list[Any]) -> bool:
    """A list reported too short only because its bad items were dropped: the items' own
    errors say it."""
    loc = tuple(error["loc"])
    inside = (tuple(e["loc"]) for e in errors if e is not error)
    return error["type"] == "too_short" and any(e[: len(loc)] == loc for e in inside)


def check_routes(settings: Settings, gazetteer: Gazetteer, where: str) -> None:
    """Every route must match ids that the gazetteer knows."""
    known = {p.id for p in gazetteer.places} | {w.id for w in gazetteer.watchlists}
    known |= {p.country for p in gazetteer.places if p.country}
    known |= {p.iso_code for p in gazetteer.places if p.iso_code}
    for index, route in enumerate(settings.routes):
        unknown = sorted(set(route.match) - known)
        if unknown:
            raise ConfigError(
                f"{where}: routes.{index}.match: unknown region ids {unknown} "
                "(use a place id, a country code or a watchlist id from regions.yaml)"
            )
