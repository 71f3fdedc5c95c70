"""Type stub for the compiled one-pass rescale (fastdcm/_convert.pyx)."""
import numpy as np

def rescale(out: np.ndarray, stored: np.ndarray, slope: float = ..., intercept: float = ...,
            bits_stored: int = ...) -> bool:
    """out = corrected(stored) * slope + intercept in one pass; False (nothing written)
    when the arrays are not ones it takes."""
