"""Produces as fast as librdkafka is allowed for a given time and reports what was delivered.

Usage: rdkafka_quota_producer.py BOOTSTRAP TOPIC CLIENT_ID SECONDS
Prints one JSON object: bytes delivered within SECONDS of the first produce, the seconds, and
the largest throttle time librdkafka reported through throttle_cb.
"""
import json
import sys
import time

from confluent_kafka import Producer

bootstrap, topic, client_id, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
throttles = []
producer = Producer({
    'bootstrap.servers': bootstrap,
    'client.id': client_id,
    'acks': 1,
    'linger.ms': 5,
    # Small requests, so that one request is a small part of what the quota allows per second.
    'batch.size': 16384,
    'queue.buffering.max.kbytes': 256,
    'throttle_cb': lambda event: throttles.append(event.throttle_time * 1000),
})
value = b'x' * 10240
delivered = 0
started = time.monotonic()
deadline = started + seconds


def on_delivery(error, message):
    global delivered
    if error is None and time.monotonic() <= deadline:
        delivered += len(message.value())


while time.monotonic() < deadline:
    try:
        producer.produce(topic, value, on_delivery=on_delivery)
    except BufferError:
        producer.poll(0.05)
        continue
    producer.poll(0)
while time.monotonic() < deadline + 1:
    producer.poll(0.1)
producer.purge()
producer.flush(5)
print(json.dumps({'bytes': delivered, 'seconds': seconds, 'maxThrottleMs': max(throttles, default=0)}))
