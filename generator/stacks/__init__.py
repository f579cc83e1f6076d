"""Stack builders: each renders one concern of the topology as a troposphere template."""
