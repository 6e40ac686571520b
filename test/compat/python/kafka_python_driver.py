#!/usr/bin/python3
"""Drives python3-kafka (kafka-python 2.0.2) for Brook's compatibility tests.

Same command line as confluent_kafka_driver.py: COMMAND BOOTSTRAP TOPIC [ARGUMENTS], input as JSON
on stdin, one JSON document on stdout, or a message on stderr and a non-zero exit.

kafka-python infers the broker's version from the ApiVersions ranges and then uses fixed request
versions (Produce v7, Fetch v4, ListOffsets v1, Metadata v1); its codecs need python3-lz4,
python3-snappy and python3-zstandard.
"""
import base64
import json
import os
import signal
import sys

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic

TIMEOUT_MS = 15000
signal.alarm(int(os.environ.get('BROOK_COMPAT_DRIVER_TIMEOUT_S', '60')))


def common(bootstrap):
    return {'bootstrap_servers': bootstrap, 'request_timeout_ms': TIMEOUT_MS,
            'api_version_auto_timeout_ms': TIMEOUT_MS, 'client_id': 'brook-compat-kafka-python'}


def admin(bootstrap):
    return KafkaAdminClient(**common(bootstrap))


def check_topic_errors(response, what):
    for entry in getattr(response, 'topic_errors', []) or []:
        if entry[1] != 0:
            fail(f'{what}: topic {entry[0]} error {entry[1]} {entry[2:] }')


def create(bootstrap, topic, partitions):
    configs = json.load(sys.stdin)
    client = admin(bootstrap)
    response = client.create_topics(
        [NewTopic(topic, num_partitions=int(partitions), replication_factor=1, topic_configs=configs)],
        timeout_ms=TIMEOUT_MS)
    check_topic_errors(response, 'create_topics')
    client.close()
    return {'created': topic}


def describe(bootstrap, topic):
    client = admin(bootstrap)
    responses = client.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    client.close()
    configs = {}
    for response in responses:
        for resource in response.resources:
            error_code, error_message = resource[0], resource[1]
            if error_code != 0:
                fail(f'describe_configs: error {error_code} {error_message}')
            for entry in resource[4]:
                configs[entry[0]] = entry[1]
    return configs


def alter(bootstrap, topic):
    configs = json.load(sys.stdin)
    client = admin(bootstrap)
    response = client.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs=configs)])
    client.close()
    for resource in response.resources:
        if resource[0] != 0:
            fail(f'alter_configs: error {resource[0]} {resource[1]}')
    return {'altered': topic}


def produce(bootstrap, topic):
    runs = json.load(sys.stdin)
    producers = {}
    reports = []
    for run in runs:
        codec = run['codec']
        if codec not in producers:
            producers[codec] = KafkaProducer(
                **common(bootstrap), acks='all', linger_ms=5, max_block_ms=TIMEOUT_MS,
                compression_type=None if codec == 'none' else codec)
        producer = producers[codec]
        futures = []
        for record in run['records']:
            futures.append(producer.send(
                topic,
                value=base64.b64decode(record['value']),
                key=None if record['key'] is None else base64.b64decode(record['key']),
                headers=[(key, base64.b64decode(value)) for key, value in record['headers']],
                partition=record['partition'],
                timestamp_ms=record.get('timestamp')))
        producer.flush(timeout=TIMEOUT_MS / 1000)
        for future in futures:
            metadata = future.get(timeout=TIMEOUT_MS / 1000)
            reports.append({'partition': metadata.partition, 'offset': metadata.offset})
    for producer in producers.values():
        producer.close(timeout=5)
    return reports


def consumer(bootstrap):
    return KafkaConsumer(**common(bootstrap), group_id=None, enable_auto_commit=False,
                         auto_offset_reset='earliest')


def read(bootstrap, topic, partitions):
    """assign() + seek_to_beginning, then poll until every partition reaches its end offset."""
    client = consumer(bootstrap)
    assigned = [TopicPartition(topic, p) for p in range(int(partitions))]
    client.assign(assigned)
    client.seek_to_beginning()
    end_offsets = client.end_offsets(assigned)
    records = []
    empty_polls = 0
    while any(client.position(tp) < end_offsets[tp] for tp in assigned):
        batches = client.poll(timeout_ms=1000)
        if not batches:
            empty_polls += 1
            if empty_polls * 1000 > TIMEOUT_MS:
                fail(f'no progress within {TIMEOUT_MS} ms ({len(records)} read, ends {end_offsets})')
            continue
        empty_polls = 0
        for tp, messages in batches.items():
            for message in messages:
                records.append({
                    'partition': tp.partition,
                    'offset': message.offset,
                    'key': None if message.key is None else base64.b64encode(message.key).decode(),
                    'value': base64.b64encode(message.value or b'').decode(),
                    'headers': [[name, None if value is None else base64.b64encode(value).decode()]
                                for name, value in message.headers],
                    'timestamp': message.timestamp,
                })
    client.close()
    return records


def offsets_for_times(bootstrap, topic):
    queries = json.load(sys.stdin)
    client = consumer(bootstrap)
    offsets = []
    for query in queries:
        tp = TopicPartition(topic, query['partition'])
        found = client.offsets_for_times({tp: query['timestamp']})[tp]
        offsets.append(-1 if found is None else found.offset)
    client.close()
    return offsets


def delete(bootstrap, topic):
    client = admin(bootstrap)
    response = client.delete_topics([topic], timeout_ms=TIMEOUT_MS)
    client.close()
    for entry in response.topic_error_codes:
        if entry[1] != 0:
            fail(f'delete_topics: topic {entry[0]} error {entry[1]}')
    return {'deleted': topic}


def list_topics(bootstrap, _topic):
    client = admin(bootstrap)
    topics = client.list_topics()
    client.close()
    return sorted(topics)


def groups(bootstrap, group):
    """ListGroups, then DescribeGroups of one group (the second argument is the group id)."""
    client = admin(bootstrap)
    listed = [entry[0] for entry in client.list_consumer_groups()]
    described = client.describe_consumer_groups([group])
    client.close()
    if len(described) != 1:
        fail(f'describe_consumer_groups({group}) answered {len(described)} groups')
    info = described[0]
    if info.error_code != 0:
        fail(f'describe {group}: error {info.error_code}')
    members = []
    for member in info.members:
        assignment = member.member_assignment
        # kafka-python decodes a consumer group's assignment; keep only this group's partitions.
        partitions = sorted(partition for _topic, topic_partitions in
                            getattr(assignment, 'assignment', []) for partition in topic_partitions)
        members.append({'memberId': member.member_id, 'clientId': member.client_id,
                        'partitions': partitions})
    return {'listed': listed, 'state': info.state, 'protocolType': info.protocol_type,
            'protocol': info.protocol, 'members': members}


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
        print(json.dumps(COMMANDS[sys.argv[1]](*sys.argv[2:])))
    except SystemExit:
        raise
    except Exception as error:  # Every client error becomes a message and a non-zero exit.
        fail(f'{sys.argv[1]}: {type(error).__name__}: {error}')
