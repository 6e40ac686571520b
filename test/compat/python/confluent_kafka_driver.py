#!/usr/bin/python3
"""Drives python3-confluent-kafka (librdkafka) for Brook's compatibility tests.

Usage: confluent_kafka_driver.py COMMAND BOOTSTRAP TOPIC [ARGUMENTS]; the command's input, when it
has one, is JSON on stdin. Prints one JSON document on stdout, or a message on stderr and exits
non-zero. Every client call has a bounded timeout and the whole run is bounded by an alarm.

Commands: create PARTITIONS (stdin: configs), describe, alter (stdin: the full config set;
confluent-kafka 1.7 has only the legacy AlterConfigs), produce (stdin: runs), read PARTITIONS,
offsets-for-times (stdin: queries), delete, list; and `groups BOOTSTRAP GROUP` (ListGroups,
DescribeGroups).

Set BROOK_COMPAT_RDKAFKA_CONFIG to a JSON object of extra librdkafka properties.
"""
import base64
import json
import os
import signal
import sys

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

TIMEOUT_S = 15.0
signal.alarm(int(os.environ.get('BROOK_COMPAT_DRIVER_TIMEOUT_S', '60')))


def base_config(bootstrap):
    config = {'bootstrap.servers': bootstrap, 'socket.timeout.ms': 10000}
    config.update(json.loads(os.environ.get('BROOK_COMPAT_RDKAFKA_CONFIG', '{}')))
    return config


# Module level: an AdminClient that is garbage-collected fails its pending futures (_DESTROY).
ADMIN_CLIENTS = []


def admin(bootstrap):
    ADMIN_CLIENTS.append(AdminClient(base_config(bootstrap)))
    return ADMIN_CLIENTS[-1]


def wait_all(futures):
    return {key: future.result(timeout=TIMEOUT_S) for key, future in futures.items()}


def create(bootstrap, topic, partitions):
    configs = json.load(sys.stdin)
    new_topic = NewTopic(topic, num_partitions=int(partitions), replication_factor=1, config=configs)
    wait_all(admin(bootstrap).create_topics([new_topic], request_timeout=TIMEOUT_S))
    return {'created': topic}


def describe(bootstrap, topic):
    resource = ConfigResource('topic', topic)
    result = wait_all(admin(bootstrap).describe_configs([resource], request_timeout=TIMEOUT_S))
    entries = next(iter(result.values()))
    return {name: entry.value for name, entry in entries.items()}


def alter(bootstrap, topic):
    configs = json.load(sys.stdin)
    resource = ConfigResource('topic', topic, set_config=configs)
    wait_all(admin(bootstrap).alter_configs([resource], request_timeout=TIMEOUT_S))
    return {'altered': topic}


def headers_of(record):
    return [(key, base64.b64decode(value)) for key, value in record['headers']]


def produce(bootstrap, topic):
    """One producer per codec (compression.type is a producer setting); records in run order."""
    runs = json.load(sys.stdin)
    reports = []
    errors = []
    producers = {}

    for run in runs:
        codec = run['codec']
        if codec not in producers:
            config = base_config(bootstrap)
            config.update({'compression.type': codec, 'linger.ms': 5, 'acks': 'all',
                           'message.timeout.ms': int(TIMEOUT_S * 1000)})
            producers[codec] = Producer(config)
        producer = producers[codec]
        for record in run['records']:
            index = len(reports)
            reports.append(None)

            def delivered(error, message, index=index):
                if error is not None:
                    errors.append(str(error))
                else:
                    reports[index] = {'partition': message.partition(), 'offset': message.offset()}

            key = None if record['key'] is None else base64.b64decode(record['key'])
            options = {'partition': record['partition'], 'key': key,
                       'headers': headers_of(record), 'on_delivery': delivered}
            if 'timestamp' in record:
                options['timestamp'] = record['timestamp']
            producer.produce(topic, base64.b64decode(record['value']), **options)
        # Runs go out in order: the next run waits for this one, as the other clients do.
        remaining = producer.flush(TIMEOUT_S)
        if remaining:
            fail(f'{remaining} records not delivered within {TIMEOUT_S} s')
    if errors:
        fail(f'delivery failed: {errors[:5]}')
    return reports


