"""The worked examples of firmware_protocol.md are test vectors: parse every ```hex block and the
```json block after it, decode the bytes, compare with the document's values, re-encode."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from tracker.protocol import control, packets, spec
from tracker.protocol.stream import StreamDecoder

DOC = Path(__file__).resolve().parents[2] / "firmware_protocol.md"
_BLOCK = re.compile(r"<!-- example: (\S+) -->\n```hex\n(.*?)\n```\n```json\n(.*?)\n```", re.S)


def _examples() -> list[tuple[str, list[bytes], dict]]:
    text = DOC.read_text(encoding="utf-8")
    out = []
    for name, hex_text, js in _BLOCK.findall(text):
        lines = [bytes.fromhex(line) for line in hex_text.splitlines()]
        out.append((name, lines, json.loads(js)))
    return out


EXAMPLES = _examples()


def test_the_document_has_every_kind_of_example():
    frames = {e[2]["frame"] for e in EXAMPLES}
    assert frames == {
        "data_packet",
        "data_stream",
        "control_request",
        "control_response",
        "status_record",
        "battery_level",
        "advertisement",
    }
    assert len(EXAMPLES) >= 20
    # every hex block in the document is an example the tests read
    assert DOC.read_text().count("```hex") == len(EXAMPLES)


def _opcode(value) -> int:
    return spec.Opcode[value] if isinstance(value, str) else int(value)


@pytest.mark.parametrize("name,lines,expected", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_example_decodes_exactly_and_reencodes(name, lines, expected):
    frame = expected["frame"]
    if frame != "data_stream":
        assert len(lines) >= 1
        raw = b"".join(lines)  # a long frame is wrapped over several lines
    if frame == "data_packet":
        pkt = packets.decode_data_packet(raw)
        assert isinstance(pkt, packets.DataPacket), pkt
        assert pkt.version == expected["version"]
        assert pkt.count == expected["count"]
        assert [f.name for f in spec.PacketFlag if f in pkt.flags] == expected["flags"]
        assert pkt.sequence == expected["sequence"]
        assert pkt.timestamp_us == expected["timestamp_us"]
        assert pkt.samples.tolist() == expected["samples"]
        assert len(raw) == 8 + 12 * expected["count"]
        if "t_us" in expected:
            assert pkt.sample_times_us(expected["sample_rate_hz"]).tolist() == expected["t_us"]
        for row, si in zip(pkt.samples, expected.get("si", []), strict=False):
            acc, gyr = packets.counts_to_si(
                row[None, :], expected["accel_range_g"], expected["gyro_range_dps"]
            )
            assert np.round(acc[0], 6).tolist() == si["acc_m_s2"]
            assert np.round(gyr[0], 6).tolist() == si["gyr_rad_s"]
        flags = sum(spec.PacketFlag[f] for f in expected["flags"])
        assert packets.encode_data_packet(pkt.sequence, pkt.timestamp_us, pkt.samples, flags) == raw
        batch = packets.decode_data_packets([raw])
        assert batch.valid.all() and batch.samples.tolist() == expected["samples"]
    elif frame == "data_stream":
        dec = StreamDecoder(sample_rate_hz=expected["sample_rate_hz"])
        for i, (line, want) in enumerate(zip(lines, expected["packets"], strict=True)):
            pkt = packets.decode_data_packet(line)
            assert (pkt.sequence, pkt.timestamp_us) == (want["sequence"], want["timestamp_us"])
            dec.feed(line, 1.0 + i * 0.01)
        assert np.allclose(dec.t_sensor_s(), expected["t_sensor_s"], atol=1e-9)
        assert dec.stats.timestamp_wraps == 1 and dec.stats.lost_samples == 0
    elif frame == "control_request":
        req = control.decode_control_request(raw)
        if "rejected" in expected:
            assert isinstance(req, control.ControlRequestRejected)
            assert req.result == spec.ResultCode[expected["rejected"]]
            assert req.opcode == _opcode(expected["opcode"])
        else:
            assert isinstance(req, control.ControlRequest), req
            assert req.opcode == spec.Opcode[expected["opcode"]]
            params = {k: v for k, v in expected.items() if k not in ("frame", "opcode")}
            for key, value in params.items():
                assert getattr(req, key) == value
            assert control.encode_control_request(req.opcode, **params) == raw
    elif frame == "control_response":
        resp = control.decode_control_response(raw)
        assert isinstance(resp, control.ControlResponse)
        assert resp.request_opcode == _opcode(expected["request_opcode"])
        assert resp.result_name == expected["result"]
        assert control.encode_control_response(resp.request_opcode, resp.result) == raw
    elif frame == "status_record":
        rec = control.decode_status_record(raw)
        assert isinstance(rec, control.StatusRecord), rec
        assert rec.protocol_version == expected["protocol_version"]
        assert spec.SensorState(rec.state).name == expected["state"]
        for key in (
            "sample_rate_hz",
            "accel_range_g",
            "gyro_range_dps",
            "samples_per_packet",
            "clock_us",
        ):
            assert getattr(rec, key) == expected[key]
        assert len(rec.extra) == expected.get("ignored_trailing_bytes", 0)
        assert control.encode_status_record(rec) == raw
    elif frame == "battery_level":
        assert control.decode_battery_level(raw) == expected["percent"]
        assert control.encode_battery_level(expected["percent"]) == raw
    elif frame == "advertisement":
        adv = control.decode_advertisement(raw)
        assert isinstance(adv, control.Advertisement)
        assert len(raw) == expected["length"] == control.MAX_ADVERTISEMENT_SIZE
        assert adv.name == expected["name"] and adv.flags == expected["flags"]
        assert list(adv.service_uuids) == expected["service_uuids"] and adv.is_tracker_sensor
        assert control.encode_advertisement(adv.name) == raw
    else:  # pragma: no cover - a new kind of example needs a branch here
        pytest.fail(f"unknown frame {frame}")


def test_samples_per_packet_table_matches_the_document():
    text = DOC.read_text()
    rows = re.findall(r"^\| (\d+)[^|]*\| (\d+) \| (\d+) \| (\d+) \|$", text, re.M)
    assert len(rows) >= 6
    for mtu, payload, spp, size in map(lambda r: tuple(map(int, r)), rows):
        assert spec.samples_per_packet(mtu) == spp
        assert payload == mtu - 3 and size == packets.packet_size(spp) <= payload


def test_uuids_and_codes_in_the_document_match_spec():
    text = DOC.read_text()
    for uuid in (
        spec.IMU_SERVICE_UUID,
        spec.DATA_CHAR_UUID,
        spec.CONTROL_POINT_UUID,
        spec.STATUS_CHAR_UUID,
        spec.BATTERY_LEVEL_UUID,
        spec.MANUFACTURER_NAME_UUID,
        spec.MODEL_NUMBER_UUID,
        spec.SERIAL_NUMBER_UUID,
        spec.FIRMWARE_REVISION_UUID,
    ):
        assert f"`{uuid}`" in text
    for op in spec.Opcode:
        if op is not spec.Opcode.RESPONSE:
            assert f"| `0x{op:02X}` | {op.name} |" in text
    for code in spec.ResultCode:
        assert f"| `0x{code:02X}` | {code.name} |" in text
