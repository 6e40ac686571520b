/*
 * Brook's load generator: librdkafka producing to and consuming from a Kafka-compatible broker
 * (or librdkafka's in-memory mock cluster, the client's own ceiling), printing one JSON object
 * per role on stdout. Built by bench/loadgen/build.sh into .bench/loadgen.
 *
 *   loadgen produce -b HOST:PORT -t TOPIC -n COUNT -s BYTES [-a ACKS] [-r RATE] [-l LINGER_MS]
 *   loadgen consume -b HOST:PORT -t TOPIC -g GROUP -n COUNT
 *   loadgen e2e     -b HOST:PORT -t TOPIC -g GROUP -n COUNT -s BYTES [-r RATE] [-l LINGER_MS]
 *   loadgen spread  -b HOST:PORT -t TOPIC -p PARTITIONS [-k TOPICS] -c PRODUCERS -n COUNT -s BYTES
 *                   [-a ACKS] [-l LINGER_MS]
 *   spread: PRODUCERS librdkafka producer instances in this process (each its own connections),
 *   COUNT records in all, every producer spreading its records round-robin over every partition
 *   of the topics (-k TOPICS: TOPIC0 .. TOPIC<k-1>, each of PARTITIONS; without -k: TOPIC alone).
 *   Each producer has at most 1,000 records unacknowledged.
 *   In every mode, producers learn their topics' leaders before the clock starts.
 *   -m instead of -b: a mock cluster in this process (-p its partition count; consume fills it
 *   first). -T SECONDS bounds the run (exit 2 on timeout), -q silences librdkafka's log.
 *
 * Output, one line per role ("produce", "consume"):
 *   {"role":"produce","messages":N,"bytes":N,"seconds":S,"msgs_per_s":X,"MB_per_s":X,
 *    "latency_us":{"p50":X,"p99":X,"p999":X,"max":X},"cpu_s":X}
 * cpu_s is this process's CPU time so far (user and system, all threads): the client's own cost.
 * A producer's latency is enqueue to delivery report (acknowledgement); a consumer's, in e2e
 * mode, is enqueue to arrival: the producer writes a monotonic timestamp and a per-run nonce into
 * each payload (so -s is at least 16), both run in this process, so the clocks agree, and records
 * without this run's nonce are not counted. MB is 10^6 bytes of payload.
 */
#define _POSIX_C_SOURCE 200809L
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

struct options {
  const char *mode;
  const char *brokers;
  const char *topic;
  const char *group;
  long count;
  int size_bytes;
  const char *acks;
  double rate_per_second; /* 0: as fast as the client goes */
  const char *linger_ms;
  int mock;
  int mock_partitions; /* spread: the partitions of each topic */
  int topic_count;     /* spread: 0 is TOPIC alone, else TOPIC0 .. TOPIC<k-1> */
  int producer_count;  /* spread */
  int timeout_seconds;
  int quiet;
  /* -X name=value: librdkafka settings for every client (security.protocol, sasl.*, ssl.*). */
  const char *settings[32];
  int settings_count;
};

/* Latency samples in microseconds; one per message, so percentiles are exact. */
struct samples {
  double *values;
  long length;
  long capacity;
};

struct producer_state {
  struct samples latencies;
  long delivered;
  long failed;
};

