"""Reads a rendered CloudFormation template set back, as CloudFormation would wire it, into one
typed model that the route-path verifier, the contract, the lab and the docs all use."""
