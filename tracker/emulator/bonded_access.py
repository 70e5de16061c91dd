"""Who may use the emulated sensor: LE Secure Connections bonds, and CCCDs kept per bond
(firmware_protocol.md §1).

- SMP: LE Secure Connections only (a legacy request fails with Authentication Requirements),
  Just Works, bonding; bonds and each bond's CCCD values are kept in a `BondStore` and restored
  when the bonded host encrypts again;
- the data and control point characteristics need an encrypted link with an LE SC bond; the ATT
  error says whether the host should pair or encrypt.
"""

from __future__ import annotations

import logging

from bumble import att, smp
from bumble.device import Connection, Device
from bumble.gatt import (
    GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR,
    Characteristic,
    Descriptor,
)
from bumble.pairing import PairingConfig, PairingDelegate

from tracker.emulator.bonds import BondStore

logger = logging.getLogger(__name__)


class BondedAccess:
    """The sensor's access rules over one `BondStore`, for the GATT server of a Bumble `Device`."""

    def __init__(self, bond_store: BondStore) -> None:
        self.bond_store = bond_store
        self.cccd_chars: dict[str, Characteristic[bytes]] = {}
        """The characteristics with a bond-remembered CCCD, by UUID."""

    def configure(self, device: Device) -> None:
        """Bonds in `bond_store`; Just Works LE SC pairing with bonding, and nothing else."""
        device.keystore = self.bond_store
        device.pairing_config_factory = lambda _connection: PairingConfig(
            sc=True,
            mitm=False,
            bonding=True,
            delegate=PairingDelegate(io_capability=PairingDelegate.IoCapability.NO_OUTPUT_NO_INPUT),
        )
        device.smp_manager.session_proxy = _ScOnlySession

    def cccd(
        self, device: Device, characteristic: Characteristic[bytes], *, bonded_only: bool = True
    ) -> Descriptor:
        """A CCCD remembered per bond (§1), whose writes need an LE SC bond when `bonded_only`.

        Bumble's automatic CCCD is open to anyone and forgets everything on disconnection; this one
        keeps Bumble's subscription bookkeeping (so `notify_subscriber` works) behind the sensor's
        access check, and stores a bonded host's value in the bond store.
        """
        server = device.gatt_server

        async def write(bearer: att.Bearer, value: bytes) -> None:
            connection = bearer.connection if att.is_enhanced_bearer(bearer) else bearer
            if bonded_only:
                await self.require_bond(connection)
            server.write_cccd(bearer, characteristic, value)
            if len(value) == 2 and connection.is_encrypted:
                self.bond_store.set_cccd(
                    str(connection.peer_address),
                    str(characteristic.uuid),
                    int.from_bytes(value, "little"),
                )

        self.cccd_chars[str(characteristic.uuid)] = characteristic
        return Descriptor(
            GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR,
            # Writable at the ATT level: `_require_bond` decides, so the error code says whether
            # the host should pair (bond missing) or encrypt (bond present).
            att.Attribute.Permissions.READABLE | att.Attribute.Permissions.WRITEABLE,
            att.AttributeValueV2(
                read=lambda bearer: server.read_cccd(bearer, characteristic), write=write
            ),
        )

    def restore_cccds(self, device: Device, connection: Connection) -> None:
        """A bonded host's CCCDs come back once its link is encrypted with the bond's keys (§1)."""
        peer = str(connection.peer_address)
        if not connection.is_encrypted or not self.bond_store.has_le_sc_bond(peer):
            return
        subscribers = device.gatt_server.subscribers.setdefault(connection, {})
        for uuid, value in self.bond_store.cccds(peer).items():
            characteristic = self.cccd_chars.get(uuid)
            if characteristic is not None and characteristic.handle not in subscribers:
                subscribers[characteristic.handle] = value.to_bytes(2, "little")

    def subscriptions(self, device: Device, connection: Connection) -> dict[str, int]:
        """CCCD values of `connection`'s host by characteristic UUID (1 notify, 2 indicate)."""
        subscribers = device.gatt_server.subscribers.get(connection, {})
        return {
            uuid: int.from_bytes(subscribers[c.handle], "little")
            for uuid, c in self.cccd_chars.items()
            if c.handle in subscribers
        }

    async def require_bond(self, connection: Connection) -> None:
        """ATT error unless the link is encrypted with the keys of an LE Secure Connections bond.

        Unencrypted: INSUFFICIENT_ENCRYPTION if the host is bonded (it should encrypt),
        INSUFFICIENT_AUTHENTICATION otherwise (it should pair). Encrypted without an LE SC bond
        (legacy pairing, or pairing without bonding): INSUFFICIENT_AUTHENTICATION.
        """
        peer = str(connection.peer_address)
        bonded = self.bond_store.has_le_sc_bond(peer)
        if not connection.is_encrypted:
            raise att.ATT_Error(
                att.ATT_INSUFFICIENT_ENCRYPTION_ERROR
                if bonded
                else att.ATT_INSUFFICIENT_AUTHENTICATION_ERROR
            )
        if not bonded:
            raise att.ATT_Error(att.ATT_INSUFFICIENT_AUTHENTICATION_ERROR)


class _ScOnlySession(smp.Session):
    """§2: a pairing request without the Secure Connections bit fails with Authentication Requirements."""

    def on_smp_pairing_request_command(self, command: smp.SMP_Pairing_Request_Command) -> None:
        if not command.auth_req & smp.AuthReq.SC:
            logger.info("refusing legacy (non-SC) pairing from %s", self.connection.peer_address)
            self.send_pairing_failed(smp.ErrorCode.AUTHENTICATION_REQUIREMENTS)
            return
        super().on_smp_pairing_request_command(command)
