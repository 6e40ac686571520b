/*
 * A KIP-932 share consumer on librdkafka's rd_kafka_share_* API (the preview in the librdkafka
 * that @confluentinc/kafka-javascript bundles under test/compat/ckjs), for
 * test/compat/librdkafka-share.test.ts.
 *
 *   librdkafka_share_consumer BOOTSTRAP GROUP TOPIC COUNT RELEASE_FIRST
 *
 * Joins GROUP reading TOPIC in explicit acknowledgement mode and polls until COUNT records were
 * accepted. With RELEASE_FIRST=1, the first delivery of each record is released, not accepted,
 * so it comes back with delivery count 2. Prints one line per delivery:
 *   <partition> <offset> <delivery count> <accept|release> <value>
 * and exits 0 once the acknowledgements are committed and the consumer is closed; 1 on an error,
 * 2 when COUNT records did not come within 30 s.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rdkafka.h"

static int set(rd_kafka_conf_t *conf, const char *name, const char *value) {
        char errstr[512];
        if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
                fprintf(stderr, "config %s: %s\n", name, errstr);
                return 0;
        }
        return 1;
}

int main(int argc, char **argv) {
        if (argc != 6) {
                fprintf(stderr, "usage: %s BOOTSTRAP GROUP TOPIC COUNT RELEASE_FIRST\n", argv[0]);
                return 1;
        }
        const char *topic = argv[3];
        const long wanted = strtol(argv[4], NULL, 10);
        const int release_first = strcmp(argv[5], "1") == 0;
        char errstr[512];

        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        if (!set(conf, "bootstrap.servers", argv[1]) || !set(conf, "group.id", argv[2]) ||
            !set(conf, "client.id", "librdkafka-share-test") ||
            !set(conf, "share.acknowledgement.mode", "explicit"))
                return 1;
        /* SHARE_DEBUG=protocol,cgrp,fetch...: librdkafka's debug contexts, for a failing test. */
        if (getenv("SHARE_DEBUG") != NULL && !set(conf, "debug", getenv("SHARE_DEBUG")))
                return 1;
        rd_kafka_share_t *consumer = rd_kafka_share_consumer_new(conf, errstr, sizeof(errstr));
        if (consumer == NULL) {
                fprintf(stderr, "share consumer: %s\n", errstr);
                return 1;
        }
        rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(topics, topic, RD_KAFKA_PARTITION_UA);
        rd_kafka_resp_err_t err = rd_kafka_share_subscribe(consumer, topics);
        rd_kafka_topic_partition_list_destroy(topics);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                fprintf(stderr, "subscribe: %s\n", rd_kafka_err2str(err));
                return 1;
        }
        fprintf(stderr, "subscribed\n");

        long accepted = 0;
        const time_t deadline = time(NULL) + 30;
        while (accepted < wanted && time(NULL) < deadline) {
                rd_kafka_messages_t *batch = NULL;
                rd_kafka_error_t *error = rd_kafka_share_poll(consumer, 500, &batch);
                if (error != NULL) {
                        fprintf(stderr, "poll: %s\n", rd_kafka_error_string(error));
                        rd_kafka_error_destroy(error);
                        rd_kafka_messages_destroy(batch);
                        continue;
                }
                size_t count = rd_kafka_messages_count(batch);
                for (size_t index = 0; index < count; index++) {
                        rd_kafka_message_t *message = rd_kafka_messages_get(batch, index);
                        if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                                fprintf(stderr, "record error: %s\n",
                                        rd_kafka_err2str(message->err));
                                continue;
                        }
                        int deliveries = (int)rd_kafka_message_delivery_count(message);
                        int release = release_first && deliveries == 1;
                        err = rd_kafka_share_acknowledge_type(
                            consumer, message,
                            release ? RD_KAFKA_SHARE_ACKNOWLEDGE_TYPE_RELEASE
                                    : RD_KAFKA_SHARE_ACKNOWLEDGE_TYPE_ACCEPT);
                        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                                fprintf(stderr, "acknowledge: %s\n", rd_kafka_err2str(err));
                                return 1;
                        }
                        if (!release)
                                accepted++;
                        printf("%d %lld %d %s %.*s\n", (int)message->partition,
                               (long long)message->offset, deliveries,
                               release ? "release" : "accept", (int)message->len,
                               (const char *)message->payload);
                }
                fflush(stdout);
                rd_kafka_messages_destroy(batch);
        }
        rd_kafka_topic_partition_list_t *results = NULL;
        rd_kafka_error_t *error = rd_kafka_share_commit_sync(consumer, 10000, &results);
        if (error != NULL) {
                fprintf(stderr, "commit: %s\n", rd_kafka_error_string(error));
                rd_kafka_error_destroy(error);
                return 1;
        }
        if (results != NULL) {
                for (int index = 0; index < results->cnt; index++)
                        if (results->elems[index].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                                fprintf(stderr, "commit of partition %d: %s\n",
                                        (int)results->elems[index].partition,
                                        rd_kafka_err2str(results->elems[index].err));
                                return 1;
                        }
                rd_kafka_topic_partition_list_destroy(results);
        }
        error = rd_kafka_share_consumer_close(consumer);
        if (error != NULL) {
                fprintf(stderr, "close: %s\n", rd_kafka_error_string(error));
                rd_kafka_error_destroy(error);
        }
        rd_kafka_share_destroy(consumer);
        return accepted >= wanted ? 0 : 2;
}
