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
"""
import json
import os
import signal
import sys
import time

from confluent_kafka import Consumer

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
        continue
    if message.error():
        emit(event='error', message=str(message.error()))
        continue
    emit(event='record', partition=message.partition(), offset=message.offset())
    if no_commit:
        continue
    consumer.commit(message=message, asynchronous=False)
    emit(event='committed', partition=message.partition(), offset=message.offset() + 1)
consumer.close()
