"""Settings every instance shares: IMDSv2 only, encrypted gp3 root volume, the SSM profile."""

from __future__ import annotations

from troposphere import ec2

LINUX_ROOT_DEVICE = "/dev/xvda"
WINDOWS_ROOT_DEVICE = "/dev/sda1"


def encrypted_root(device: str, launch_template: bool = False, size_gib: int | None = None) -> list:
    # Instances and launch templates spell the same mapping with different troposphere classes.
    if launch_template:
        mapping, ebs = ec2.LaunchTemplateBlockDeviceMapping, ec2.EBSBlockDevice
    else:
        mapping, ebs = ec2.BlockDeviceMapping, ec2.EbsBlockDevice
    size = {} if size_gib is None else {"VolumeSize": size_gib}
    return [mapping(DeviceName=device, Ebs=ebs(Encrypted=True, VolumeType="gp3", **size))]


def imdsv2() -> ec2.MetadataOptions:
    return ec2.MetadataOptions(HttpTokens="required", HttpEndpoint="enabled")
