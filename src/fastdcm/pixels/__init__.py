"""Pixel data as numpy arrays: native frames as views of the file, encapsulated frames
located by their offset tables and decoded alone (RLE built in, the JPEG family through the
``jpeg`` extra), and the LUT helpers a radiology pipeline applies next.

Module map: description (the Image Pixel attributes, checked), native (uncompressed
layouts), encapsulated (fragments and frames), codecs (transfer syntax -> decoder), rle and
jpeg (the decoders), color (YBR -> RGB), luts (modality, VOI, palette), api (what
fastdcm.Dataset's pixel members call).
"""
from fastdcm.pixels.api import encoded_frame, frame, num_frames, pixel_array
from fastdcm.pixels.luts import apply_color_lut, apply_modality_lut, apply_voi_lut

__all__ = ["pixel_array", "frame", "num_frames", "encoded_frame", "apply_modality_lut",
           "apply_voi_lut", "apply_color_lut"]
