"""Serve the catalog: Datasette over the DB, read-only, with the project's config, templates, plugins."""
import asyncio
import json
import pathlib
import sys

import yaml
from datasette.app import Datasette
from datasette.database import Database

from pipeline.paths import CODE_ROOT, ROOT

DB_NAME = "incidentwire"  # datasette.yaml keys its tables and queries by this name


def load_config():
    """datasette.yaml and datasette_metadata.json from the project root (the checkout, or the installed data)."""
    config = yaml.safe_load((ROOT / "datasette.yaml").read_text(encoding="utf-8"))
    metadata = json.loads((ROOT / "datasette_metadata.json").read_text(encoding="utf-8"))
    return config, metadata


def make_datasette(db_path, settings=None):
    """A read-only Datasette over `db_path`, mounted as "incidentwire" whatever the file name."""
    db_path = pathlib.Path(db_path)
    if not db_path.is_file():
        raise FileNotFoundError(f"database {db_path} does not exist: run `incidentwire demo` or `crawl` first")
    config, metadata = load_config()
    if settings:
        config = dict(config, settings=dict(config.get("settings") or {}, **settings))
    static = ROOT / "static"
    ds = Datasette(
        config=config,
        metadata=metadata,
        template_dir=str(ROOT / "templates"),
        plugins_dir=str(CODE_ROOT / "plugins"),
        static_mounts=[("static", str(static))] if static.is_dir() else None,
        memory=False,
    )
    # mode=ro: every connection, the write one included, is read-only; unlike immutable=1
    # it still sees what a running pipeline commits (WAL).
    ds.add_database(Database(ds, path=str(db_path.resolve()), is_mutable=True, mode="ro"), name=DB_NAME)
    if "_memory" in ds.databases:
        ds.remove_database("_memory")
    return ds


def serve_datasette(db_path, port=8001, host="127.0.0.1", settings=None):
    """Serve the catalog with uvicorn until interrupted (blocking)."""
    import uvicorn

    ds = make_datasette(db_path, settings=settings)
    asyncio.run(ds.invoke_startup())
    print(f"incidentwire catalog: http://{host}:{port}/ (Ctrl-C to stop)", file=sys.stderr, flush=True)
    print(f"MCP endpoint for agents: http://{host}:{port}/-/mcp (streamable HTTP)", file=sys.stderr, flush=True)
    uvicorn.run(ds.app(), host=host, port=port, log_level="warning", lifespan="on")
