import FuzzSupport
@_spi(Fuzzing) import RQ

// `PickleReader`: the pickles of Python RQ's default serializer (job `data`, `meta`, results).
fuzz(Fuzzing.readPickle)
