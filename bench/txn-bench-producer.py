"""One producer of bench/txn-bench.ts: librdkafka (python3-confluent-kafka) producing to Brook,
idempotent or transactional, with the same client settings in every mode. It connects (and
initialises its transactional id) first, prints "ready", waits for "go" on stdin, produces for
SECONDS, and prints {"records": n, "seconds": s, "drainMs": [...], "endTxnMs": [...]} with every
record counted acknowledged (flushed or committed) inside the measured time.

  txn-bench-producer.py MODE BOOTSTRAP TOPIC SECONDS VALUE_BYTES TRANSACTIONAL_ID
  MODE: idempotent | txn-records (commit every 1,000 records) | txn-interval (every 100 ms)

A commit is timed in two parts: flush() waits for the transaction's records to be acknowledged
(what commit_transaction() would do first), then commit_transaction() is left with nothing to
send but EndTxn, so its duration is the EndTxn round trip: the broker's commit as the client sees it.
"""
import json
import sys
import time

from confluent_kafka import Producer

mode, bootstrap, topic = sys.argv[1], sys.argv[2], sys.argv[3]
seconds, value_bytes, transactional_id = float(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
RECORDS_PER_TRANSACTION = 1000
TRANSACTION_INTERVAL_S = 0.1

# Identical in every mode; only transactional.id is added for the transactional ones.
config = {
    'bootstrap.servers': bootstrap,
    'enable.idempotence': True,
    'linger.ms': 5,
    'batch.num.messages': 10000,
    'batch.size': 1000000,
    'queue.buffering.max.messages': 100000,
    'queue.buffering.max.kbytes': 1048576,
}
transactional = mode != 'idempotent'
if transactional:
    config['transactional.id'] = transactional_id
producer = Producer(config)
if transactional:
    producer.init_transactions(30)
# Every mode learns the topic's partitions before the clock starts: otherwise the first produce
# waits for the metadata inside the measured time.
producer.list_topics(topic, 30)
payload = b'x' * value_bytes
print('ready', flush=True)
if sys.stdin.readline().strip() != 'go':
    raise SystemExit('expected go')


def produce_one():
    while True:
        try:
            producer.produce(topic, payload)
            return
        except BufferError:
            producer.poll(0.001)


drain_ms = []
end_txn_ms = []


def commit():
    started = time.perf_counter()
    producer.flush(60)
    flushed = time.perf_counter()
    producer.commit_transaction(60)
    drain_ms.append((flushed - started) * 1000)
    end_txn_ms.append((time.perf_counter() - flushed) * 1000)


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
        for _ in range(RECORDS_PER_TRANSACTION):
            produce_one()
        commit()
        count += RECORDS_PER_TRANSACTION
elif mode == 'txn-interval':
    while time.time() < end:
        producer.begin_transaction()
        started = time.time()
        produced = 0
        while time.time() - started < TRANSACTION_INTERVAL_S:
            produce_one()
            produced += 1
            if produced % 1000 == 0:
                producer.poll(0)
        commit()
        count += produced
else:
    raise SystemExit('unknown mode ' + mode)
print(json.dumps({'records': count, 'seconds': time.time() - start,
                  'drainMs': drain_ms, 'endTxnMs': end_txn_ms}))
