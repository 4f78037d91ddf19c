# RQ settings
REDIS_URL = 'redis://127.0.0.1:6379/0'
QUEUES = ['high', 'default']
NAME = "worker-1"
lower = 1
