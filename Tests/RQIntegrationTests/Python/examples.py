"""Python twins of swift-rq's example job functions, for interoperability tests with `rq worker -S json`."""
import os
import time


def noop(*args, **kwargs):
    return None


def add(x, y):
    return x + y


def echo(*args, **kwargs):
    return {"args": list(args), "kwargs": kwargs}


def sleep(seconds):
    time.sleep(seconds)
    return seconds


def fail(message):
    raise ValueError(message)


def crash():
    os.abort()
