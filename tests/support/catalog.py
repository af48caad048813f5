"""A started Datasette over the catalog test DB (bench.catalog_db), for tests through datasette.client."""
from bench.catalog_db import build_catalog_db
from pipeline.ops.serve import make_datasette


async def catalog_datasette(folder, shared):
    path = folder / "catalog.db"
    build_catalog_db(path, shared)
    ds = make_datasette(path)
    await ds.invoke_startup()
    return ds
