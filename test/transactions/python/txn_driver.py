"""librdkafka (python3-confluent-kafka) programs for Brook's exactly-once tests.

Each command prints one JSON document on stdout. Commands:
  produce-idempotent BOOTSTRAP TOPIC COUNT PARTITIONS
      COUNT records, value "<i>", record i to partition i % PARTITIONS, enable.idempotence.
  transactions BOOTSTRAP TOPIC TXN_ID PLAN
      PLAN is JSON: [{"records": [[partition, value]...], "commit": bool, "hold": bool}]; a held
      transaction prints {"holding": true} and waits for a line on stdin before ending.
  committed BOOTSTRAP GROUP TOPIC PARTITIONS
      the group's committed offsets of the topic's partitions.
  consume BOOTSTRAP TOPIC PARTITIONS ISOLATION
      every record from the beginning up to the end offsets the isolation level allows.
  transform BOOTSTRAP INPUT OUTPUT GROUP TXN_ID PARTITIONS EXPECTED
      consume-transform-produce with offsets in each transaction until EXPECTED records were
      committed; survives broker restarts (retries abortable errors).
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

DEADLINE_S = 120


def produce_idempotent(bootstrap, topic, count, partitions):
    producer = Producer({
        'bootstrap.servers': bootstrap,
        'enable.idempotence': True,
        'linger.ms': 2,
        'batch.num.messages': 50,
        'message.timeout.ms': 90000,
        'retry.backoff.ms': 50,
        'reconnect.backoff.ms': 50,
        'reconnect.backoff.max.ms': 500,
    })
    delivered = {'ok': 0, 'errors': []}

    def on_delivery(error, message):
        if error is not None:
            delivered['errors'].append(str(error))
        else:
            delivered['ok'] += 1

    for i in range(count):
        while True:
            try:
                producer.produce(topic, value=str(i).encode(), partition=i % partitions, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    remaining = producer.flush(DEADLINE_S)
    delivered['unflushed'] = remaining
    print(json.dumps(delivered))


def committed(bootstrap, group, topic, partitions):
    consumer = Consumer({'bootstrap.servers': bootstrap, 'group.id': group, 'enable.auto.commit': False})
    offsets = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], 30)
    consumer.close()
    print(json.dumps([tp.offset for tp in offsets]))


def transactions(bootstrap, topic, transactional_id, plan_json):
    plan = json.loads(plan_json)
    producer = Producer({
        'bootstrap.servers': bootstrap,
        'transactional.id': transactional_id,
        'linger.ms': 1,
    })
    producer.init_transactions(30)
    results = []
    for step in plan:
        producer.begin_transaction()
        for partition, value in step['records']:
            producer.produce(topic, value=value.encode(), partition=partition)
        producer.flush(30)
        if step.get('hold'):
            # Leave the transaction open until the test says so (a line on stdin).
            print(json.dumps({'holding': True}), flush=True)
            sys.stdin.readline()
        if step['commit']:
            producer.commit_transaction(30)
        else:
            producer.abort_transaction(30)
        results.append(step['commit'])
    print(json.dumps({'done': len(results)}))


def consume(bootstrap, topic, partitions, isolation):
    consumer = Consumer({
        'bootstrap.servers': bootstrap,
        'group.id': 'txn-test-reader',
        'enable.auto.commit': False,
        'isolation.level': isolation,
        'enable.partition.eof': True,
        'auto.offset.reset': 'earliest',
    })
    assignment = [TopicPartition(topic, p, 0) for p in range(partitions)]
    consumer.assign(assignment)
    records = []
    at_eof = set()
    deadline = time.time() + DEADLINE_S
    while len(at_eof) < partitions and time.time() < deadline:
        message = consumer.poll(0.5)
        if message is None:
            continue
        if message.error():
            if message.error().code() == -191:  # _PARTITION_EOF
                at_eof.add(message.partition())
                continue
            raise KafkaException(message.error())
        at_eof.discard(message.partition())
        records.append([message.partition(), message.offset(), message.value().decode()])
    consumer.close()
    print(json.dumps(records))


def transform(bootstrap, input_topic, output_topic, group, transactional_id, partitions, expected):
    consumer = Consumer({
        'bootstrap.servers': bootstrap,
        'group.id': group,
        'enable.auto.commit': False,
        'isolation.level': 'read_committed',
        'auto.offset.reset': 'earliest',
        'session.timeout.ms': 30000,
    })
    consumer.subscribe([input_topic])
    producer = Producer({
        'bootstrap.servers': bootstrap,
        'transactional.id': transactional_id,
        'transaction.timeout.ms': 60000,
        'message.timeout.ms': 60000,
        'linger.ms': 5,
    })
    producer.init_transactions(60)
    committed = 0
    aborted = 0
    deadline = time.time() + DEADLINE_S
    while committed < expected and time.time() < deadline:
        messages = consumer.consume(100, 0.5)
        messages = [m for m in messages if m.error() is None]
        if not messages:
            continue
        try:
            producer.begin_transaction()
            for message in messages:
                producer.produce(output_topic, value=b'out-' + message.value(), partition=message.partition())
            producer.send_offsets_to_transaction(
                consumer.position(consumer.assignment()), consumer.consumer_group_metadata(), 60)
            producer.commit_transaction(60)
            committed += len(messages)
        except KafkaException as error:
            kafka_error = error.args[0]
            if kafka_error.txn_requires_abort():
                producer.abort_transaction(60)
                aborted += 1
                # Rewind to the committed offsets: the aborted batch is processed again.
                positions = consumer.committed(consumer.assignment(), 30)
                for tp in positions:
                    if tp.offset < 0:
                        tp.offset = 0
                    consumer.seek(tp)
                committed = sum(max(tp.offset, 0) for tp in positions)
            elif kafka_error.retriable():
                time.sleep(0.2)
            else:
                raise
    consumer.close()
    print(json.dumps({'committed': committed, 'aborted': aborted}))


def main():
    command = sys.argv[1]
    if command == 'produce-idempotent':
        produce_idempotent(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    elif command == 'transactions':
        transactions(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
    elif command == 'committed':
        committed(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    elif command == 'consume':
        consume(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    elif command == 'transform':
        transform(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6], int(sys.argv[7]), int(sys.argv[8]))
    else:
        raise SystemExit('unknown command ' + command)


if __name__ == '__main__':
    main()
