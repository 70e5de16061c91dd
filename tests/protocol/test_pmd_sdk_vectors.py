"""`tracker.protocol.pmd` against the bytes and expected values of Polar's own SDK tests and documents.

Every vector is copied byte for byte from the file named above its test (polarofficial/polar-ble-sdk,
paths under sources/Android/android-communications/library/src/test/java/com/polar/
androidcommunications/api/ble/model/gatt/client/ unless said otherwise), with the values those
tests assert. Where tracker deliberately differs from the SDK (a cut frame decodes its complete
samples instead of throwing), the test says so.
"""

from __future__ import annotations

import struct

import pytest

from tracker.protocol import pmd, pmd_sensor
from tracker.protocol.heart_rate import decode_heart_rate


def _h(text: str) -> bytes:
    return bytes.fromhex(text)


def _f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


# --- data frames: pmd/model/AccDataTest.kt --------------------------------------------------------
ACC_RAW_TYPE1_HEADER = "02 00 94 35 77 00 00 00 00 01"
ACC_RAW_TYPE1_CONTENT = (
    "F7 FF FF FF E7 03 F8 FF FE FF E5 03 F9 FF FF FF E5 03 FA FF FF FF E6 03 FA FF FE FF E6 03"
    " F9 FF FF FF E5 03 F8 FF FF FF E6 03 F8 FF FE FF E6 03 FA FF FF FF E5 03 FA FF FF FF E7 03"
    " FA FF FF FF E5 03 F8 FF FF FF E6 03 F7 FF FF FF E6 03 F8 FF FE FF E6 03 F9 FF FE FF E7 03"
    " F9 FF 00 00 E6 03 F9 FF FF FF E6 03 F7 FF FE FF E5 03 F9 FF FF FF E5 03 F9 FF FF FF E5 03"
    " FA FF 00 00 E6 03 F9 FF FE FF E6 03 F8 FF FF FF E6 03 F8 FF FF FF E5 03 F9 FF FF FF E6 03"
    " F9 FF FF FF E5 03 FA FF FF FF E6 03 F9 FF FF FF E5 03 F9 FF FF FF E5 03 F8 FF FE FF E6 03"
    " F9 FF FF FF E6 03 F9 FF FF FF E6 03 F9 FF 00 00 E5 03 F9 FF FE FF E6 03 F8 FF FE FF E6 03"
    " F7 FF FE FF E6 03"
)


def test_acc_raw_frame_type_1():
    """AccDataTest `process acc raw data frame type 1` (the H10's frame type): 16-bit mG."""
    frame = pmd.decode_frame(
        _h(ACC_RAW_TYPE1_HEADER + ACC_RAW_TYPE1_CONTENT), previous_timestamp_ns=0, sample_rate_hz=52
    )
    assert (frame.measurement_type, frame.frame_type, frame.compressed) == (2, 1, False)
    assert frame.timestamp_ns == 2_000_000_000
    assert frame.samples[0] == (-9, -1, 999)
    assert frame.samples[1] == (-8, -2, 997)
    assert len(frame.samples) == len(_h(ACC_RAW_TYPE1_CONTENT)) // 2 // 3 == 36
    assert frame.timestamps_ns[-1] == 2_000_000_000
    assert not frame.truncated
    # the SDK's rule without a previous frame: spaced at 1/52 s back from the frame's timestamp
    delta = (1.0 / 52) * 1000 * 1000 * 1000
    assert frame.timestamps_ns[0] == round(2_000_000_000 - delta * 35)


ACC_COMPRESSED_TYPE0_CONTENT = (
    "71 07 F0 6A 9E 8D 0A 38 BE 5C BE BA 2F 96 B3 EE 4B E5 AD FB 42 B9 EB BE 4C FE BA 2F 92 BF EE 4B"
    " E4 B1 FB 12 B9 EC BD 3C 3E BB 2F 8F D3 DE 4B E3 B5 F7 D2 B8 ED BD 30 7E 7B 2F 8B E3 CE 8B E2 BA"
    " F7 A2 B8 EE BC 20 BE 7B 2F 88 F3 CE CB E1 BD EF 52 F8 EF BC 18 FE 3B 2F 84 03 BF CB E0 C2 EF 32"
    " B8 F0 BB 04 4E BC 2E 81 13 AF 0B E0 C6 EF F2 F7 F1 B9 FC 7D BC 2E 7D 27 9F 4B DF CA EB C2 F7 F2"
    " B8 EC CD 7C 2E 7B 37 8F 4B DE CE E3 92 F7 F3 B8 E0 0D FD 2D 77 4B 7F CB DD D2 DF 62 37 F5 B7 D4"
    " 4D BD 2D 74 5B 6F CB DC D7 D7 32 37 F6 B5 C8 8D 7D 2D 71 6B 4F 4B DC DC D3 F2 36 F7 B4 BC DD FD"
    " 2C 6F 7B 3F 4B DB E0 CF D2 36 F8 B2 B0 2D BE 2C 6C 8F 1F CB DA E3 C7 A2 76 F9"
)