def read(bootstrap, topic, partitions):
    """Reads every partition from the beginning to its end (partition EOF), with assign()."""
    config = base_config(bootstrap)
    config.update({'group.id': f'brook-compat-read-{os.getpid()}', 'enable.auto.commit': False,
                   'enable.partition.eof': True, 'auto.offset.reset': 'earliest'})
    consumer = Consumer(config)
    partitions = int(partitions)
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    records = []
    at_end = set()
    while len(at_end) < partitions:
        message = consumer.poll(TIMEOUT_S)
        if message is None:
            fail(f'no message or end of partition within {TIMEOUT_S} s ({len(records)} read)')
        if message.error():
            if message.error().code() == KafkaError._PARTITION_EOF:
                at_end.add(message.partition())
                continue
            fail(f'consume error: {message.error()}')
        at_end.discard(message.partition())
        key = message.key()
        records.append({
            'partition': message.partition(),
            'offset': message.offset(),
            'key': None if key is None else base64.b64encode(key).decode(),
            'value': base64.b64encode(message.value() or b'').decode(),
            'headers': [[name, None if value is None else base64.b64encode(value).decode()]
                        for name, value in (message.headers() or [])],
            'timestamp': message.timestamp()[1],
        })
    consumer.close()
    return records


def offsets_for_times(bootstrap, topic):
    queries = json.load(sys.stdin)
    config = base_config(bootstrap)
    config.update({'group.id': f'brook-compat-times-{os.getpid()}', 'enable.auto.commit': False})
    consumer = Consumer(config)
    # One lookup per query: a partition may be asked about several timestamps.
    offsets = []
    for query in queries:
        found = consumer.offsets_for_times(
            [TopicPartition(topic, query['partition'], query['timestamp'])], timeout=TIMEOUT_S)
        if found[0].error:
            fail(f'offsets_for_times: {found[0].error}')
        offsets.append(found[0].offset)
    consumer.close()
    return offsets


def delete(bootstrap, topic):
    wait_all(admin(bootstrap).delete_topics([topic], operation_timeout=TIMEOUT_S,
                                            request_timeout=TIMEOUT_S))
    return {'deleted': topic}


def list_topics(bootstrap, _topic):
    return sorted(admin(bootstrap).list_topics(timeout=TIMEOUT_S).topics.keys())


def groups(bootstrap, group):
    """ListGroups, then DescribeGroups of one group (the second argument is the group id)."""
    client = admin(bootstrap)
    listed = [metadata.id for metadata in client.list_groups(timeout=TIMEOUT_S)]
    described = client.list_groups(group=group, timeout=TIMEOUT_S)
    if len(described) != 1:
        fail(f'list_groups({group}) answered {len(described)} groups')
    metadata = described[0]
    if metadata.error is not None:
        fail(f'describe {group}: {metadata.error}')
    return {
        'listed': listed,
        'state': metadata.state,
        'protocolType': metadata.protocol_type,
        'protocol': metadata.protocol,
        'members': [{'memberId': member.id, 'clientId': member.client_id,
                     'assignment': base64.b64encode(member.assignment or b'').decode()}
                    for member in metadata.members],
    }


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(2)


COMMANDS = {'create': create, 'describe': describe, 'alter': alter, 'produce': produce,
            'read': read, 'offsets-for-times': offsets_for_times, 'delete': delete,
            'list': list_topics, 'groups': groups}

if __name__ == '__main__':
    if len(sys.argv) < 4 or sys.argv[1] not in COMMANDS:
        fail(__doc__)
    try:
        print(json.dumps(COMMANDS[sys.argv[1]](*sys.argv[2:])), flush=True)
        # confluent-kafka 1.7 releases None once too often for a null header value read from a
        # message, which aborts the interpreter at exit: the result is out, so exit without teardown.
        os._exit(0)
    except SystemExit:
        raise
    except Exception as error:  # Every client error becomes a message and a non-zero exit.
        fail(f'{sys.argv[1]}: {type(error).__name__}: {error}')
