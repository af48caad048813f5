"""Read sources.toml and mirror its sources into the `sources` table."""
import json
import pathlib
import tomllib

KINDS = {"feed", "article", "wordpress", "system_cards", "mastodon", "bluesky", "hn",
         "reddit", "lobsters"}

DEFAULT_SETTINGS = {
    "relevance_min": 0.35,
    "social_relevance_min": 0.1,
    "user_agent": "incidentwire/0.1 (+https://github.com/incidentwire/incidentwire)",
    "allow_private": False,
    "max_response_bytes": 10 * 1024 * 1024,
    "download_timeout": 30,
    "concurrent_per_domain": 2,
}


# Social sources are searches or tags: the query already chose the topic, and a post is too
# short to score well, so they have their own, lower default cut-off.
SOCIAL_KINDS = {"mastodon", "bluesky", "hn", "reddit", "lobsters"}


def relevance_cut(source, settings=None):
    """The relevance score below which a new document from `source` is off-topic (not stored).

    The one rule, used by the local crawl, the Redis writer and the store: the source's own
    `relevance_min`; else `social_relevance_min` for a social kind, `relevance_min` for any other,
    from `settings` (the config's [settings]) or, where those lack the key, DEFAULT_SETTINGS.
    `source` is a config source or a `sources` row (kind, relevance_min); None means unknown.
    """
    source = source or {}
    if source.get("relevance_min") is not None:
        return source["relevance_min"]
    key = "social_relevance_min" if source.get("kind") in SOCIAL_KINDS else "relevance_min"
    value = (settings or {}).get(key)
    return DEFAULT_SETTINGS[key] if value is None else value


class ConfigError(Exception):
    pass


def load_config(path, base_url=None):
    """Parse a sources TOML file; `{base}` in URLs is replaced by `base_url` (demo, tests)."""
    path = pathlib.Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file; pass --config FILE")
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e})")
    settings = {**DEFAULT_SETTINGS, **raw.get("settings", {})}
    sources = []
    seen = set()
    for i, src in enumerate(raw.get("source", []), 1):
        name, kind, url = src.get("name"), src.get("kind"), src.get("url")
        if not name or not kind or not url:
            raise ConfigError(f"{path}: source #{i} needs name, kind and url")
        if kind not in KINDS:
            raise ConfigError(f"{path}: source {name!r} has unknown kind {kind!r} (one of {', '.join(sorted(KINDS))})")
        if name in seen:
            raise ConfigError(f"{path}: source name {name!r} appears twice")
        seen.add(name)
        src = dict(src)
        if base_url:
            src["url"] = src["url"].replace("{base}", base_url.rstrip("/"))
            for key, value in list(src.items()):
                if isinstance(value, str):
                    src[key] = value.replace("{base}", base_url.rstrip("/"))
        src.setdefault("enabled", True)
        src.setdefault("publisher", name)
        src.setdefault("allow_private", settings["allow_private"])
        sources.append(src)
    return {"path": str(path), "settings": settings, "sources": sources}


def sync_sources(db, config):
    """Upsert the config's sources into the DB, keeping crawl state; return {name: row}."""
    core = {"name", "kind", "url", "publisher", "enabled", "allow_private", "relevance_min"}
    for src in config["sources"]:
        extra = {k: v for k, v in src.items() if k not in core}
        row = {
            "name": src["name"], "kind": src["kind"], "url": src["url"],
            "publisher": src["publisher"], "enabled": int(bool(src["enabled"])),
            "allow_private": int(bool(src["allow_private"])),
            "relevance_min": src.get("relevance_min"),
            "config": json.dumps(extra, sort_keys=True),
        }
        existing = list(db["sources"].rows_where("name = ?", [src["name"]]))
        if existing:
            db["sources"].update(existing[0]["id"], row)
        else:
            db["sources"].insert(row)
    return {r["name"]: r for r in db["sources"].rows}