def test_acc_delta_frame_type_0_with_factor():
    """AccDataTest `process acc compressed data type 0`: delta frame 0x80, factor 2.44E-4 (G per
    count, x1000 to mG), previous timestamp 100."""
    factor = 2.44e-4
    frame = pmd.decode_frame(
        _h("02 00 94 35 77 00 00 00 00 80" + ACC_COMPRESSED_TYPE0_CONTENT),
        previous_timestamp_ns=100,
        sample_rate_hz=0,
        factor=factor,
    )
    assert frame.compressed and frame.frame_type == 0
    raw0 = (1905, 27376, -29282)
    raw1 = (1905 + 190, 27376 - 105, -29282 - 85)

    def expected(
        sample: int,
    ) -> int:  # the test's own expression: (factor * sample * 1000f).toInt()
        return int(_f32(_f32(_f32(factor) * _f32(float(sample))) * 1000.0))

    assert frame.samples[0] == tuple(expected(v) for v in raw0)
    assert frame.samples[1] == tuple(expected(v) for v in raw1)
    assert all(abs(v) <= 8 * 1000 for s in frame.samples for v in s)  # "validate data in range"
    assert len(frame.samples) == 1 + 56
    delta = (2_000_000_000 - 100) / 57  # PmdTimeStampUtils.deltaFromTimeStamps
    assert frame.timestamps_ns[0] == round(100 + delta)
    assert frame.timestamps_ns[-1] == 2_000_000_000


def test_acc_delta_frame_type_1():
    """AccDataTest `process acc compressed data type 1`: 0x81, 6-bit deltas, factor 1.0."""
    frame = pmd.decode_frame(
        _h("02 65 00 00 00 00 00 00 00 81" + "F1 FF 14 00 F0 03 06 01 7B 0F 08"),
        previous_timestamp_ns=100,
        sample_rate_hz=0,
        factor=1.0,
    )
    assert frame.samples == [(-15, 20, 1008), (-15 - 5, 20 - 3, 1008 + 0)]
    # (101 - 100) / 2 samples: 100.5 rounds half to even, as Kotlin's round does
    assert frame.timestamps_ns == [100, 101]


# --- data frames: pmd/model/GyrDataTest.kt ----------------------------------------------------------
def test_gyro_delta_frame_type_0():
    """GyrDataTest `process gyro compressed data type 0` (measurement type 5): 3-bit deltas."""
    frame = pmd.decode_frame(
        _h("05 FF FF FF FF FF FF FF 7F 80" + "EA FF 08 00 0D 00 03 01 DF 00"),
        previous_timestamp_ns=100,
        sample_rate_hz=0,
        factor=1.0,
    )
    assert frame.measurement_type == 5 and frame.measurement_name == "GYRO"
    assert frame.samples == [(-22.0, 8.0, 13.0), (-23.0, 11.0, 16.0)]
    assert frame.timestamp_ns == 9223372036854775807 == frame.timestamps_ns[-1]


GYRO_TYPE1_CONTENT = "00 00 80 3F 00 00 20 41 00 00 A0 41 1C 01 00 00 A0 01 00 00 08 CD CC EC 0D"


def _bits(value: int) -> float:
    return struct.unpack("<f", (value & 0xFFFFFFFF).to_bytes(4, "little"))[0]


@pytest.mark.parametrize("factor", [1.0, 0.5])
def test_gyro_delta_frame_type_1_float_bits(factor):
    """GyrDataTest `process gyro compressed data type 1` (and `... with factor`): 28-bit deltas
    on IEEE-754 bit patterns, 32-bit wrap-around."""
    frame = pmd.decode_frame(
        _h("05 00 94 35 77 00 00 00 00 81" + GYRO_TYPE1_CONTENT),
        previous_timestamp_ns=100,
        sample_rate_hz=0,
        factor=factor,
    )
    ref = (_bits(0x3F800000), _bits(0x41200000), _bits(0x41A00000))
    nxt = (
        _bits(0x3F800000 + 0x1A00000),
        _bits(0x41200000 + 0x0800000),
        _bits(0x41A00000 + 0xFDECCCCD),
    )
    assert frame.samples[0] == tuple(_f32(factor * v) for v in ref)
    assert frame.samples[1] == tuple(_f32(factor * v) for v in nxt)
    assert frame.timestamps_ns[1] == 2_000_000_000


