#!/usr/bin/python3
"""librdkafka (python3-confluent-kafka) as a recorded client for Brook's fault scenarios.

Usage:
  rdkafka_client.py produce BOOTSTRAP TOPIC PRODUCER PARTITIONS SEED [CONFIG_JSON]
      An idempotent acks=all producer. Sends records whose values are unique ids
      (PRODUCER-N) to partitions chosen by a random.Random(SEED), keeping at most 32 in flight,
      until stdin closes; then flushes and exits. Prints one line per event:
      `send ID PARTITION`, `ack ID PARTITION OFFSET` (OFFSET -1: acknowledged implicitly,
      offset unknown), `fail ID ERROR`. CONFIG_JSON adds or
      overrides librdkafka properties (a shorter request.timeout.ms for the pause scenario).
  rdkafka_client.py read BOOTSTRAP TOPIC ISOLATION TIMEOUT_S
      Reads every partition of TOPIC from its start up to the high watermark found at start,
      with isolation.level ISOLATION, printing `read PARTITION OFFSET VALUE` for each record and
      `complete {"partition": endOffset, ...}` once every partition is read to its end.
  rdkafka_client.py transform BOOTSTRAP INPUT OUTPUT GROUP TRANSACTIONAL_ID SEED ABORT_PERCENT
      A consume-transform-produce loop: reads INPUT (read_committed, group GROUP), and for each
      polled batch writes one output per input to the same partition of OUTPUT in a transaction
      together with the consumer's offsets; ABORT_PERCENT of transactions are aborted on purpose.
      Prints `read PARTITION OFFSET VALUE` (inputs), `send ID PARTITION SOURCE TRANSACTION`,
      `ack ID PARTITION OFFSET`, `txn TRANSACTION commit|abort|unknown`, and `session N` each
      time the consumer rewinds to its committed offsets. Runs until stdin closes.
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
            # No offset when librdkafka acknowledged the record implicitly: a later batch of
            # this producer succeeded, so the broker holds it, but its own answer was lost.
            offset = message.offset()
            say('ack %s %d %d' % (record_id, message.partition(), -1 if offset is None else offset))

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


def transform(bootstrap, input_topic, output_topic, group, transactional_id, seed, abort_percent):
    chooser = random.Random(int(seed))
    consumer = Consumer({
        'bootstrap.servers': bootstrap,
        'group.id': group,
        'enable.auto.commit': False,
        'isolation.level': 'read_committed',
        'auto.offset.reset': 'earliest',
        'session.timeout.ms': 10000,
    })
    producer_config = {
        'bootstrap.servers': bootstrap,
        'transactional.id': transactional_id,
        'transaction.timeout.ms': 10000,
        'message.timeout.ms': 10000,
        'retry.backoff.ms': 100,
        'reconnect.backoff.max.ms': 500,
    }
    producer = Producer(producer_config)
    producer.init_transactions(60)
    consumer.subscribe([input_topic])
    session = [0]

    def delivered(error, message):
        record_id = message.value().decode()
        if error is not None:
            say('fail %s %s' % (record_id, str(error).replace('\n', ' ')))
        else:
            offset = message.offset()
            say('ack %s %d %d' % (record_id, message.partition(), -1 if offset is None else offset))

    def rewind():
        """After an abort the inputs are read again from the offsets last committed."""
        session[0] += 1
        say('session %d' % session[0])
        assignment = consumer.assignment()
        if not assignment:
            return
        for partition in consumer.committed(assignment, timeout=30):
            if partition.offset < 0:
                partition.offset = -2  # OFFSET_BEGINNING: nothing committed yet
            consumer.seek(partition)

    def settle(operation):
        """Runs commit or abort, repeating it while the error says a retry may succeed."""
        for _ in range(20):
            try:
                operation(30)
                return True
            except KafkaException as exception:
                error = exception.args[0]
                if error.fatal() or error.txn_requires_abort() or not error.retriable():
                    raise
                time.sleep(0.2)
        return False

    transactions = 0
    while True:
        readable, _, _ = select.select([sys.stdin], [], [], 0)
        if readable and sys.stdin.readline() == '':
            break
        messages = [m for m in consumer.consume(num_messages=chooser.randint(1, 25), timeout=0.3) if m.error() is None]
        if not messages:
            continue
        transactions += 1
        transaction = '%s#%d' % (transactional_id, transactions)
        for m in messages:
            say('read %d %d %s' % (m.partition(), m.offset(), m.value().decode()))
        outcome = 'unknown'
        try:
            producer.begin_transaction()
            for m in messages:
                source = m.value().decode()
                output_id = 'out-%s#%d' % (source, transactions)
                say('send %s %d %s %s' % (output_id, m.partition(), source, transaction))
                producer.produce(output_topic, value=output_id.encode(), partition=m.partition(), on_delivery=delivered)
            producer.send_offsets_to_transaction(
                consumer.position(consumer.assignment()), consumer.consumer_group_metadata(), 30)
            if chooser.randrange(100) < int(abort_percent):
                # Flushed first: abort_transaction purges records still queued in librdkafka, and
                # the records of an aborted transaction must reach the log for read_committed to
                # be tested against them.
                producer.flush(30)
                outcome = 'abort' if settle(producer.abort_transaction) else 'unknown'
            else:
                outcome = 'commit' if settle(producer.commit_transaction) else 'unknown'
        except KafkaException as exception:
            error = exception.args[0]
            sys.stderr.write('transaction %s: %s\n' % (transaction, error))
            if error.fatal():
                outcome = 'unknown'
            else:
                try:
                    outcome = 'abort' if settle(producer.abort_transaction) else 'unknown'
                except KafkaException as abort_exception:
                    sys.stderr.write('abort of %s: %s\n' % (transaction, abort_exception.args[0]))
                    outcome = 'unknown'
        producer.poll(0)
        say('txn %s %s' % (transaction, outcome))
        if outcome == 'unknown':
            # A fatal or unsettled producer is replaced: init_transactions fences the old one and
            # aborts whatever it left open.
            producer.flush(0)
            producer = Producer(producer_config)
            producer.init_transactions(60)
        if outcome != 'commit':
            rewind()
    producer.flush(30)
    consumer.close()
    say('done 0')


if __name__ == '__main__':
    command = sys.argv[1]
    if command == 'produce':
        produce(*sys.argv[2:8])
    elif command == 'transform':
        transform(*sys.argv[2:9])
    elif command == 'read':
        read(*sys.argv[2:6])
    else:
        sys.stderr.write('unknown command %s\n' % command)
        sys.exit(2)
