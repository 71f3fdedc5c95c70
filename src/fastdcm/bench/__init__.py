"""``fastdcm bench``: how much faster fastdcm is than the reader you use, on your own files.

corpus (files to read when none are given) -> readers (one adapter per library) -> tasks
(what is timed, how answers compare) -> runner (interleaved rounds, checks) -> report.
The command line lives in fastdcm.bench.command; nothing here is imported by fastdcm itself.
"""
