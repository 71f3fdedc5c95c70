import numpy as np

def rescale(out: np.ndarray, stored: np.ndarray, slope: float = ..., intercept: float = ...,
            bits_stored: int = ...) -> bool: ...