# --- the frame header: pmd/BlePmdClientTest.kt, pmd/PmdDataFrameValidationTest.kt -----------------
@pytest.mark.parametrize(
    "hex_frame, expected",
    [
        # `process ecg data`: 0x0D23D3A472316C38, raw frame type 3
        ("00 38 6C 31 72 A4 D3 23 0D 03 00 12 03 11 10 04 00", (0, 946833049921875000, 3, False)),
        # `process ppg data`: compressed frame type 0
        ("01 00 00 00 00 00 00 00 70 80 FF", (1, 8070450532247928832, 0, True)),
        # `process acc data`: compressed frame type 3
        ("02 01 00 00 00 00 00 00 00 83 00", (2, 1, 3, True)),
    ],
)
def test_frame_header_fields(hex_frame, expected):
    assert pmd.frame_header(_h(hex_frame)) == expected


def test_frame_types_the_sdk_does_not_parse_are_errors():
    # BlePmdClientTest `process not supported frame type`: frame type 0x7F throws BleNotImplemented
    with pytest.raises(pmd.PmdError) as err:
        pmd.decode_frame(_h("01 38 6C 31 72 A4 D3 23 0D 7F"))
    assert err.value.reason == "unsupported_frame"
    # `process acc data`: ACC compressed type 3 is "not supported by ACC data parser"
    with pytest.raises(pmd.PmdError):
        pmd.decode_frame(_h("02 01 00 00 00 00 00 00 00 83 00"), sample_rate_hz=52)


def test_frames_shorter_than_the_header():
    """PmdDataFrameValidationTest: empty and 9-byte frames are 'too short'; 10 bytes parse."""
    for data in (b"", bytes(9)):
        with pytest.raises(pmd.PmdError) as err:
            pmd.decode_frame(data)
        assert "too short" in str(err.value) and str(len(data)) in str(err.value)
    # iOS BlePmdClientTest `exactlyMinSize`: a 10-byte ACC header decodes to no samples
    frame = pmd.decode_frame(_h("02 00 94 35 77 00 00 00 00 00"))
    assert frame.samples == [] and frame.timestamps_ns == []


def test_a_misaligned_raw_frame_keeps_its_complete_samples():
    """iOS BlePmdClientTest `accStreamReceivesError_whenDataContentMisaligned` (5 content bytes of
    a 6-byte sample): the SDK fails the stream; tracker keeps the complete samples (none here) and
    marks the frame as cut."""
    frame = pmd.decode_frame(_h("02 00 94 35 77 00 00 00 00 01 01 02 03 04 05"), sample_rate_hz=200)
    assert frame.samples == [] and frame.truncated


# --- delta frames: sources/iOS/ios-communications/Tests/iOSCommunicationsTests/BlePmdClientTest.swift
_ACC81 = "02 00 94 35 77 00 00 00 00 81"


@pytest.mark.parametrize(
    "content, samples, truncated",
    [
        (
            "64 00 C8 00 2C 01 08 01 01 02 03",
            [(100, 200, 300), (101, 202, 303)],
            False,
        ),  # withValidData
        ("0A 00 14 00 1E 00", [(10, 20, 30)], False),  # withOnlyRefSamples
        ("64 00 C8 00 2C 01 00 01", [(100, 200, 300)], False),  # withZeroDeltaSize: skipped
        ("64 00 C8 00 2C 01 08", [(100, 200, 300)], True),  # withTruncatedHeader
        ("01 02", [], True),  # withInsufficientDataForRefSamples
        ("01 02 08 01", [], True),  # insufficientRefDataWithDeltaFrames
        (
            "64 00 C8 00 2C 01 08 02 01 02 03 01 02 03 08 01 01 01 01",  # multipleConsecutiveDeltaFrames
            [(100, 200, 300), (101, 202, 303), (102, 204, 306), (103, 205, 307)],
            False,
        ),
    ],
)
def test_delta_frame_guards_of_the_ios_sdk(content, samples, truncated):
    frame = pmd.decode_frame(_h(_ACC81 + content), sample_rate_hz=52)
    assert frame.samples == samples
    assert frame.truncated is truncated


