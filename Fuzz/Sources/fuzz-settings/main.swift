import FuzzSupport
@_spi(Fuzzing) import RQCommandLine

// The `-c` settings file: a JSON object or a Python module of assignments, then the Redis URL it describes.
fuzz(SettingsFileFuzzing.read)
