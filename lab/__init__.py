"""Offline lab: network namespaces that carry real packets through the generated topology."""
