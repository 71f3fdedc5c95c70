"""Declares the Cython extensions: every ``src/fastdcm/*.pyx`` becomes one module.

Set ``FASTDCM_DEBUG=1`` to build with line tracing and an annotated HTML next to each source
(``cython -a``), for profiling and for checking that hot loops stay free of Python calls.
"""
import glob
import os

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

debug = os.environ.get("FASTDCM_DEBUG") == "1"
macros = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
if debug:
    macros.append(("CYTHON_TRACE_NOGIL", "1"))

extensions = [
    Extension(
        "fastdcm." + os.path.splitext(os.path.basename(path))[0],
        [path],
        include_dirs=[numpy.get_include()],
        define_macros=macros,
        depends=sorted(glob.glob("src/fastdcm/*.h") + glob.glob("src/fastdcm/*.pxd")),
        extra_compile_args=["-O3", "-ffp-contract=off"],
    )
    for path in sorted(glob.glob("src/fastdcm/*.pyx"))
]

setup(
    ext_modules=cythonize(
        extensions,
        language_level=3,
        annotate=debug,
        compiler_directives={"linetrace": debug, "embedsignature": True},
    )
)
