"""Layer 1: the sensor's radio bytes, as specified in firmware_protocol.md."""
