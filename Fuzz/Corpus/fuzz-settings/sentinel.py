SENTINEL = {'INSTANCES': [('sentinel-1', 26379), ("::1", 26380)],
            'MASTER_NAME': 'mymaster', 'DB': 0, 'PASSWORD': 'p@ss', 'SSL': True,
            'CONNECTION_KWARGS': {'ssl_ca_certs': '/ca.pem'}, 'SENTINEL_KWARGS': {'password': 's', 'ssl': True}}