static double monotonic_seconds(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static uint64_t monotonic_nanoseconds(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static void fail(const char *message, const char *detail) {
  fprintf(stderr, "loadgen: %s%s%s\n", message, detail ? ": " : "", detail ? detail : "");
  exit(1);
}

static void samples_add(struct samples *samples, double value) {
  if (samples->length == samples->capacity) {
    samples->capacity = samples->capacity ? samples->capacity * 2 : 4096;
    samples->values = realloc(samples->values, (size_t)samples->capacity * sizeof(double));
    if (!samples->values) fail("out of memory for latency samples", NULL);
  }
  samples->values[samples->length++] = value;
}

static int compare_doubles(const void *a, const void *b) {
  double left = *(const double *)a, right = *(const double *)b;
  return (left > right) - (left < right);
}

static double percentile(const struct samples *sorted, double fraction) {
  if (sorted->length == 0) return 0;
  long index = (long)(fraction * (double)sorted->length);
  if (index >= sorted->length) index = sorted->length - 1;
  return sorted->values[index];
}

static void print_summary(const char *role, long messages, long payload_bytes, double seconds,
                          struct samples *latencies) {
  if (seconds <= 0) seconds = 1e-9;
  printf("{\"role\":\"%s\",\"messages\":%ld,\"bytes\":%ld,\"seconds\":%.6f,"
         "\"msgs_per_s\":%.1f,\"MB_per_s\":%.2f",
         role, messages, payload_bytes, seconds, (double)messages / seconds,
         (double)payload_bytes / 1e6 / seconds);
  if (latencies && latencies->length > 0) {
    qsort(latencies->values, (size_t)latencies->length, sizeof(double), compare_doubles);
    printf(",\"latency_us\":{\"p50\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f}",
           percentile(latencies, 0.5), percentile(latencies, 0.99),
           percentile(latencies, 0.999), latencies->values[latencies->length - 1]);
  }
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  printf(",\"cpu_s\":%.3f}\n",
         (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 +
             (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec / 1e6);
  fflush(stdout);
}

static void set(rd_kafka_conf_t *conf, const char *name, const char *value) {
  char error[512];
  if (rd_kafka_conf_set(conf, name, value, error, sizeof error) != RD_KAFKA_CONF_OK)
    fail(name, error);
}

/* `bootstrap`: the mock cluster another client of this process runs, else NULL. */
static rd_kafka_conf_t *base_config(const struct options *options, const char *bootstrap) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (bootstrap) {
    set(conf, "bootstrap.servers", bootstrap);
  } else if (options->mock) {
    set(conf, "test.mock.num.brokers", "1");
  } else {
    set(conf, "bootstrap.servers", options->brokers);
  }
  if (options->quiet) set(conf, "log_level", "0");
  for (int index = 0; index < options->settings_count; index++) {
    char name[256];
    const char *equals = strchr(options->settings[index], '=');
    if (!equals || (size_t)(equals - options->settings[index]) >= sizeof name)
      fail(options->settings[index], "expected -X name=value");
    memcpy(name, options->settings[index], (size_t)(equals - options->settings[index]));
    name[equals - options->settings[index]] = '\0';
    set(conf, name, equals + 1);
  }
  return conf;
}

static void on_delivery(rd_kafka_t *kafka, const rd_kafka_message_t *message, void *opaque) {
  (void)kafka;
  struct producer_state *state = opaque;
  if (message->err) {
    state->failed++;
    return;
  }
  uint64_t enqueued = (uint64_t)(uintptr_t)message->_private;
  if (enqueued == 0) return; /* sent untimed: the end-to-end run's warm-up record */
  samples_add(&state->latencies, (double)(monotonic_nanoseconds() - enqueued) / 1000.0);
  state->delivered++;
}

static rd_kafka_t *new_producer(const struct options *options, struct producer_state *state,
                                const char *bootstrap) {
  rd_kafka_conf_t *conf = base_config(options, bootstrap);
  set(conf, "acks", options->acks);
  set(conf, "linger.ms", options->linger_ms);
  set(conf, "queue.buffering.max.messages", "1000000");
  set(conf, "queue.buffering.max.kbytes", "1048576");
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_opaque(conf, state);
  char error[512];
  rd_kafka_t *producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (!producer) fail("cannot create the producer", error);
  return producer;
}

static rd_kafka_t *new_consumer(const struct options *options, const char *bootstrap) {
  rd_kafka_conf_t *conf = base_config(options, bootstrap);
  set(conf, "group.id", options->group);
  set(conf, "auto.offset.reset", "earliest");
  set(conf, "enable.auto.commit", "false");
  set(conf, "fetch.wait.max.ms", "10");
  char error[512];
  rd_kafka_t *consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof error);
  if (!consumer) fail("cannot create the consumer", error);
  rd_kafka_poll_set_consumer(consumer);
  rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, options->topic, RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t err = rd_kafka_subscribe(consumer, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err) fail("cannot subscribe", rd_kafka_err2str(err));
  return consumer;
}

/* The mock cluster's bootstrap address, taken from a first client (the cluster lives in it). */
static char *mock_bootstrap(rd_kafka_t *owner, const struct options *options) {
  rd_kafka_mock_cluster_t *cluster = rd_kafka_handle_mock_cluster(owner);
  if (!cluster) fail("the mock cluster did not start", NULL);
  if (options->mock_partitions > 0)
    rd_kafka_mock_topic_create(cluster, options->topic, options->mock_partitions, 1);
  return strdup(rd_kafka_mock_cluster_bootstraps(cluster));
}

static void check_deadline(double deadline, const char *what) {
  if (monotonic_seconds() > deadline) {
    fprintf(stderr, "loadgen: timed out %s\n", what);
    exit(2);
  }
}

/*
 * Waits until the producer knows the topic's partitions and their leaders, so that the first
 * sends do not wait for the client to learn them. Without it, librdkafka may come up before the
 * first send names the topic, ask only for the brokers, and leave the first records queued until
 * its once-a-second refresh of unknown topics: a second of latency the broker never saw.
 */
static void learn_leaders(rd_kafka_t *producer, const char *topic_name, double deadline) {
  rd_kafka_topic_t *topic = rd_kafka_topic_new(producer, topic_name, NULL);
  const struct rd_kafka_metadata *metadata = NULL;
  while (rd_kafka_metadata(producer, 0, topic, &metadata, 1000) != RD_KAFKA_RESP_ERR_NO_ERROR ||
         metadata->topic_cnt != 1 || metadata->topics[0].err || metadata->topics[0].partition_cnt == 0) {
    if (metadata) rd_kafka_metadata_destroy(metadata);
    metadata = NULL;
    check_deadline(deadline, "waiting for the topic's metadata");
  }
  rd_kafka_metadata_destroy(metadata);
  rd_kafka_topic_destroy(topic);
}

/*
 * Produces options->count payloads, paced by the rate, once the topic's leaders are known;
 * `summary` prints the producer's line.
 */
static void produce(rd_kafka_t *producer, struct producer_state *state,
                    const struct options *options, double deadline, int summary) {
  char *payload = malloc((size_t)options->size_bytes);
  if (!payload) fail("out of memory for the payload", NULL);
  memset(payload, 'b', (size_t)options->size_bytes);
  learn_leaders(producer, options->topic, deadline);
  double started = monotonic_seconds();
  for (long index = 0; index < options->count; index++) {
    if (options->rate_per_second > 0) {
      /* Wait for the send's time without spinning: a paced run must leave the cores to the
       * broker it measures. Delivery reports are served while waiting. */
      double due = started + (double)index / options->rate_per_second;
      for (double now = monotonic_seconds(); now < due; now = monotonic_seconds()) {
        double wait = due - now;
        if (wait >= 0.001) {
          rd_kafka_poll(producer, (int)(wait * 1000));
        } else {
          struct timespec pause = {0, (long)(wait * 1e9)};
          nanosleep(&pause, NULL);
          rd_kafka_poll(producer, 0);
        }
      }
    }
    uint64_t now = monotonic_nanoseconds();
    for (;;) {
      rd_kafka_resp_err_t err = rd_kafka_producev(
          producer, RD_KAFKA_V_TOPIC(options->topic),
          RD_KAFKA_V_VALUE(payload, (size_t)options->size_bytes),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE((void *)(uintptr_t)now),
          RD_KAFKA_V_END);
      if (!err) break;
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) fail("produce failed", rd_kafka_err2str(err));
      rd_kafka_poll(producer, 10);
      check_deadline(deadline, "while the producer queue was full");
    }
    rd_kafka_poll(producer, 0);
  }
  while (rd_kafka_outq_len(producer) > 0) {
    rd_kafka_poll(producer, 10);
    check_deadline(deadline, "waiting for acknowledgements");
  }
  double seconds = monotonic_seconds() - started;
  free(payload);
  if (state->failed > 0) {
    fprintf(stderr, "loadgen: %ld messages were not delivered\n", state->failed);
    exit(1);
  }
  if (summary)
    print_summary("produce", state->delivered, state->delivered * options->size_bytes, seconds,
                  &state->latencies);
}

/*
 * Reads until `count` records arrived. The mock cluster may drop the oldest records of a large
 * fill before they are read, so against it the read also ends after a second without records,
 * and the summary counts what arrived.
 */
static void consume(rd_kafka_t *consumer, const struct options *options, double deadline) {
  long received = 0, payload_bytes = 0;
  double started = 0, last = 0;
  while (received < options->count) {
    rd_kafka_message_t *message = rd_kafka_consumer_poll(consumer, 100);
    if (options->mock && received > 0 && !message && monotonic_seconds() - last > 1.0) {
      fprintf(stderr, "loadgen: the mock cluster kept %ld of %ld records\n", received,
              options->count);
      break;
    }
    if (monotonic_seconds() > deadline) {
      fprintf(stderr, "loadgen: timed out after %ld of %ld records\n", received, options->count);
      exit(2);
    }
    if (!message) continue;
    if (message->err) {
      if (message->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        fprintf(stderr, "loadgen: consumer: %s\n", rd_kafka_message_errstr(message));
      rd_kafka_message_destroy(message);
      continue;
    }
    last = monotonic_seconds();
    if (received == 0) started = last;
    received++;
    payload_bytes += (long)message->len;
    rd_kafka_message_destroy(message);
  }
  /* From the first record to the last: the group join before is not throughput. */
  print_summary("consume", received, payload_bytes, last - started, NULL);
}

/*
 * Producer and consumer in one thread: the producer is paced by the rate, and between sends the
 * consumer is polled, so a record's arrival is seen as soon as librdkafka hands it over.
 */
static void run_e2e(const struct options *options, double deadline) {
  struct producer_state state = {0};
  rd_kafka_t *producer = new_producer(options, &state, NULL);
  char *bootstrap = options->mock ? mock_bootstrap(producer, options) : NULL;
  rd_kafka_t *consumer = new_consumer(options, bootstrap);
  /* Wait for the assignment before producing, so no record waits for a rebalance. */
  rd_kafka_topic_partition_list_t *assignment = NULL;
  while (!assignment || assignment->cnt == 0) {
    if (assignment) rd_kafka_topic_partition_list_destroy(assignment);
    rd_kafka_message_t *message = rd_kafka_consumer_poll(consumer, 50);
    if (message) rd_kafka_message_destroy(message);
    rd_kafka_assignment(consumer, &assignment);
    check_deadline(deadline, "waiting for the consumer's assignment");
  }
  rd_kafka_topic_partition_list_destroy(assignment);
  learn_leaders(producer, options->topic, deadline);

  /*
   * Each payload starts with its enqueue time and this run's nonce: records already in the topic
   * (another run's, or a fill) are read but neither counted nor timed.
   */
  if (options->size_bytes < 16) fail("e2e needs a payload of at least 16 bytes", NULL);
  char *payload = malloc((size_t)options->size_bytes);
  if (!payload) fail("out of memory for the payload", NULL);
  memset(payload, 'e', (size_t)options->size_bytes);
  uint64_t nonce = monotonic_nanoseconds() ^ ((uint64_t)getpid() << 32);
  memcpy(payload + 8, &nonce, sizeof nonce);

  /* One record through before the clock starts: the consumer's first fetch waits on its offset
   * lookup and the fetcher's start, which would otherwise fall on the first records timed (a
   * stall of tens of ms in every run, all of it in the p999). Its payload carries no nonce. */
  {
    memset(payload, 0, 16);
    rd_kafka_resp_err_t err = rd_kafka_producev(
        producer, RD_KAFKA_V_TOPIC(options->topic),
        RD_KAFKA_V_VALUE(payload, (size_t)options->size_bytes),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) fail("the warm-up record", rd_kafka_err2str(err));
    memcpy(payload + 8, &nonce, sizeof nonce);
    int seen = 0;
    while (!seen) {
      rd_kafka_poll(producer, 0);
      rd_kafka_message_t *message = rd_kafka_consumer_poll(consumer, 10);
      if (message) {
        seen = !message->err;
        rd_kafka_message_destroy(message);
      }
      check_deadline(deadline, "waiting for the warm-up record");
    }
  }

  struct samples latencies = {0};
  long sent = 0, received = 0, payload_bytes = 0;
  double started = monotonic_seconds();
  while (received < options->count) {
    double now = monotonic_seconds();
    double due = options->rate_per_second > 0 ? started + (double)sent / options->rate_per_second
                                              : now;
    if (sent < options->count && now >= due) {
      uint64_t stamp = monotonic_nanoseconds();
      memcpy(payload, &stamp, sizeof stamp);
      rd_kafka_resp_err_t err = rd_kafka_producev(
          producer, RD_KAFKA_V_TOPIC(options->topic),
          RD_KAFKA_V_VALUE(payload, (size_t)options->size_bytes),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE((void *)(uintptr_t)stamp),
          RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) sent++;
      else if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) fail("produce failed", rd_kafka_err2str(err));
    }
    rd_kafka_poll(producer, 0);
    /* Wait for a record no longer than until the next send is due: no busy loop. */
    int wait_ms = 0;
    if (sent >= options->count) {
      wait_ms = 10;
    } else if (options->rate_per_second > 0) {
      double next = started + (double)sent / options->rate_per_second - monotonic_seconds();
      if (next >= 0.001) {
        wait_ms = (int)(next * 1000);
      } else if (next > 0) {
        /* Under a millisecond to the next send (every rate above 1,000/s): librdkafka's poll
         * waits in whole milliseconds, and polling without a wait would spin a core the broker
         * needs. Sleep instead, 100 us at most: a record that arrives meanwhile is seen (and its
         * latency taken) at most that late. */
        struct timespec pause = {0, (long)((next < 0.0001 ? next : 0.0001) * 1e9)};
        nanosleep(&pause, NULL);
      }
    }
    /* Every record already here, not one a turn: a turn sleeps, and one record a turn would
     * fall behind the sends. */
    for (rd_kafka_message_t *message = rd_kafka_consumer_poll(consumer, wait_ms); message;
         message = rd_kafka_consumer_poll(consumer, 0)) {
      uint64_t stamp, their_nonce = 0;
      if (!message->err && message->len >= 16)
        memcpy(&their_nonce, (const char *)message->payload + 8, sizeof their_nonce);
      if (!message->err && their_nonce == nonce) {
        memcpy(&stamp, message->payload, sizeof stamp);
        samples_add(&latencies, (double)(monotonic_nanoseconds() - stamp) / 1000.0);
        received++;
        payload_bytes += (long)message->len;
      }
      rd_kafka_message_destroy(message);
    }
    check_deadline(deadline, "in the end-to-end run");
  }
  double seconds = monotonic_seconds() - started;
  rd_kafka_flush(producer, 5000);
  print_summary("produce", state.delivered, state.delivered * options->size_bytes, seconds,
                &state.latencies);
  print_summary("consume", received, payload_bytes, seconds, &latencies);
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  rd_kafka_destroy(producer);
  free(payload);
  free(bootstrap);
}

/* Records a spread producer has outstanding (queued or in flight) at most. */
#define SPREAD_WINDOW_RECORDS 1000

/*
 * Many producers in one thread: record r of the run goes to producer r % PRODUCERS, and each
 * producer sends its records to the next partition in turn (topics first, so consecutive records
 * of one producer land in different topics), starting from a different slot per producer.
 */
static void run_spread(const struct options *options, double deadline) {
  int producers = options->producer_count;
  int topics = options->topic_count > 0 ? options->topic_count : 1;
  int partitions = options->mock_partitions;
  if (producers <= 0 || partitions <= 0) fail("spread needs -c PRODUCERS and -p PARTITIONS", NULL);
  char **names = calloc((size_t)topics, sizeof *names);
  if (!names) fail("out of memory for topic names", NULL);
  for (int topic = 0; topic < topics; topic++) {
    size_t length = strlen(options->topic) + 16;
    names[topic] = malloc(length);
    if (!names[topic]) fail("out of memory for topic names", NULL);
    if (options->topic_count > 0) snprintf(names[topic], length, "%s%d", options->topic, topic);
    else snprintf(names[topic], length, "%s", options->topic);
  }
  struct producer_state *states = calloc((size_t)producers, sizeof *states);
  rd_kafka_t **clients = calloc((size_t)producers, sizeof *clients);
  rd_kafka_topic_t **handles = calloc((size_t)producers * (size_t)topics, sizeof *handles);
  long *next_slot = calloc((size_t)producers, sizeof *next_slot);
  if (!states || !clients || !handles || !next_slot) fail("out of memory for producers", NULL);
  long slots = (long)topics * partitions;
  for (int producer = 0; producer < producers; producer++) {
    clients[producer] = new_producer(options, &states[producer], NULL);
    for (int topic = 0; topic < topics; topic++)
      handles[(size_t)producer * (size_t)topics + (size_t)topic] =
          rd_kafka_topic_new(clients[producer], names[topic], NULL);
    next_slot[producer] = (long)producer * slots / producers;
  }
  /* Every producer knows every partition's leader before the clock starts. */
  for (int producer = 0; producer < producers; producer++) {
    for (;;) {
      const struct rd_kafka_metadata *metadata = NULL;
      rd_kafka_resp_err_t err =
          options->topic_count > 0
              ? rd_kafka_metadata(clients[producer], 1, NULL, &metadata, 30000)
              : rd_kafka_metadata(clients[producer], 0, handles[(size_t)producer * (size_t)topics],
                                  &metadata, 30000);
      long known = 0;
      if (!err) {
        for (int index = 0; index < metadata->topic_cnt; index++)
          if (!metadata->topics[index].err) known += metadata->topics[index].partition_cnt;
        rd_kafka_metadata_destroy(metadata);
      }
      if (!err && known >= slots) break;
      check_deadline(deadline, "waiting for the topics' metadata");
    }
  }

  char *payload = malloc((size_t)options->size_bytes);
  if (!payload) fail("out of memory for the payload", NULL);
  memset(payload, 's', (size_t)options->size_bytes);
  double started = monotonic_seconds();
  for (long index = 0; index < options->count; index++) {
    int producer = (int)(index % producers);
    long slot = next_slot[producer];
    next_slot[producer] = (slot + 1) % slots;
    rd_kafka_topic_t *handle = handles[(size_t)producer * (size_t)topics + (size_t)(slot % topics)];
    int32_t partition = (int32_t)(slot / topics);
    /* A window of records not yet acknowledged per producer: the run measures throughput, not
     * how long a queue of every record waits (which would also outlast message.timeout.ms). */
    while (rd_kafka_outq_len(clients[producer]) >= SPREAD_WINDOW_RECORDS) {
      rd_kafka_poll(clients[producer], 1);
      check_deadline(deadline, "waiting for a producer's window");
    }
    uint64_t now = monotonic_nanoseconds();
    for (;;) {
      rd_kafka_resp_err_t err = rd_kafka_producev(
          clients[producer], RD_KAFKA_V_RKT(handle), RD_KAFKA_V_PARTITION(partition),
          RD_KAFKA_V_VALUE(payload, (size_t)options->size_bytes),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE((void *)(uintptr_t)now),
          RD_KAFKA_V_END);
      if (!err) break;
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) fail("produce failed", rd_kafka_err2str(err));
      rd_kafka_poll(clients[producer], 10);
      check_deadline(deadline, "while a producer queue was full");
    }
    if (producer == producers - 1)
      for (int each = 0; each < producers; each++) rd_kafka_poll(clients[each], 0);
  }
  for (int producer = 0; producer < producers; producer++) {
    while (rd_kafka_outq_len(clients[producer]) > 0) {
      rd_kafka_poll(clients[producer], 10);
      check_deadline(deadline, "waiting for acknowledgements");
    }
  }
  double seconds = monotonic_seconds() - started;
  struct samples latencies = {0};
  long delivered = 0, failed = 0;
  for (int producer = 0; producer < producers; producer++) {
    delivered += states[producer].delivered;
    failed += states[producer].failed;
    for (long sample = 0; sample < states[producer].latencies.length; sample++)
      samples_add(&latencies, states[producer].latencies.values[sample]);
    free(states[producer].latencies.values);
    for (int topic = 0; topic < topics; topic++)
      rd_kafka_topic_destroy(handles[(size_t)producer * (size_t)topics + (size_t)topic]);
    rd_kafka_destroy(clients[producer]);
  }
  if (failed > 0) {
    fprintf(stderr, "loadgen: %ld messages were not delivered\n", failed);
    exit(1);
  }
  print_summary("produce", delivered, delivered * options->size_bytes, seconds, &latencies);
  free(latencies.values);
  for (int topic = 0; topic < topics; topic++) free(names[topic]);
  free(names);
  free(states);
  free(clients);
  free(handles);
  free(next_slot);
  free(payload);
}

