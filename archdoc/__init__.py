"""ARCHITECTURE.md of a rendered set: written from the topology model that made it and from the
set reader's trace of the templates themselves, outside the generator (which only writes YAML)."""
