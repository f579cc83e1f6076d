"""Least privilege at run time: once the sockets that needed a capability are open (raw sockets,
port 80, a deep receive queue), every capability is dropped, for good, before any worker starts."""

import ctypes

PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
CAPABILITY_VERSION_3 = 0x20080522  # linux/capability.h: two 32-bit words per set


def drop_capabilities() -> None:
    """Empty the ambient, effective, permitted and inheritable sets of this (single-threaded)
    process; its children inherit the empty sets. Raises OSError when the kernel refuses."""
    libc = ctypes.CDLL(None, use_errno=True)
    header = ctypes.create_string_buffer(CAPABILITY_VERSION_3.to_bytes(4, "little") + bytes(4))
    data = ctypes.create_string_buffer(24)  # effective, permitted, inheritable; twice; all 0
    for failed in (
        libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0),
        libc.capset(header, data),
    ):
        if failed:
            raise OSError(ctypes.get_errno(), "cannot drop capabilities")  # said as is
