"""What the generator, the publisher, the lab and operate all know about a template set: how its
YAML reads, the partitions, the architectures and the master's file name."""
