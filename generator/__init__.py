"""Generates the GWLB quickstart's CloudFormation templates from one validated topology model."""
