"""Copies of the committed tgw-centralized set with its transit gateway wiring changed, for the
lab's must-fail tests: appliance mode off on every attachment, a spoke association or the spokes'
propagation removed."""

from __future__ import annotations

from pathlib import Path

from lab_mutations import drop_resources, edit

ATTACHMENT = "TransitGatewayAttachment"
TEMPLATES = ("Nested-InspectionNetwork.yml", "Nested-SpokeVpc.yml", "Nested-IngressVpc.yml")


def appliance_mode_off(directory: Path) -> None:
    """Every attachment with ApplianceModeSupport: disable (the inspection one was enable)."""

    def change(body: dict) -> None:
        body["Resources"][ATTACHMENT]["Properties"]["Options"]["ApplianceModeSupport"] = "disable"

    for template in TEMPLATES:
        edit(directory, template, change)


def spokes_not_propagated(directory: Path) -> None:
    """The spokes' VPC blocks no longer propagate into the inspection route table: what leaves
    the inspection VPC for a spoke matches nothing in the TGW."""
    drop_resources(directory, "Nested-SpokeVpc.yml", "TransitGatewayPropagationToInspection")


def spokes_not_associated(directory: Path) -> None:
    """The spoke attachments are associated with no route table (AWS creates them; the TGW then
    drops every packet entering from a spoke)."""
    drop_resources(directory, "Nested-SpokeVpc.yml", "TransitGatewayAssociation")
