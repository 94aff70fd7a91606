"""Domain values and validation. No I/O: the standard library only, no SDK, no environment."""
