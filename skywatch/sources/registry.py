"""Open a source by name: the one place that knows which adapter, extra and credentials each provider needs."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

from skywatch.errors import DependencyError, SourceError
from skywatch.sources.base import Source
from skywatch.sources.credentials import cdse_s3
from skywatch.sources.http import RetryPolicy
from skywatch.sources.local import LocalSource
from skywatch.sources.providers import PROVIDERS, get_provider
from skywatch.sources.stac import StacSource

__all__ = ["PROVIDER_NAMES", "import_extra", "open_source"]

PROVIDER_NAMES = (*PROVIDERS, "sentinelhub", "earthengine", "local")


def import_extra(module: str, extra: str) -> ModuleType:
    """Import an optional dependency.

    Raises:
        DependencyError: naming ``pip install 'skywatch[extra]'``.
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        raise DependencyError(f"this needs the {module!r} package: pip install 'skywatch[{extra}]'") from None


def open_source(
    name: str,
    *,
    env: Mapping[str, str],
    stac_url: str | None = None,
    path: Path | None = None,
    policy: RetryPolicy | None = None,
    for_pixels: bool = True,
) -> Source:
    """The source called ``name``.

    Args:
        name: One of :data:`PROVIDER_NAMES`.
        env: Where credentials are read from (the CLI passes ``os.environ``).
        stac_url: Another endpoint with the same STAC API.
        path: For ``local``: a STAC catalog or a folder of GeoTIFFs.
        policy: Retry policy (default: :meth:`RetryPolicy.from_env` of ``env``, e.g. ``SKYWATCH_HTTP_TIMEOUT``).
        for_pixels: False when only searching (credentials needed only to read pixels are not asked for).

    Raises:
        SourceError: unknown name, missing ``--path``; CredentialError: missing credentials; DataError: a bad
        ``SKYWATCH_HTTP_*`` value;
        DependencyError: missing optional package.
    """
    policy = policy or RetryPolicy.from_env(env)
    if name == "local":
        if path is None:
            raise SourceError("the local provider needs --path (a STAC catalog or a folder of GeoTIFFs)")
        return LocalSource(path=path)
    if name == "sentinelhub":
        from skywatch.sources.sentinelhub import SentinelHubSource, sentinelhub_config

        import_extra("sentinelhub", "sentinelhub")
        return SentinelHubSource(config=sentinelhub_config(env), policy=policy)
    if name == "earthengine":
        from skywatch.sources.earthengine import EarthEngineSource, earthengine_session

        import_extra("ee", "earthengine")
        return EarthEngineSource(session=earthengine_session(env))
    provider = get_provider(name)
    if name == "planetary-computer":
        pc = import_extra("planetary_computer", "planetary-computer")
        return StacSource(provider=provider, url=stac_url, modifier=pc.sign_inplace, policy=policy)
    if name == "cdse":
        return StacSource(provider=provider, url=stac_url, policy=policy, s3=cdse_s3(env) if for_pixels else None)
    return StacSource(provider=provider, url=stac_url, policy=policy)
