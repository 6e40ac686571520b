#!/usr/bin/python3
"""librdkafka (python3-confluent-kafka) as a recorded client for Brook's fault scenarios.

Usage:
  rdkafka_client.py produce BOOTSTRAP TOPIC PRODUCER PARTITIONS SEED [CONFIG_JSON]
      An idempotent acks=all producer. Sends records whose values are unique ids
      (PRODUCER-N) to partitions chosen by a random.Random(SEED), keeping at most 32 in flight,
      until stdin closes; then flushes and exits. Prints one line per event:
      `send ID PARTITION`, `ack ID PARTITION OFFSET`, `fail ID ERROR`. CONFIG_JSON adds or
      overrides librdkafka properties (a shorter request.timeout.ms for the pause scenario).
  rdkafka_client.py read BOOTSTRAP TOPIC ISOLATION TIMEOUT_S
      Reads every partition of TOPIC from its start up to the high watermark found at start,
      with isolation.level ISOLATION, printing `read PARTITION OFFSET VALUE` for each record and
      `complete {"partition": endOffset, ...}` once every partition is read to its end.
Every line is flushed as it is written, so a parent sees each event even if this process is
killed next.
"""
import json
import random
import select
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition


def say(line):
    sys.stdout.write(line + '\n')
    sys.stdout.flush()


def produce(bootstrap, topic, producer_name, partitions, seed, config_json='{}'):
    chooser = random.Random(int(seed))
    config = {
        'bootstrap.servers': bootstrap,
        'enable.idempotence': True,
        'acks': 'all',
        # Long enough to ride out a broker restart; the parent stops the run, not a timeout.
        'message.timeout.ms': 120000,
        'retry.backoff.ms': 100,
        'reconnect.backoff.max.ms': 500,
        'linger.ms': 2,
    }
    config.update(json.loads(config_json))
    producer = Producer(config)
    in_flight = [0]

    def delivered(error, message):
        in_flight[0] -= 1
        record_id = message.value().decode()
        if error is not None:
            say('fail %s %s' % (record_id, str(error).replace('\n', ' ')))
        else:
            say('ack %s %d %d' % (record_id, message.partition(), message.offset()))

    sequence = 0
    stdin_open = True
    while stdin_open:
        readable, _, _ = select.select([sys.stdin], [], [], 0)
        if readable and sys.stdin.readline() == '':
            stdin_open = False
            break
        if in_flight[0] >= 32:
            producer.poll(0.05)
            continue
        record_id = '%s-%d' % (producer_name, sequence)
        partition = chooser.randrange(int(partitions))
        say('send %s %d' % (record_id, partition))
        producer.produce(topic, value=record_id.encode(), partition=partition, on_delivery=delivered)
        in_flight[0] += 1
        sequence += 1
        producer.poll(0.002)
    remaining = producer.flush(60)
    say('done %d' % remaining)


def read(bootstrap, topic, isolation, timeout_s):
    consumer = Consumer({
        'bootstrap.servers': bootstrap,
        'group.id': 'brook-fault-reader',
        'enable.auto.commit': False,
        'isolation.level': isolation,
        'enable.partition.eof': True,
    })
    metadata = consumer.list_topics(topic, timeout=15)
    partitions = sorted(metadata.topics[topic].partitions.keys())
    ends = {}
    for partition in partitions:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=15)
        ends[partition] = high
    consumer.assign([TopicPartition(topic, partition, 0) for partition in partitions])
    deadline = time.time() + float(timeout_s)
    pending = set(partition for partition in partitions if ends[partition] > 0)
    while pending and time.time() < deadline:
        message = consumer.poll(0.2)
        if message is not None and message.error() is None:
            say('read %d %d %s' % (message.partition(), message.offset(), message.value().decode()))
        for partition in list(pending):
            position = consumer.position([TopicPartition(topic, partition)])[0].offset
            if position >= ends[partition]:
                pending.discard(partition)
    if pending:
        sys.stderr.write('partitions %s not read to their end within %s s\n' % (sorted(pending), timeout_s))
        sys.exit(1)
    say('complete %s' % json.dumps(ends))
    consumer.close()


if __name__ == '__main__':
    command = sys.argv[1]
    if command == 'produce':
        produce(*sys.argv[2:8])
    elif command == 'read':
        read(*sys.argv[2:6])
    else:
        sys.stderr.write('unknown command %s\n' % command)
        sys.exit(2)
