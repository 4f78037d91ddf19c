REDIS_HOST = 'h'
REDIS_PORT = 6380
REDIS_DB = 2
REDIS_PASSWORD = None
REDIS_SSL = 'yes'
REDIS_SSL_CA_CERTS = '/ca.pem'
DICT = {1: (1.5, -2, 0x10, 'a' 'b', b'x')}
