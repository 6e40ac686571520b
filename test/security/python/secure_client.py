"""Produces records to a topic over a secured listener and reads them back, with either
python3-confluent-kafka (librdkafka) or python3-kafka (kafka-python). Reads one JSON object on
stdin: {"library", "bootstrap", "topic", "config", "values"} and, for OAUTHBEARER with
confluent-kafka, "oauth_token": {"value", "expires_at_seconds"}; `config` holds the library's
own security settings. Prints {"consumed": [...]} or {"error": "<exception class or error name>",
"message": "..."}, and exits 0 either way so the test can inspect what the client reported."""
import json
import sys
import time

request = json.load(sys.stdin)
library = request["library"]
bootstrap = request["bootstrap"]
topic = request["topic"]
config = request["config"]
values = request["values"]
deadline = time.time() + 40


def confluent():
    from confluent_kafka import Consumer, KafkaException, Producer

    errors = []
    common = dict(config, **{"bootstrap.servers": bootstrap, "error_cb": lambda error: errors.append(error)})
    if "oauth_token" in request:
        # OAUTHBEARER: librdkafka asks this callback for a token (and its expiry, in seconds).
        token = request["oauth_token"]
        common["oauth_cb"] = lambda _config: (token["value"], token["expires_at_seconds"])
    producer = Producer(dict(common, **{"message.timeout.ms": 15000}))
    failures = []
    for value in values:
        producer.produce(topic, value.encode(), on_delivery=lambda error, _m: error and failures.append(error))
    # An authentication error will not go away: stop waiting for deliveries once one is reported.
    flush_deadline = time.time() + 20
    while len(producer) > 0 and time.time() < flush_deadline:
        producer.poll(0.2)
        if any(e.name() == "_AUTHENTICATION" for e in errors):
            break
    authentication = [e for e in errors if e.name() == "_AUTHENTICATION"]
    if authentication:
        return {"error": "_AUTHENTICATION", "message": authentication[0].str()}
    if failures:
        return {"error": failures[0].name(), "message": failures[0].str()}
    consumer = Consumer(dict(common, **{"group.id": "secure-reader", "auto.offset.reset": "earliest"}))
    consumer.subscribe([topic])
    consumed = []
    while len(consumed) < len(values) and time.time() < deadline:
        message = consumer.poll(1.0)
        if message is None:
            continue
        if message.error():
            raise KafkaException(message.error())
        consumed.append(message.value().decode())
    consumer.close()
    return {"consumed": consumed}


def kafka_python():
    from kafka import KafkaConsumer, KafkaProducer

    try:
        producer = KafkaProducer(bootstrap_servers=bootstrap, request_timeout_ms=10000, **config)
    except Exception as error:  # the client's own exception is what the test looks at
        return {"error": type(error).__name__, "message": str(error)}
    for value in values:
        producer.send(topic, value.encode()).get(timeout=20)
    producer.close()
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id="secure-reader",
        auto_offset_reset="earliest",
        consumer_timeout_ms=15000,
        **config
    )
    consumed = []
    for message in consumer:
        consumed.append(message.value.decode())
        if len(consumed) == len(values):
            break
    consumer.close()
    return {"consumed": consumed}


print(json.dumps(confluent() if library == "confluent" else kafka_python()))
