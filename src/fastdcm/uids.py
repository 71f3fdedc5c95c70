"""Transfer syntaxes (PS3.5 section 10, PS3.6 Table A-1): how each encodes its data set."""
from __future__ import annotations

from typing import Dict, NamedTuple, Optional


class TransferSyntax(NamedTuple):
    name: str
    little_endian: bool = True
    implicit_vr: bool = False
    encapsulated: bool = True      # pixel data as fragments (PS3.5 A.4)
    deflated: bool = False         # the data set after the file meta is deflate-compressed


IMPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2"
EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"
DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1.99"
EXPLICIT_VR_BIG_ENDIAN = "1.2.840.10008.1.2.2"
RLE_LOSSLESS = "1.2.840.10008.1.2.5"

_NATIVE = {"encapsulated": False}
TRANSFER_SYNTAXES: Dict[str, TransferSyntax] = {
    IMPLICIT_VR_LITTLE_ENDIAN: TransferSyntax("Implicit VR Little Endian", implicit_vr=True,
                                              encapsulated=False),
    EXPLICIT_VR_LITTLE_ENDIAN: TransferSyntax("Explicit VR Little Endian", **_NATIVE),
    "1.2.840.10008.1.2.1.98": TransferSyntax("Encapsulated Uncompressed Explicit VR Little Endian"),
    DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN: TransferSyntax("Deflated Explicit VR Little Endian",
                                                       encapsulated=False, deflated=True),
    EXPLICIT_VR_BIG_ENDIAN: TransferSyntax("Explicit VR Big Endian", little_endian=False,
                                           encapsulated=False),
    "1.2.840.10008.1.2.4.50": TransferSyntax("JPEG Baseline (Process 1)"),
    "1.2.840.10008.1.2.4.51": TransferSyntax("JPEG Extended (Process 2 & 4)"),
    "1.2.840.10008.1.2.4.57": TransferSyntax("JPEG Lossless, Non-Hierarchical (Process 14)"),
    "1.2.840.10008.1.2.4.70": TransferSyntax("JPEG Lossless, Non-Hierarchical, First-Order "
                                             "Prediction (Process 14 [Selection Value 1])"),
    "1.2.840.10008.1.2.4.80": TransferSyntax("JPEG-LS Lossless Image Compression"),
    "1.2.840.10008.1.2.4.81": TransferSyntax("JPEG-LS Lossy (Near-Lossless) Image Compression"),
    "1.2.840.10008.1.2.4.90": TransferSyntax("JPEG 2000 Image Compression (Lossless Only)"),
    "1.2.840.10008.1.2.4.91": TransferSyntax("JPEG 2000 Image Compression"),
    "1.2.840.10008.1.2.4.92": TransferSyntax("JPEG 2000 Part 2 Multi-component Image "
                                             "Compression (Lossless Only)"),
    "1.2.840.10008.1.2.4.93": TransferSyntax("JPEG 2000 Part 2 Multi-component Image "
                                             "Compression"),
    "1.2.840.10008.1.2.4.94": TransferSyntax("JPIP Referenced", **_NATIVE),
    "1.2.840.10008.1.2.4.95": TransferSyntax("JPIP Referenced Deflate", encapsulated=False,
                                             deflated=True),
    "1.2.840.10008.1.2.4.100": TransferSyntax("MPEG2 Main Profile / Main Level"),
    "1.2.840.10008.1.2.4.100.1": TransferSyntax("Fragmentable MPEG2 Main Profile / Main Level"),
    "1.2.840.10008.1.2.4.101": TransferSyntax("MPEG2 Main Profile / High Level"),
    "1.2.840.10008.1.2.4.101.1": TransferSyntax("Fragmentable MPEG2 Main Profile / High Level"),
    "1.2.840.10008.1.2.4.102": TransferSyntax("MPEG-4 AVC/H.264 High Profile / Level 4.1"),
    "1.2.840.10008.1.2.4.102.1": TransferSyntax("Fragmentable MPEG-4 AVC/H.264 High Profile / "
                                                "Level 4.1"),
    "1.2.840.10008.1.2.4.103": TransferSyntax("MPEG-4 AVC/H.264 BD-compatible High Profile / "
                                              "Level 4.1"),
    "1.2.840.10008.1.2.4.103.1": TransferSyntax("Fragmentable MPEG-4 AVC/H.264 BD-compatible "
                                                "High Profile / Level 4.1"),
    "1.2.840.10008.1.2.4.104": TransferSyntax("MPEG-4 AVC/H.264 High Profile / Level 4.2 For "
                                              "2D Video"),
    "1.2.840.10008.1.2.4.104.1": TransferSyntax("Fragmentable MPEG-4 AVC/H.264 High Profile / "
                                                "Level 4.2 For 2D Video"),
    "1.2.840.10008.1.2.4.105": TransferSyntax("MPEG-4 AVC/H.264 High Profile / Level 4.2 For "
                                              "3D Video"),
    "1.2.840.10008.1.2.4.105.1": TransferSyntax("Fragmentable MPEG-4 AVC/H.264 High Profile / "
                                                "Level 4.2 For 3D Video"),
    "1.2.840.10008.1.2.4.106": TransferSyntax("MPEG-4 AVC/H.264 Stereo High Profile / Level "
                                              "4.2"),
    "1.2.840.10008.1.2.4.106.1": TransferSyntax("Fragmentable MPEG-4 AVC/H.264 Stereo High "
                                                "Profile / Level 4.2"),
    "1.2.840.10008.1.2.4.107": TransferSyntax("HEVC/H.265 Main Profile / Level 5.1"),
    "1.2.840.10008.1.2.4.108": TransferSyntax("HEVC/H.265 Main 10 Profile / Level 5.1"),
    "1.2.840.10008.1.2.4.110": TransferSyntax("JPEG XL Lossless"),
    "1.2.840.10008.1.2.4.111": TransferSyntax("JPEG XL JPEG Recompression"),
    "1.2.840.10008.1.2.4.112": TransferSyntax("JPEG XL"),
    "1.2.840.10008.1.2.4.201": TransferSyntax("High-Throughput JPEG 2000 Image Compression "
                                              "(Lossless Only)"),
    "1.2.840.10008.1.2.4.202": TransferSyntax("High-Throughput JPEG 2000 with RPCL Options "
                                              "Image Compression (Lossless Only)"),
    "1.2.840.10008.1.2.4.203": TransferSyntax("High-Throughput JPEG 2000 Image Compression"),
    "1.2.840.10008.1.2.4.204": TransferSyntax("JPIP HTJ2K Referenced", **_NATIVE),
    "1.2.840.10008.1.2.4.205": TransferSyntax("JPIP HTJ2K Referenced Deflate",
                                              encapsulated=False, deflated=True),
    RLE_LOSSLESS: TransferSyntax("RLE Lossless"),
    "1.2.840.10008.1.2.8.1": TransferSyntax("Deflated Image Frame Compression"),
    "1.2.840.10008.1.2.7.1": TransferSyntax("SMPTE ST 2110-20 Uncompressed Progressive "
                                            "Active Video"),
    "1.2.840.10008.1.2.7.2": TransferSyntax("SMPTE ST 2110-20 Uncompressed Interlaced Active "
                                            "Video"),
    "1.2.840.10008.1.2.7.3": TransferSyntax("SMPTE ST 2110-30 PCM Digital Audio", **_NATIVE),
    "1.2.840.10008.1.20": TransferSyntax("Papyrus 3 Implicit VR Little Endian (Retired)",
                                         implicit_vr=True, encapsulated=False),
}
# The retired JPEG processes share one encoding: explicit VR little endian, encapsulated.
for _suffix, _process in (("52", "3 & 5"), ("53", "6 & 8"), ("54", "7 & 9"), ("55", "10 & 12"),
                          ("56", "11 & 13"), ("58", "15"), ("59", "16 & 18"),
                          ("60", "17 & 19"), ("61", "20 & 22"), ("62", "21 & 23"),
                          ("63", "24 & 26"), ("64", "25 & 27"), ("65", "28"), ("66", "29")):
    TRANSFER_SYNTAXES[f"1.2.840.10008.1.2.4.{_suffix}"] = TransferSyntax(
        f"JPEG Process {_process} (Retired)")


def transfer_syntax(uid: str) -> Optional[TransferSyntax]:
    """The encoding of a transfer syntax UID; None when the UID is not one of the standard's."""
    return TRANSFER_SYNTAXES.get(uid)
