"""Bluetooth LE below the application: a bleak backend over Bumble, and a virtual radio.

- `tracker.ble.virtual.VirtualRadio`: an in-process LE "air" (Bumble `LocalLink`) on which the
  emulated sensor and the central live; `attach_transport` exposes it to outside Bumble hosts.
- `tracker.ble.bumble_backend.BumbleScanner` / `BumbleClient`: bleak backends over that central,
  used as `BleakScanner(backend=BumbleScanner, radio=radio)` and
  `BleakClient(device, backend=BumbleClient, radio=radio)`.

Application code (tracker.link) only ever talks bleak; this package is what makes the same code
run against the emulator in tests and in `--emulated` mode.
"""