def test_the_documents_reference_sample():
    """Polar Measurement Data Specification, 'Delta frame sample example from Polar Verity Sense':
    reference sample D0 FF 65 01 E4 0F is x -48, y 357, z 4068."""
    frame = pmd.decode_frame(_h(_ACC81 + "D0 FF 65 01 E4 0F"), sample_rate_hz=52)
    assert frame.samples == [(-48, 357, 4068)]


# --- timestamps: pmd/model/PmdTimeStampUtilsTest.kt ---------------------------------------------------
def test_timestamps_both_rate_and_previous_zero():
    with pytest.raises(pmd.PmdError):
        pmd.sample_timestamps(0, 100_000, 100, 0)


def test_timestamps_that_would_be_negative():
    with pytest.raises(pmd.PmdError):
        pmd.sample_timestamps(0, 100_000, 100, 52)


def test_timestamps_from_the_rate():
    assert pmd.sample_timestamps(0, 10_000_000_000, 10, 1) == [
        k * 1_000_000_000 for k in range(1, 11)
    ]
    assert pmd.sample_timestamps(0, 1_000_000_000, 1, 1) == [1_000_000_000]


def test_timestamps_from_the_previous_frame():
    assert pmd.sample_timestamps(1_000_000_000, 11_000_000_000, 10, 1) == [
        k * 1_000_000_000 for k in range(2, 12)
    ]
    assert pmd.sample_timestamps(100, 2_000_000_000, 3, 1) == [
        round(666666733.33),
        round(1333333366.66),
        2_000_000_000,
    ]
    assert pmd.sample_timestamps(1_000_000_000, 2_000_000_000, 1, 1) == [2_000_000_000]


def test_timestamps_error_cases_beyond_the_sdk_tests():
    with pytest.raises(pmd.PmdError):
        pmd.sample_timestamps(0, 10**9, 0, 52)  # SampleSizeMissingError
    with pytest.raises(pmd.PmdError):
        pmd.sample_timestamps(5, 5, 3, 52)  # deltaFromTimeStamps: time in between is not > 0
    with pytest.raises(pmd.PmdError):
        pmd.sample_timestamps(7, 5, 3, 52)  # ULong wrap-around in Kotlin, negative in fact


# --- control point: pmd/BlePmdClientControlPointResponseTest.kt, pmd/BlePmdClientTest.kt -----------
def test_success_response_with_parameters_that_are_not_settings():
    r = pmd.parse_cp_response(_h("F0 01 02 00 00 FF FF FF"))
    assert (r.op_code, r.op_name, r.measurement_type) == (1, "GET_MEASUREMENT_SETTINGS", 2)
    assert (r.status, r.status_name, r.more) == (0, "SUCCESS", False)
    assert r.parameters == _h("FF FF FF") and r.settings == {}


def test_failing_response_for_mag_settings():
    r = pmd.parse_cp_response(_h("F0 01 06 07 00"))
    assert (r.op_code, r.measurement_type, r.status_name, r.more, r.parameters) == (
        1,
        6,
        "ERROR_INVALID_RESOLUTION",
        False,
        b"",
    )


def test_status_codes_beyond_the_original_enum():
    r = pmd.parse_cp_response(_h("F0 02 0F 11 00"))
    assert r.status_name == "ERROR_INVALID_DERIVED_MEASUREMENT_SETTINGS_GROUP"
    assert r.op_name == "REQUEST_MEASUREMENT_START" and not r.more and r.parameters == b""
    assert pmd.parse_cp_response(_h("F0 02 0F 7F 00")).status_name == "UNKNOWN_ERROR"


def test_success_response_of_the_client_test():
    # BlePmdClientTest `process control point response when status is success`
    r = pmd.parse_cp_response(_h("F0 01 00 00 00 00 00 00 70 FF"))
    assert (r.op_code, r.measurement_type, r.status_name, r.more) == (1, 0, "SUCCESS", False)
    assert r.parameters == _h("00 00 00 70 FF") and r.settings == {}


def test_short_or_foreign_indications_are_errors():
    with pytest.raises(pmd.PmdError):
        pmd.parse_cp_response(b"")  # BlePmdClientTest `... when status is fail`: empty data
    with pytest.raises(pmd.PmdError):
        pmd.parse_cp_response(_h("F0 01 02"))
    with pytest.raises(pmd.PmdError) as err:
        # BlePmdClientTest `process measurement stop control point command`: 01 01 02
        pmd.parse_cp_response(_h("01 01 02"))
    assert "stopping a measurement" in str(err.value)


