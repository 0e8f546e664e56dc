"""skywatch: Sentinel imagery and camera-trap re-identification turned into alerts and layers for the rangers
of Land of the Leopard NP and the Northeast China Tiger and Leopard NP."""

from skywatch.aoi import AOI, load_aoi
from skywatch.errors import SkywatchError
from skywatch.grid import Tile, TileGrid

__version__ = "0.1.0"
__all__ = ["AOI", "SkywatchError", "Tile", "TileGrid", "__version__", "load_aoi"]