static void usage(void) {
  fprintf(stderr,
          "usage: loadgen produce|consume|e2e|spread (-b HOST:PORT | -m [-p PARTITIONS]) -t TOPIC\n"
          "               [-p PARTITIONS -k TOPICS -c PRODUCERS (spread)]\n"
          "               [-g GROUP] [-n COUNT] [-s BYTES] [-a ACKS] [-r MSGS_PER_S]\n"
          "               [-l LINGER_MS] [-T TIMEOUT_S] [-q] [-X NAME=VALUE ...]\n");
  exit(64);
}

int main(int argc, char **argv) {
  if (argc < 2) usage();
  struct options options = {
      .mode = argv[1],
      .count = 100000,
      .size_bytes = 100,
      .acks = "-1",
      .linger_ms = "5",
      .group = "loadgen",
      .timeout_seconds = 120,
  };
  int option;
  optind = 2;
  while ((option = getopt(argc, argv, "b:mp:k:c:t:g:n:s:a:r:l:T:qX:")) != -1) {
    switch (option) {
    case 'b': options.brokers = optarg; break;
    case 'm': options.mock = 1; break;
    case 'p': options.mock_partitions = atoi(optarg); break;
    case 'k': options.topic_count = atoi(optarg); break;
    case 'c': options.producer_count = atoi(optarg); break;
    case 't': options.topic = optarg; break;
    case 'g': options.group = optarg; break;
    case 'n': options.count = atol(optarg); break;
    case 's': options.size_bytes = atoi(optarg); break;
    case 'a': options.acks = optarg; break;
    case 'r': options.rate_per_second = atof(optarg); break;
    case 'l': options.linger_ms = optarg; break;
    case 'T': options.timeout_seconds = atoi(optarg); break;
    case 'q': options.quiet = 1; break;
    case 'X':
      if (options.settings_count == (int)(sizeof options.settings / sizeof options.settings[0]))
        usage();
      options.settings[options.settings_count++] = optarg;
      break;
    default: usage();
    }
  }
  if (!options.topic || (!options.brokers && !options.mock) || options.count <= 0 ||
      options.size_bytes <= 0)
    usage();
  double deadline = monotonic_seconds() + options.timeout_seconds;

  if (strcmp(options.mode, "produce") == 0) {
    struct producer_state state = {0};
    rd_kafka_t *producer = new_producer(&options, &state, NULL);
    if (options.mock) free(mock_bootstrap(producer, &options));
    produce(producer, &state, &options, deadline, 1);
    rd_kafka_destroy(producer);
  } else if (strcmp(options.mode, "consume") == 0) {
    struct producer_state state = {0};
    char *bootstrap = NULL;
    rd_kafka_t *filler = NULL;
    if (options.mock) {
      /* The mock cluster lives in a client: fill it from a producer that stays alive. */
      filler = new_producer(&options, &state, NULL);
      bootstrap = mock_bootstrap(filler, &options);
      produce(filler, &state, &options, deadline, 0);
    }
    rd_kafka_t *consumer = new_consumer(&options, bootstrap);
    consume(consumer, &options, deadline);
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    if (filler) rd_kafka_destroy(filler);
    free(bootstrap);
  } else if (strcmp(options.mode, "e2e") == 0) {
    run_e2e(&options, deadline);
  } else if (strcmp(options.mode, "spread") == 0) {
    if (options.mock) fail("spread runs against a broker (-b), not the mock cluster", NULL);
    run_spread(&options, deadline);
  } else {
    usage();
  }
  return 0;
}
