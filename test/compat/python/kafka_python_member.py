#!/usr/bin/python3
"""A python3-kafka (kafka-python 2.0.2) consumer-group member for groups-kafka-python.test.ts:
subscribes from the beginning and commits every record synchronously after processing it.
Assignors: range, roundrobin (kafka-python 2.0 has no cooperative rebalancing).

Usage: kafka_python_member.py BOOTSTRAP TOPIC GROUP ASSIGNOR. Prints JSON lines as described in
test/compat/members/member-output.ts; SIGTERM leaves the group cleanly.

A commit made while the group rebalances comes back REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION or
UNKNOWN_MEMBER_ID, which kafka-python raises as CommitFailedError after resetting its generation.
That is Kafka's answer and is retriable for an application that needs its commits: the member
keeps the offset and commits it again after the next poll (which rejoins the group) while it still
owns the partition; a partition it no longer owns is left to its new owner.
"""
import json
import signal
import sys

from kafka import ConsumerRebalanceListener, KafkaConsumer, OffsetAndMetadata, TopicPartition
from kafka.errors import CommitFailedError, KafkaError
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor

bootstrap, topic, group, assignor = sys.argv[1:5]
assignors = {'range': RangePartitionAssignor, 'roundrobin': RoundRobinPartitionAssignor}
if assignor not in assignors:
    print(json.dumps({'event': 'error', 'message': f'kafka-python has no {assignor} assignor'}), flush=True)
    sys.exit(1)
running = True


def emit(**event):
    print(json.dumps(event), flush=True)


def stop(_signum, _frame):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)

consumer = KafkaConsumer(
    bootstrap_servers=bootstrap, group_id=group, client_id='brook-compat-kafka-python-member',
    enable_auto_commit=False, auto_offset_reset='earliest',
    partition_assignment_strategy=[assignors[assignor]],
    session_timeout_ms=6000, heartbeat_interval_ms=500, fetch_max_wait_ms=100,
    request_timeout_ms=15000, api_version_auto_timeout_ms=15000)


class Listener(ConsumerRebalanceListener):
    def on_partitions_revoked(self, revoked):
        emit(event='assignment', partitions=[])

    def on_partitions_assigned(self, assigned):
        emit(event='assignment', partitions=sorted(tp.partition for tp in assigned if tp.topic == topic))


# partition -> the next offset whose commit the broker has not acknowledged yet
uncommitted = {}


def commit_uncommitted():
    owned = {tp.partition for tp in consumer.assignment() if tp.topic == topic}
    for partition, offset in sorted(uncommitted.items()):
        if partition not in owned:
            del uncommitted[partition]
            continue
        try:
            consumer.commit({TopicPartition(topic, partition): OffsetAndMetadata(offset, '')})
        except CommitFailedError as error:
            emit(event='commit-retry', partition=partition, offset=offset, message=str(error))
            return
        except KafkaError as error:
            if not error.retriable:
                raise
            emit(event='commit-retry', partition=partition, offset=offset, message=str(error))
            return
        del uncommitted[partition]
        emit(event='committed', partition=partition, offset=offset)


consumer.subscribe([topic], listener=Listener())
while running:
    batches = consumer.poll(timeout_ms=100)
    for tp, messages in batches.items():
        for message in messages:
            emit(event='record', partition=tp.partition, offset=message.offset)
            uncommitted[tp.partition] = message.offset + 1
            commit_uncommitted()
    if uncommitted and not batches:
        commit_uncommitted()
consumer.close()
