"""Writers of what people open: COGs, alert GeoJSON, GeoPackage layers. Every writer is atomic."""
