#!/usr/bin/python3
"""A python3-confluent-kafka (librdkafka 2.0.2) consumer-group member for
groups-confluent-kafka-python.test.ts: subscribes from the beginning and commits every record
synchronously after processing it. Assignors: range, roundrobin (eager), cooperative-sticky.

Usage: confluent_kafka_member.py BOOTSTRAP TOPIC GROUP ASSIGNOR. Prints JSON lines as described in
test/compat/members/member-output.ts; SIGTERM leaves the group cleanly.

With BROOK_MEMBER_HOLD_FILE set (cooperative-consumption.test.ts), the member subscribes, prints
{"event":"subscribed"}, then does not poll until that file exists: librdkafka joins the group in
its own threads, but the application's part of the rebalance (the assign call) waits, which holds
the group's incremental rebalance open for as long as the test needs.

With BROOK_MEMBER_COMMIT=none the member does not commit (and prints no "committed" lines):
librdkafka defers a commit while its member rejoins, so a synchronous commit per record stops the
application for the whole rebalance, though the broker goes on serving its fetches; and an
asynchronous commit still in flight when the generation moves on comes back ILLEGAL_GENERATION,
which librdkafka treats as a lost assignment.

A synchronous commit made while the group rebalances fails with REBALANCE_IN_PROGRESS (or, once
the generation has moved on, ILLEGAL_GENERATION or UNKNOWN_MEMBER_ID). That is Kafka's answer and
is retriable: the member keeps the offset and commits it again on a later poll while it still
owns the partition. A partition it no longer owns is left to its new owner, which resumes from
the last acknowledged commit.
"""
import json
import os
import signal
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

bootstrap, topic, group, assignor = sys.argv[1:5]
running = True


def emit(**event):
    print(json.dumps(event), flush=True)


def stop(_signum, _frame):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)

consumer = Consumer({
    'bootstrap.servers': bootstrap,
    'group.id': group,
    'partition.assignment.strategy': assignor,
    'enable.auto.commit': False,
    'auto.offset.reset': 'earliest',
    'session.timeout.ms': 6000,
    'heartbeat.interval.ms': 500,
    'fetch.wait.max.ms': 100,
    'log_level': 3,
})


RETRIABLE_COMMIT_ERRORS = {
    KafkaError.REBALANCE_IN_PROGRESS,
    KafkaError.ILLEGAL_GENERATION,
    KafkaError.UNKNOWN_MEMBER_ID,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.REQUEST_TIMED_OUT,
    KafkaError._TIMED_OUT,
    KafkaError._TRANSPORT,
}
# partition -> the next offset whose commit the broker has not acknowledged yet
uncommitted = {}


def commit_uncommitted():
    owned = {tp.partition for tp in consumer.assignment() if tp.topic == topic}
    for partition, offset in sorted(uncommitted.items()):
        if partition not in owned:
            del uncommitted[partition]
            continue
        try:
            consumer.commit(offsets=[TopicPartition(topic, partition, offset)], asynchronous=False)
        except KafkaException as error:
            if error.args[0].code() not in RETRIABLE_COMMIT_ERRORS:
                raise
            emit(event='commit-retry', partition=partition, offset=offset, message=str(error))
            continue
        del uncommitted[partition]
        emit(event='committed', partition=partition, offset=offset)


def print_assignment(*_):
    emit(event='assignment',
         partitions=sorted(tp.partition for tp in consumer.assignment() if tp.topic == topic))


def on_assign(_consumer, partitions):
    # With cooperative-sticky the callback gets only what is added; the binding then applies it
    # incrementally, so the whole assignment is known only after: print it from poll().
    global pending_print
    pending_print = True


pending_print = False
consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_assign, on_lost=on_assign)
no_commit = os.environ.get('BROOK_MEMBER_COMMIT') == 'none'
hold_file = os.environ.get('BROOK_MEMBER_HOLD_FILE')
if hold_file:
    emit(event='subscribed')
    # Bounded: a test that never releases the member does not leave it behind for long.
    hold_deadline = time.monotonic() + 300
    while running and not os.path.exists(hold_file) and time.monotonic() < hold_deadline:
        time.sleep(0.05)
    emit(event='released')
while running:
    message = consumer.poll(0.1)
    if pending_print:
        pending_print = False
        print_assignment()
    if message is None:
        if uncommitted and not no_commit:
            commit_uncommitted()
        continue
    if message.error():
        emit(event='error', message=str(message.error()))
        continue
    emit(event='record', partition=message.partition(), offset=message.offset())
    if no_commit:
        continue
    uncommitted[message.partition()] = message.offset() + 1
    commit_uncommitted()
consumer.close()