# --- settings: pmd/PmdSettingTest.kt ----------------------------------------------------------------
def test_settings_with_range():
    s = pmd.parse_settings(_h("00 01 34 00 01 01 10 00 02 04 F5 00 F4 01 E8 03 D0 07 04 01 03"))
    assert s == {
        "sample_rate": [52],
        "resolution": [16],
        "range": [245, 500, 1000, 2000],
        "channels": [3],
    }


def test_settings_with_range_milliunit():
    s = pmd.parse_settings(_h("03 02 FF FF FF FF FF 00 00 00 01 01 0E 00"))
    assert s == {"range_milliunit": [-1, 0xFF], "resolution": [14]}


def test_selected_settings_round_trip():
    selected = {
        "sample_rate": 0x7FFF,
        "resolution": 0,
        "range": 15,
        "range_milliunit": 2**31 - 1,
        "channels": 4,
    }
    request = pmd.encode_request("start", "ACC", selected)
    assert pmd.parse_settings(request[2:]) == {k: [v] for k, v in selected.items()}
    with pytest.raises(ValueError):
        pmd.encode_request("start", "ACC", {"factor": 15})  # the sensor's to say


def test_start_request_of_the_document():
    """The Polar Measurement Data Specification's ACC start request (quoted in polar-ble-sdk
    issue #443): 52 Hz, 16 bit, 8 G, 3 channels."""
    request = pmd.encode_request(
        "start", "ACC", {"sample_rate": 52, "resolution": 16, "range": 8, "channels": 3}
    )
    assert request == _h("02 02 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03")
    assert pmd.encode_request("get_settings", 2) == _h("01 02")
    assert pmd.encode_request("stop", "GYRO") == _h("03 05")
    r = pmd.parse_cp_response(_h("F0 02 02 00 00"))  # the sensor's answer in that issue
    assert r.ok and r.op_name == "REQUEST_MEASUREMENT_START" and r.settings == {}


def test_factor_in_a_start_response():
    params = pmd.encode_settings({"factor": 2.44e-4})
    r = pmd.parse_cp_response(pmd_sensor.encode_cp_response(2, 2, 0, params))
    assert r.settings == {"factor": _f32(2.44e-4)}


# --- features: polar-ble-sdk issue #360 (a Polar engineer reading an H10's control point) -----------
def test_h10_features():
    assert pmd.parse_features(_h("0f 05 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00")) == {
        "ECG",
        "ACC",
    }
    assert pmd.parse_features(pmd_sensor.encode_features({"ACC", "GYRO", "SDK_MODE"})) == {
        "ACC",
        "GYRO",
        "SDK_MODE",
    }
    with pytest.raises(pmd.PmdError):
        pmd.parse_features(_h("F0 01 02 00 00"))


# --- heart rate: BleHrClientTest.kt ------------------------------------------------------------------
def test_heart_rate_vectors():
    assert decode_heart_rate(_h("00 FF")).bpm == 255
    assert decode_heart_rate(_h("00 7F")).bpm == 127
    assert decode_heart_rate(_h("01 80 80")).bpm == 32896
    assert decode_heart_rate(_h("01 7F 7F")).bpm == 32639
    c = decode_heart_rate(_h("06 00"))
    assert c.sensor_contact and c.sensor_contact_supported
    c = decode_heart_rate(_h("04 00"))
    assert not c.sensor_contact and c.sensor_contact_supported
    assert not decode_heart_rate(_h("02 00")).sensor_contact_supported
    e = decode_heart_rate(_h("09 00 00 FF FF"))
    assert (e.bpm, e.energy_kj) == (0, 65535)
    e = decode_heart_rate(_h("08 00 7F 80"))
    assert (e.bpm, e.energy_kj) == (0, 32895)
    r = decode_heart_rate(_h("10 00 FF FF"))
    assert (r.rr_1024, r.rr_ms) == ([65535], [63999])
    r = decode_heart_rate(_h("11 00 00 FF FF 7F 80"))
    assert (r.rr_1024, r.rr_ms) == ([65535, 32895], [63999, 32124])
    r = decode_heart_rate(_h("11 00 00 00 00"))
    assert (r.rr_1024, r.rr_ms) == ([0], [0])
