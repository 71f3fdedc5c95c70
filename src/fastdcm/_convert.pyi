"""Type stub for the compiled one-pass rescale (fastdcm/_convert.pyx)."""
import numpy as np

def rescale(out: np.ndarray, stored: np.ndarray, slope: float = ..., intercept: float = ...,
            bits_stored: int = ..., stream: bool = ...) -> bool:
    """out = corrected(stored) * slope + intercept in one pass (with `stream`, written
    around the caches); False (nothing written) when the arrays are not ones it takes."""
