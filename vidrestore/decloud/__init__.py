"""Satellite time-series declouding (``vidrestore decloud``).

Detects (spectral/temporal tests or learned models, :mod:`.learned`) or reads (provider QA masks,
the authority) cloud and shadow masks for every date of a GeoTIFF time series or of local STAC
Items, co-registers the dates, fills each cloudy pixel from the temporally nearest clear
observations after per-band radiometric matching, inpaints what no date sees clear, and writes
GeoTIFFs (or COGs, :mod:`.cog`, with STAC Items, :mod:`.stac`) that keep the inputs' names,
georeferencing, dtype, nodata, band descriptions and tags. Only masked pixels change; the report
says per date what changed and why. See :func:`run_decloud` (it takes the ``decloud`` section and
the inpainter it is given; from a whole config, :func:`vidrestore.api.decloud`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["run_decloud", "discover_series", "DecloudResult"]

if TYPE_CHECKING:  # pragma: no cover
    from vidrestore.decloud.engine import DecloudResult, run_decloud
    from vidrestore.decloud.series import discover_series


def __getattr__(name: str) -> Any:
    # rasterio/cv2 load only when declouding is used
    if name in ("run_decloud", "DecloudResult"):
        from vidrestore.decloud import engine

        return getattr(engine, name)
    if name == "discover_series":
        from vidrestore.decloud.series import discover_series

        return discover_series
    raise AttributeError(name)
