"""python3-confluent-kafka (librdkafka) as a principal the broker's ACLs govern. Reads one JSON
object on stdin: {"command": "produce" | "consume", "bootstrap", "topic", "config", "values"} for
produce, {"command", "bootstrap", "topic", "config", "group", "count"} for consume; `config` holds
librdkafka's security settings. Prints {"delivered": n} or {"consumed": [...]} on success, or
{"error": "<librdkafka error name>", "message": "..."} with the first error the client reported,
and exits 0 either way so the test can inspect what the client said."""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaError, Producer

request = json.load(sys.stdin)
common = dict(request["config"], **{"bootstrap.servers": request["bootstrap"]})
deadline = time.time() + 40


def failure(error):
    return {"error": error.name(), "message": error.str()}


def produce():
    failures = []
    producer = Producer(dict(common, **{"message.timeout.ms": 15000}))
    for value in request["values"]:
        producer.produce(
            request["topic"],
            value.encode(),
            on_delivery=lambda error, _message: error and failures.append(error),
        )
    remaining = producer.flush(30)
    if failures:
        return failure(failures[0])
    if remaining > 0:
        return {"error": "_TIMED_OUT", "message": f"{remaining} records not delivered"}
    return {"delivered": len(request["values"])}


def consume():
    errors = []
    consumer = Consumer(
        dict(
            common,
            **{
                "group.id": request["group"],
                "auto.offset.reset": "earliest",
                "error_cb": lambda error: errors.append(error),
            }
        )
    )
    consumer.subscribe([request["topic"]])
    consumed = []
    try:
        while len(consumed) < request["count"] and time.time() < deadline:
            message = consumer.poll(0.5)
            # An authorization error reaches the application either as a consumer error or
            # through error_cb; either ends the attempt.
            if message is not None and message.error():
                if message.error().code() != KafkaError._PARTITION_EOF:
                    return failure(message.error())
                continue
            if errors:
                return failure(errors[0])
            if message is not None:
                consumed.append(message.value().decode())
        return {"consumed": consumed}
    finally:
        consumer.close()


print(json.dumps(produce() if request["command"] == "produce" else consume()))
