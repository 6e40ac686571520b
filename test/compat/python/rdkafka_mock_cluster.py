#!/usr/bin/python3
"""Starts librdkafka's built-in mock cluster (one broker) and prints its address as JSON, then
keeps it up until it is killed. For checking the client drivers without a Brook broker: the mock
implements Produce, Fetch, ListOffsets, Metadata and the group APIs, not the admin APIs.

Usage: rdkafka_mock_cluster.py  (topics are auto-created on first use, see librdkafka's mock)
"""
import json
import signal

from confluent_kafka import Producer

handle = Producer({'test.mock.num.brokers': 1, 'log_level': 3})
metadata = handle.list_topics(timeout=10)
broker = next(iter(metadata.brokers.values()))
print(json.dumps({'bootstrapServers': f'{broker.host}:{broker.port}'}), flush=True)
signal.pause()
