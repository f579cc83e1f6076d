"""The policy document the supervisor validated, shared with the workers in memory: they compile
exactly those bytes, never the file again, so a file changed meanwhile cannot split them."""

SIZE = 1 << 20  # the largest policy document, bytes


class PolicyBox:
    """One writer (the supervisor), many readers (the workers), no locks: a sequence number
    that is odd while the document is being written (a seqlock). The generation is seq // 2."""

    def __init__(self, ctx, data: bytes):
        self.seq, self.length = ctx.RawValue("q", 0), ctx.RawValue("q", 0)
        self.data = ctx.RawArray("c", SIZE)
        self.put(data)

    def put(self, data: bytes) -> int:
        """Publish a document; its generation."""
        if len(data) > SIZE:
            raise ValueError(f"policy is larger than {SIZE} bytes")
        self.seq.value += 1
        self.length.value = len(data)
        self.data[: len(data)] = data
        self.seq.value += 1
        return self.seq.value // 2

    def get(self, known: int) -> "tuple[int, bytes] | None":
        """(generation, document) when one newer than `known` is there and whole, else None."""
        seq = self.seq.value
        if seq & 1 or seq // 2 == known:
            return None
        data = self.data[: self.length.value]
        return (seq // 2, data) if self.seq.value == seq else None
