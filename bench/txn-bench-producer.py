"""One round of bench/txn-bench.ts: librdkafka (python3-confluent-kafka) producing to Brook for
SECONDS, idempotent or transactional, and printing {"records": n, "seconds": s} with every record
acknowledged (flushed or committed) inside the measured time.

  txn-bench-producer.py MODE BOOTSTRAP TOPIC SECONDS VALUE_BYTES
  MODE: idempotent | txn-records (commit every 1,000 records) | txn-interval (commit every 100 ms)
"""
import json
import os
import sys
import time

from confluent_kafka import Producer

mode, bootstrap, topic, seconds, value_bytes = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
config = {'bootstrap.servers': bootstrap, 'enable.idempotence': True, 'linger.ms': 5}
transactional = mode != 'idempotent'
if transactional:
    config['transactional.id'] = 'txn-bench-%s-%d' % (mode, os.getpid())
producer = Producer(config)
if transactional:
    producer.init_transactions(30)
payload = b'x' * value_bytes


def produce_one():
    while True:
        try:
            producer.produce(topic, payload)
            return
        except BufferError:
            producer.poll(0.001)


count = 0
start = time.time()
end = start + seconds
if mode == 'idempotent':
    while time.time() < end:
        produce_one()
        count += 1
        if count % 1000 == 0:
            producer.poll(0)
    producer.flush(60)
elif mode == 'txn-records':
    while time.time() < end:
        producer.begin_transaction()
        for _ in range(1000):
            produce_one()
        producer.commit_transaction(60)
        count += 1000
elif mode == 'txn-interval':
    while time.time() < end:
        producer.begin_transaction()
        started = time.time()
        while time.time() - started < 0.1:
            produce_one()
            count += 1
        producer.commit_transaction(60)
else:
    raise SystemExit('unknown mode ' + mode)
print(json.dumps({'records': count, 'seconds': time.time() - start}))
