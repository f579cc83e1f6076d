"""Operate a deployed template set: deploy with a live nested-stack view, smoke-test, delete."""
